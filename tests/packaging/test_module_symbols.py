"""The extension module exports PyInit__core and nothing else.

Whatever it links statically (the core, the CUDA runtime, and libstdc++ where
a toolchain links it statically) must stay private: on the GPU machines'
toolchain (/opt/gcc, libstdc++ linked statically) an exported libstdc++ made
every error message (an ostream write) crash the process with SIGSEGV while
numpy's libstdc++ was loaded too.
"""

import shutil
import subprocess
import sys

import pytest

import omtcore._core


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ELF symbol tables (Linux)")
def test_module_exports_only_its_init():
    nm = shutil.which("nm")
    if nm is None:
        pytest.skip("nm (binutils) not found")
    out = subprocess.run([nm, "-D", "--defined-only", omtcore._core.__file__],
                         capture_output=True, text=True, check=True).stdout
    names = sorted(line.split()[-1] for line in out.splitlines() if line.strip())
    assert names == ["PyInit__core"], names[:20]
