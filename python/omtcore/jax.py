"""W1 distances as differentiable JAX functions (``pip install "omtcore[jax]"``).

    >>> import jax, jax.numpy as jnp, omtcore.jax as oj
    >>> a = jnp.ones((16, 16)) / 256
    >>> b = jnp.zeros((16, 16)).at[3, 4].set(1.0)
    >>> jax.grad(lambda a: oj.scalar_omt(a, b, norm="anisotropic"))(a)   # -phi, centred

``scalar_omt``, ``vector_omt`` and ``matrix_omt`` take the keyword arguments
of the numpy functions of the same names and return ``distance`` (the
certified upper bound) as a 0-d array of the inputs' real dtype. They run
the solve on the host through ``jax.pure_callback``, so they work under
``jax.jit``, and under ``jax.vmap`` (the mapped problems solved as one
batch, ``batch=1`` of the numpy functions: side by side on the CPU).
Derivatives (``jax.grad``, ``jax.vjp``) are those of :mod:`omtcore.torch`: ``-phi`` for ``a`` and ``+phi`` for ``b``, centred per
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
from .errors import InvalidInputError

__all__ = ["scalar_omt", "vector_omt", "matrix_omt"]



def _distance(kind: str, a, b, options: dict):
    if options.get("batch"):
        raise InvalidInputError("omtcore.jax takes one problem per call; map it with jax.vmap for a batch")
    a, b = jnp.asarray(a), jnp.asarray(b)
    real = jnp.finfo(a.dtype).dtype if jnp.issubdtype(a.dtype, jnp.inexact) else jnp.float32
    shapes = (jax.ShapeDtypeStruct((), real), jax.ShapeDtypeStruct(a.shape, a.dtype),
              jax.ShapeDtypeStruct(b.shape, b.dtype))
    one = a.ndim  # the axes of one problem

    def solve(a_host, b_host):
        a_host, b_host = np.asarray(a_host), np.asarray(b_host)
        # Under jax.vmap the callback gets the mapped axes in front (broadcast
        # to one shape): the problems are solved as one batch.
        lead = a_host.shape[:a_host.ndim - one]
        kw = options
        if lead:
            a_host = a_host.reshape((-1,) + a_host.shape[len(lead):])
            b_host = b_host.reshape((-1,) + b_host.shape[len(lead):])
            kw = dict(options, batch=1)
        result = api.SOLVERS[kind](a_host, b_host, **kw)
        grad_a, grad_b = gradients_of_solve(kind, result, a_host, b_host, kw)
        # JAX's cotangent of a complex input is the conjugate of torch's gradient.
        return (np.asarray(result.distance, dtype=real).reshape(lead),
                np.conj(grad_a).astype(a.dtype).reshape(lead + a.shape),
                np.conj(grad_b).astype(b.dtype).reshape(lead + b.shape))

    def solved(a, b):
        return jax.pure_callback(solve, shapes, a, b, vmap_method="broadcast_all")

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
