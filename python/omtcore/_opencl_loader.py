"""The pip-only OpenCL route: users without a system OpenCL loader can
``pip install pyopencl pocl-binary-distribution``. pyopencl's wheel bundles
its own ICD loader, which finds PoCL only through pyopencl's own RPATH; once
pyopencl has loaded it, omtcore can open the same file and share it (the
dynamic linker returns the instance already loaded). Must run before the
core's first OpenCL call (it reads OMTCORE_OPENCL_LIBRARY once).
OMTCORE_OPENCL_PYOPENCL=0 turns this off."""

from __future__ import annotations

import ctypes
import glob
import importlib.util
import os
import sys


def use_pyopencl_loader_if_needed(system_library: str = "libOpenCL.so.1") -> bool:
    """Points OMTCORE_OPENCL_LIBRARY at pyopencl's bundled loader when the
    system has none; returns whether it did."""
    if not sys.platform.startswith("linux"):
        return False
    if os.environ.get("OMTCORE_OPENCL_LIBRARY") or os.environ.get("OMTCORE_OPENCL_PYOPENCL") == "0":
        return False
    try:
        ctypes.CDLL(system_library)
        return False  # the system loader is there: use it
    except OSError:
        pass
    spec = importlib.util.find_spec("pyopencl")
    if spec is None or not spec.origin:
        return False
    libs = sorted(glob.glob(os.path.join(os.path.dirname(spec.origin), ".libs", "libOpenCL*.so*")))
    if not libs:
        return False
    try:
        importlib.import_module("pyopencl._cl")  # loads the bundled loader with its RPATH
    except ImportError:
        return False
    os.environ["OMTCORE_OPENCL_LIBRARY"] = libs[0]
    return True
