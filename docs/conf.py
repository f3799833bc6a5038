"""Sphinx configuration: the pages are the MyST Markdown files beside this one,
the API reference comes from the docstrings, and the gallery runs the
scripts in docs/gallery (sphinx-gallery). Build: sphinx-build -W -b html docs <out>."""

import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

project = "omtcore"
author = "the omtcore developers"
copyright = "2026, the omtcore developers"
release = re.search(r"project\(omtcore\s+VERSION\s+([0-9.]+)", (ROOT / "CMakeLists.txt").read_text()).group(1)
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx_gallery.gen_gallery",
]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build", "gallery/README.md", "gallery/*.py", "gallery/*.ipynb", "auto_gallery/*.py",
                    "auto_gallery/*.ipynb", "auto_gallery/*.zip", "auto_gallery/*.json", "auto_gallery/*.md5"]
myst_enable_extensions = ["dollarmath"]
myst_heading_anchors = 3

html_theme = "furo"
html_title = f"omtcore {release}"

autodoc_member_order = "bysource"
autodoc_typehints = "description"
napoleon_numpy_docstring = True
napoleon_google_docstring = False

os.environ.setdefault("MPLBACKEND", "Agg")
sphinx_gallery_conf = {
    "examples_dirs": ["gallery"],
    "gallery_dirs": ["auto_gallery"],
    "filename_pattern": r"/plot_",   # run every plot_*.py
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "abort_on_example_error": True,
}


def _readme_page(app, docname, source):
    """docs/readme.md shows the repository's README, links rewritten for the site."""
    if docname != "readme":
        return
    text = (ROOT / "README.md").read_text()
    text = text.replace("](docs/", "](").replace("](benchmarks/RESULTS.md)", "](results.md)")
    source[0] = text


def setup(app):
    app.connect("source-read", _readme_page)
