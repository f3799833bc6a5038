"""omtcore: W1 optimal mass transport on grids, with certified bounds.

    >>> import numpy as np, omtcore
    >>> a = np.zeros((16, 16)); a[2, 3] = 1
    >>> b = np.zeros((16, 16)); b[9, 3] = 1
    >>> omtcore.scalar_omt(a, b, norm="anisotropic").distance   # about 7.0
"""

from importlib.metadata import PackageNotFoundError, version as _version

from ._opencl_loader import use_pyopencl_loader_if_needed as _use_pyopencl_loader

_use_pyopencl_loader()  # before anything asks the core about OpenCL
from .api import BackendInfo, Result, backends, gell_mann, matrix_omt, scalar_omt, vector_omt
from .errors import (BackendUnavailableError, ConvergenceWarning, DeviceError, DeviceMemoryError,
                     InvalidInputError)
from .pairwise import PairwiseResult, pairwise

try:
    __version__ = _version("omtcore")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

__all__ = ["scalar_omt", "vector_omt", "matrix_omt", "pairwise", "gell_mann", "backends", "Result", "BackendInfo",
           "PairwiseResult", "InvalidInputError",
           "BackendUnavailableError", "DeviceMemoryError", "DeviceError", "ConvergenceWarning", "__version__"]
