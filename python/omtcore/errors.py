"""Exceptions and warnings raised by omtcore (mapped from the C++ error kinds)."""


class InvalidInputError(ValueError):
    """Bad input: shapes, values, options, or masses that do not balance."""


class BackendUnavailableError(RuntimeError):
    """The requested backend cannot run here (not built, no driver, no device)."""


class DeviceMemoryError(MemoryError):
    """The compute device ran out of memory."""


class ConvergenceWarning(UserWarning):
    """A solve stopped at max_iter before reaching the requested tolerance."""
