"""omtcore.jax: the distance under jax.grad, jax.jit and jax.vmap.

The gradients themselves are checked against exact references in
test_gradients.py; here: that JAX's transformations deliver them, and JAX's
complex convention (the conjugate of torch's).
"""

import numpy as np
import pytest

jax = pytest.importorskip("jax", reason="omtcore.jax needs JAX (pip install 'omtcore[jax]')")

import jax.numpy as jnp  # noqa: E402

import omtcore  # noqa: E402
import omtcore.jax as oj  # noqa: E402
from omtcore._gradients import input_gradients  # noqa: E402

TIGHT = dict(tol=1e-10, dtype="float64", max_iter=400_000)


def pair(seed, shape):
    rng = np.random.default_rng(seed)
    a = rng.random(shape) + 0.1
    b = rng.random(shape) + 0.1
    return a, b * (a.sum() / b.sum())


def test_grad_and_jit_give_the_centred_potential():
    a, b = pair(0, (5, 6))
    with jax.enable_x64(True):
        value, (grad_a, grad_b) = jax.value_and_grad(
            lambda x, y: oj.scalar_omt(x, y, norm="anisotropic", **TIGHT), argnums=(0, 1))(a, b)
        jitted = jax.jit(jax.grad(lambda x: oj.scalar_omt(x, b, norm="anisotropic", **TIGHT)))(a)
        assert value.dtype == jnp.float64
    result = omtcore.scalar_omt(a, b, norm="anisotropic", **TIGHT)
    ref_a, ref_b = input_gradients("scalar", result, a, b)
    assert float(value) == pytest.approx(result.distance, rel=1e-12)
    np.testing.assert_allclose(grad_a, ref_a, atol=1e-12)
    np.testing.assert_allclose(grad_b, ref_b, atol=1e-12)
    np.testing.assert_allclose(jitted, ref_a, atol=1e-12)


def test_float32_inputs_give_float32_values_and_gradients():
    a, b = pair(1, (6, 6))
    value, grad = jax.value_and_grad(lambda x: oj.scalar_omt(x, b))(jnp.asarray(a, jnp.float32))
    assert value.dtype == jnp.float32 and grad.dtype == jnp.float32
    assert float(value) == pytest.approx(omtcore.scalar_omt(a, b).distance, rel=1e-3)


def test_vmap_solves_each_problem_of_the_mapped_axis():
    pairs = [pair(seed, (4, 5)) for seed in (2, 3, 4)]
    a = np.stack([p[0] for p in pairs])
    b = np.stack([p[1] for p in pairs])
    with jax.enable_x64(True):
        values, grads = jax.vmap(jax.value_and_grad(
            lambda x, y: oj.vector_omt(x[..., None], y[..., None], edges=[], **TIGHT)))(a, b)
    for j in range(3):
        result = omtcore.scalar_omt(a[j], b[j], **TIGHT)
        assert float(values[j]) == pytest.approx(result.distance, rel=1e-8)
        np.testing.assert_allclose(grads[j], input_gradients("scalar", result, a[j], b[j])[0], atol=1e-7)


def test_complex_matrix_gradient_is_the_conjugate_of_torchs():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((3, 2, 2, 2)) + 1j * rng.standard_normal((3, 2, 2, 2))
    A = X[:, 0] @ np.swapaxes(X[:, 0].conj(), -1, -2) + 0.2 * np.eye(2)
    B = X[:, 1] @ np.swapaxes(X[:, 1].conj(), -1, -2) + 0.2 * np.eye(2)
    B *= np.trace(A, axis1=-2, axis2=-1).real.sum() / np.trace(B, axis1=-2, axis2=-1).real.sum()
    Y = rng.standard_normal((3, 2, 2)) + 1j * rng.standard_normal((3, 2, 2))
    D = (Y + np.swapaxes(Y.conj(), -1, -2)) / 2
    D -= np.trace(D, axis1=-2, axis2=-1).real.mean() / 2 * np.eye(2)
    with jax.enable_x64(True):
        grad = jax.grad(lambda M: oj.matrix_omt(M, B, **TIGHT))(jnp.asarray(A))
        # d/dt W(A + t D) at 0 through JAX's own chain rule (a real parameter).
        dt = jax.grad(lambda t: oj.matrix_omt(A + t * D, B, **TIGHT))(0.0)
    result = omtcore.matrix_omt(A, B, **TIGHT)
    torch_style, _ = input_gradients("matrix", result, A, B)
    np.testing.assert_allclose(grad, np.conj(torch_style), atol=1e-12)
    step = 1e-4
    fd = (omtcore.matrix_omt(A + step * D, B, **TIGHT).distance -
          omtcore.matrix_omt(A - step * D, B, **TIGHT).distance) / (2 * step)
    assert float(dt) == pytest.approx(fd, rel=1e-4, abs=1e-5)


def test_vmap_over_one_argument_and_nested_vmaps_solve_one_batch():
    pairs = [pair(seed, (4, 4)) for seed in (6, 7, 8, 9)]
    a = np.stack([p[0] / p[0].sum() for p in pairs]).reshape(2, 2, 4, 4)
    b = pairs[0][1] / pairs[0][1].sum()  # one target for every source
    with jax.enable_x64(True):
        f = jax.value_and_grad(lambda x: oj.scalar_omt(x, b, norm="anisotropic", **TIGHT))
        values, grads = jax.vmap(jax.vmap(f))(a)
    assert values.shape == (2, 2) and grads.shape == (2, 2, 4, 4)
    for i in range(2):
        for j in range(2):
            result = omtcore.scalar_omt(a[i, j], b, norm="anisotropic", threads=1, **TIGHT)
            assert float(values[i, j]) == result.distance
            np.testing.assert_allclose(grads[i, j], input_gradients("scalar", result, a[i, j], b)[0], atol=1e-12)
    with pytest.raises(omtcore.InvalidInputError, match="vmap"):
        oj.scalar_omt(a[0], np.stack([b, b]), batch=1)
