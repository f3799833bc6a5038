"""omtcore.backends() and what a Result records about where it ran."""

import dataclasses

import numpy as np
import pytest

import omtcore
from conftest import BACKEND_NAMES
from references import check_certificate, emd_l1


def small_pair(seed=0):
    rng = np.random.default_rng(seed)
    a = rng.random((6, 7))
    b = rng.random((6, 7))
    return a, b * (a.sum() / b.sum())


def test_backends_lists_all_names():
    infos = omtcore.backends()
    names = [info.name for info in infos]
    assert sorted(names) == sorted(BACKEND_NAMES), names
    for info in infos:
        assert isinstance(info.name, str)
        assert isinstance(info.available, (bool, np.bool_))
        assert info.reason is None or isinstance(info.reason, str)
        devices = list(info.devices)
        assert all(isinstance(d, str) and d for d in devices), devices
        if info.available:
            assert len(devices) >= 1, info
        else:
            assert isinstance(info.reason, str) and info.reason.strip(), info


def test_cpu_available():
    (cpu,) = [info for info in omtcore.backends() if info.name == "cpu"]
    assert cpu.available
    assert len(list(cpu.devices)) >= 1


def test_backend_availability_and_reason_are_consistent():
    # available: no reason and at least one device; unavailable: a reason
    # that says why (shown by the tests' skips and by BackendUnavailableError).
    for info in omtcore.backends():
        devices = list(info.devices)
        if info.available:
            assert not info.reason, f"{info.name} is available but gives a reason: {info.reason!r}"
            assert len(devices) >= 1, f"{info.name} is available but lists no device"
        else:
            assert isinstance(info.reason, str) and info.reason.strip(), (
                f"{info.name} is unavailable without a reason: {info.reason!r}")


@pytest.mark.parametrize("norm", ["anisotropic", "isotropic"])
def test_result_records_backend_device_dtype(backend, dtype, norm):
    a, b = small_pair()
    res = omtcore.scalar_omt(a, b, norm=norm, backend=backend, dtype=dtype,
                             tol=1e-4, max_iter=100_000)
    assert res.backend == backend
    assert res.dtype == dtype
    (info,) = [i for i in omtcore.backends() if i.name == backend]
    assert isinstance(res.device, str) and res.device
    assert res.device in list(info.devices), (res.device, info.devices)
    assert res.converged
    exact = emd_l1(a, b, 1.0) if norm == "anisotropic" else None
    check_certificate(res, a, b, 1.0, norm, exact=exact, tol=1e-4)


def test_result_is_frozen_dataclass():
    a, b = small_pair()
    res = omtcore.scalar_omt(a, b, backend="cpu", tol=1e-3, max_iter=100_000)
    assert dataclasses.is_dataclass(res)
    fields = {f.name for f in dataclasses.fields(res)}
    assert {"distance", "lower_bound", "gap", "residual", "flux", "exchange",
            "potential", "iterations", "converged", "seconds", "backend",
            "device", "dtype"} <= fields
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.distance = 0.0
    assert isinstance(res.iterations, (int, np.integer))
    assert res.iterations >= 1
    assert res.seconds >= 0


def test_default_dtype_is_float32():
    a, b = small_pair()
    res = omtcore.scalar_omt(a, b, backend="cpu", tol=1e-4, max_iter=100_000)
    assert res.dtype == "float32"
    assert res.flux.dtype == np.float64 and res.potential.dtype == np.float64


def test_auto_backend_picks_an_available_one():
    a, b = small_pair()
    available = {i.name for i in omtcore.backends() if i.available}
    res = omtcore.scalar_omt(a, b, backend="auto", dtype="float64", tol=1e-4,
                             max_iter=100_000)
    assert res.backend in available, (res.backend, available)
    check_certificate(res, a, b, 1.0, "isotropic", tol=1e-4)


def test_default_backend_is_auto():
    a, b = small_pair()
    available = {i.name for i in omtcore.backends() if i.available}
    res = omtcore.scalar_omt(a, b, tol=1e-4, max_iter=100_000)
    assert res.backend in available


def test_explicit_device_zero(backend):
    a, b = small_pair()
    res = omtcore.scalar_omt(a, b, backend=backend, device=0, dtype="float64",
                             tol=1e-4, max_iter=100_000)
    (info,) = [i for i in omtcore.backends() if i.name == backend]
    assert res.device == list(info.devices)[0]
