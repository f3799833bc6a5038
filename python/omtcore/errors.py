"""Exceptions and warnings raised by omtcore. Each exception class is one C++
error kind (omtcore/errors.hpp), translated in one place (_omtcore.pxd); a C++
internal error (a bug) arrives as RuntimeError, std::bad_alloc as MemoryError."""


class InvalidInputError(ValueError):
    """Bad input: shapes, values, options, or masses that do not balance."""


class BackendUnavailableError(RuntimeError):
    """The requested backend cannot run here (not built, no driver, no device)."""


class DeviceMemoryError(MemoryError):
    """The device or the host cannot hold the solve: estimated before anything
    grid-sized is allocated; the message names the estimate and what can be
    allocated."""


class DeviceError(RuntimeError):
    """The compute device or its driver failed a call (not for lack of memory):
    a lost or reset device, a driver fault, kernels the driver cannot build or
    launch. The message names the OpenCL or CUDA call and its error code."""


class ConvergenceWarning(UserWarning):
    """A solve stopped at max_iter before reaching the requested tolerance."""
