"""W1 distances as differentiable JAX functions (``pip install "omtcore[jax]"``).

    >>> import jax, jax.numpy as jnp, omtcore.jax as oj
    >>> a = jnp.ones((16, 16)) / 256
    >>> b = jnp.zeros((16, 16)).at[3, 4].set(1.0)
    >>> jax.grad(lambda a: oj.scalar_omt(a, b, norm="anisotropic"))(a)   # -phi, centred

``scalar_omt``, ``vector_omt`` and ``matrix_omt`` take the keyword arguments
of the numpy functions of the same names and return ``distance`` (the
certified upper bound) as a 0-d array of the inputs' real dtype. They run
the solve on the host through ``jax.pure_callback``, so they work under
``jax.jit``, and under ``jax.vmap`` (one solve per problem of the mapped
axis, in turn). Derivatives (``jax.grad``, ``jax.vjp``) are those of
:mod:`omtcore.torch`: ``-phi`` for ``a`` and ``+phi`` for ``b``, centred per
balance condition, through the scaling with ``normalize=True``. For complex
matrix inputs JAX's convention applies (the conjugate of torch's:
``jax.grad`` gives ``-conj(Phi)`` for ``A``).

Forward-mode derivatives (``jax.jvp``, ``jax.jacfwd``) are not defined (the
derivative is a custom VJP).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from . import api
from ._gradients import gradients_of_solve

__all__ = ["scalar_omt", "vector_omt", "matrix_omt"]



def _distance(kind: str, a, b, options: dict):
    a, b = jnp.asarray(a), jnp.asarray(b)
    real = jnp.finfo(a.dtype).dtype if jnp.issubdtype(a.dtype, jnp.inexact) else jnp.float32
    shapes = (jax.ShapeDtypeStruct((), real), jax.ShapeDtypeStruct(a.shape, a.dtype),
              jax.ShapeDtypeStruct(b.shape, b.dtype))

    def solve(a_host, b_host):
        a_host, b_host = np.asarray(a_host), np.asarray(b_host)
        result = api.SOLVERS[kind](a_host, b_host, **options)
        grad_a, grad_b = gradients_of_solve(kind, result, a_host, b_host, options)
        # JAX's cotangent of a complex input is the conjugate of torch's gradient.
        return (np.asarray(result.distance, dtype=real), np.conj(grad_a).astype(a.dtype),
                np.conj(grad_b).astype(b.dtype))

    def solved(a, b):
        return jax.pure_callback(solve, shapes, a, b, vmap_method="sequential")

    @jax.custom_vjp
    def distance(a, b):
        return solved(a, b)[0]

    def forward(a, b):
        value, grad_a, grad_b = solved(a, b)
        return value, (grad_a, grad_b)

    def backward(grads, g):
        grad_a, grad_b = grads
        return g * grad_a, g * grad_b

    distance.defvjp(forward, backward)
    return distance(a, b)


def scalar_omt(a, b, **options):
    """Differentiable :func:`omtcore.scalar_omt`: the distance as a 0-d array."""
    return _distance("scalar", a, b, options)


def vector_omt(a, b, **options):
    """Differentiable :func:`omtcore.vector_omt`: the distance as a 0-d array."""
    return _distance("vector", a, b, options)


def matrix_omt(A, B, **options):
    """Differentiable :func:`omtcore.matrix_omt`: the distance as a 0-d array."""
    return _distance("matrix", A, B, options)
