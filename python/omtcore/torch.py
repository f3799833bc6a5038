"""W1 distances as differentiable PyTorch functions (``pip install "omtcore[torch]"``).

    >>> import torch, omtcore.torch as ot1
    >>> a = torch.rand(32, 32, dtype=torch.float64, requires_grad=True)
    >>> b = torch.rand(32, 32, dtype=torch.float64)
    >>> loss = ot1.scalar_omt(a, b * (a.sum() / b.sum()).detach(), tol=1e-6)
    >>> loss.backward()          # a.grad = -phi, centred: mean zero

``scalar_omt``, ``vector_omt`` and ``matrix_omt`` take the keyword arguments
of the numpy functions of the same names and return ``distance`` (the
certified upper bound) as a 0-d tensor of the inputs' real dtype on their
device; with ``batch=1`` (inputs with a leading axis of problems) a tensor
``(B,)`` of the problems' distances, each with its own gradient. Its gradient is the solve's dual potential: ``-phi`` for ``a`` and
``+phi`` for ``b``, centred so that it keeps every balance condition (a
constant removed per connected part of the domain, per channel-graph
component for vector problems, the part mean's component commuting with
``L`` for matrix problems); with ``normalize=True`` it is the gradient of
``W(a / sum a, b / sum b)``. For complex matrix inputs it follows torch's
convention (``dW/dRe A + i dW/dIm A = -Phi``); for real symmetric ones it is
``-Re Phi``. The gradient is exact where the optimal potential is unique and
an eps-subgradient (eps = distance - lower_bound) elsewhere.

CPU tensors are solved on any backend; CUDA tensors by backend "cuda" on
their device and current stream. ``return_result=True`` returns
``(distance, result)``, the second the full :class:`omtcore.Result` (bracket,
gap, convergence, potential). The iterate precision is ``dtype=`` as in
numpy (default float32) whatever the tensors' dtype.
"""

from __future__ import annotations

import torch

from . import api
from ._gradients import gradients_of_solve
from .errors import InvalidInputError

__all__ = ["scalar_omt", "vector_omt", "matrix_omt", "W1Loss"]



def _as_solver_input(x: torch.Tensor):
    x = x.detach()
    if x.is_cuda:
        return x  # solved on its device (omtcore.interop)
    return x.resolve_conj().resolve_neg().numpy()


class _Distance(torch.autograd.Function):
    @staticmethod
    def forward(ctx, a, b, kind, options, out):
        a_in, b_in = _as_solver_input(a), _as_solver_input(b)
        result = api.SOLVERS[kind](a_in, b_in, **options)
        out.append(result)
        if ctx.needs_input_grad[0] or ctx.needs_input_grad[1]:
            grads = gradients_of_solve(kind, result, a_in, b_in, options)
            ctx.save_for_backward(*(torch.as_tensor(g, dtype=x.dtype, device=x.device)
                                    for g, x in zip(grads, (a, b))))
        real = a.real.dtype if a.is_complex() else (a.dtype if a.is_floating_point() else torch.float64)
        return torch.as_tensor(result.distance, dtype=real, device=a.device)

    @staticmethod
    def backward(ctx, grad_output):
        grad_a, grad_b = ctx.saved_tensors
        # A batch's distances (B,) scale each problem's gradient (B, ...).
        g = grad_output.reshape(grad_output.shape + (1,) * (grad_a.dim() - grad_output.dim()))
        return (g * grad_a if ctx.needs_input_grad[0] else None,
                g * grad_b if ctx.needs_input_grad[1] else None, None, None, None)


def _distance(kind: str, a, b, return_result: bool, options: dict):
    if not (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)):
        raise InvalidInputError(
            f"omtcore.torch.{kind}_omt takes torch tensors; got {type(a).__name__} and {type(b).__name__}"
            f" (the numpy functions are omtcore.{kind}_omt)")
    if a.device != b.device:
        raise InvalidInputError(f"a and b must be on one device; got {a.device} and {b.device}")
    out: list = []
    distance = _Distance.apply(a, b, kind, options, out)
    return (distance, out[0]) if return_result else distance


def scalar_omt(a: torch.Tensor, b: torch.Tensor, *, return_result: bool = False, **options):
    """Differentiable :func:`omtcore.scalar_omt`: the distance as a 0-d tensor."""
    return _distance("scalar", a, b, return_result, options)


def vector_omt(a: torch.Tensor, b: torch.Tensor, *, return_result: bool = False, **options):
    """Differentiable :func:`omtcore.vector_omt`: the distance as a 0-d tensor."""
    return _distance("vector", a, b, return_result, options)


def matrix_omt(A: torch.Tensor, B: torch.Tensor, *, return_result: bool = False, **options):
    """Differentiable :func:`omtcore.matrix_omt`: the distance as a 0-d tensor."""
    return _distance("matrix", A, B, return_result, options)


class W1Loss(torch.nn.Module):
    """The certified W1 distance as a loss module: ``W1Loss("vector", alpha=0.5)(a, b)``.

    Parameters
    ----------
    kind : {"scalar", "vector", "matrix"}
        The problem kind.
    **options
        Keyword arguments of the solve function of that kind.
    """

    def __init__(self, kind: str = "scalar", **options):
        super().__init__()
        if kind not in api.SOLVERS:
            raise InvalidInputError(f"kind must be 'scalar', 'vector' or 'matrix'; got {kind!r}")
        self.kind, self.options = kind, options

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return _distance(self.kind, a, b, False, self.options)

    def extra_repr(self) -> str:
        return ", ".join([repr(self.kind)] + [f"{k}={v!r}" for k, v in self.options.items()])
