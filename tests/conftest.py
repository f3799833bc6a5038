"""Shared fixtures: every backend and dtype, skipped (or failed) with a reason.

Every backend name is always parametrised, so a missing GPU backend shows up
as a skip with omtcore's own reason, never as a silently absent case.  Names
listed in ``OMTCORE_REQUIRE_BACKENDS`` (comma separated, e.g. ``cpu,opencl``)
must be available: their tests fail instead of skipping.
"""

import os

import pytest

BACKEND_NAMES = ("cpu", "opencl", "cuda")
DTYPES = ("float32", "float64")


def required_backends():
    env = os.environ.get("OMTCORE_REQUIRE_BACKENDS", "")
    return {name.strip() for name in env.split(",") if name.strip()}


def backend_info(name):
    """``(available, reason)`` of a backend as ``omtcore.backends()`` reports it."""
    import omtcore

    for info in omtcore.backends():
        if info.name == name:
            return bool(info.available), info.reason
    return False, f"omtcore.backends() does not list {name!r}"


def use_backend(name):
    """Return ``name`` if usable, else skip (or fail when it is required)."""
    available, reason = backend_info(name)
    if available:
        return name
    msg = f"backend {name!r} unavailable: {reason}"
    if name in required_backends():
        pytest.fail(msg + " (required by OMTCORE_REQUIRE_BACKENDS)", pytrace=False)
    pytest.skip(msg)


@pytest.fixture(params=BACKEND_NAMES)
def backend(request):
    return use_backend(request.param)


@pytest.fixture(params=DTYPES)
def dtype(request):
    return request.param


def pytest_configure(config):
    # Solves in the tests use generous max_iter: stopping early is a failure,
    # not a warning to ignore.  (pytest.warns still catches it where expected.)
    try:
        import omtcore  # noqa: F401
    except ImportError:
        return  # the suite's imports will report it
    config.addinivalue_line("filterwarnings", "error::omtcore.ConvergenceWarning")
