"""CUDA arrays in and out (CuPy, PyTorch): the solve runs on backend 'cuda' on
the arrays' device and returns arrays of the same library there. Skips with
the reason where the library or a CUDA device is missing; fails when
OMTCORE_REQUIRE_BACKENDS names cuda and the backend is unavailable."""

import numpy as np
import pytest

import omtcore
from conftest import use_backend
from references import emd_l1


def pair(seed=0):
    rng = np.random.default_rng(seed)
    a = rng.random((6, 5))
    b = rng.random((6, 5))
    return a, b * (a.sum() / b.sum())


def test_cupy_arrays_in_and_out():
    use_backend("cuda")
    cupy = pytest.importorskip("cupy", reason="CuPy is not installed")
    a, b = pair(1)
    res = omtcore.scalar_omt(cupy.asarray(a), cupy.asarray(b), norm="anisotropic", tol=1e-6,
                             dtype="float64")
    assert res.backend == "cuda"
    assert isinstance(res.flux, cupy.ndarray) and res.flux.shape == (2, 6, 5)
    assert isinstance(res.potential, cupy.ndarray)
    host = omtcore.scalar_omt(a, b, norm="anisotropic", tol=1e-6, dtype="float64", backend="cuda")
    np.testing.assert_allclose(cupy.asnumpy(res.flux), host.flux)
    assert res.distance == pytest.approx(emd_l1(a, b, 1.0), rel=1e-5)
    with pytest.raises(omtcore.InvalidInputError, match="'cuda'"):
        omtcore.scalar_omt(cupy.asarray(a), cupy.asarray(b), backend="opencl")


def test_torch_cuda_tensors_in_and_out():
    use_backend("cuda")
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    if not torch.cuda.is_available():
        pytest.skip("PyTorch sees no CUDA device")
    a, b = pair(2)
    ta = torch.as_tensor(a, device="cuda")
    tb = torch.as_tensor(b, device="cuda")
    res = omtcore.scalar_omt(ta, tb, norm="anisotropic", tol=1e-6, dtype="float64")
    assert res.backend == "cuda"
    assert isinstance(res.flux, torch.Tensor) and res.flux.is_cuda and res.flux.device == ta.device
    assert res.distance == pytest.approx(emd_l1(a, b, 1.0), rel=1e-5)
    A = np.array([[[2, 1j], [-1j, 1]], [[1, 0], [0, 2]]], dtype=complex)[None].repeat(2, axis=0)
    B = A[::-1].copy()
    mres = omtcore.matrix_omt(torch.as_tensor(A, device="cuda"), torch.as_tensor(B, device="cuda"),
                              tol=1e-4)
    assert mres.flux.dtype == torch.complex128 and mres.flux.is_cuda


def test_mixing_device_and_host_arrays_is_an_error():
    use_backend("cuda")
    cupy = pytest.importorskip("cupy", reason="CuPy is not installed")
    a, b = pair(3)
    with pytest.raises(omtcore.InvalidInputError, match="mix"):
        omtcore.scalar_omt(cupy.asarray(a), b)
