"""omtcore.torch: the distance as a differentiable tensor.

The gradients themselves are checked against exact references in
test_gradients.py; here: that autograd delivers them (dtype, device, torch's
complex convention, the chain rule through user code), and the module's
interface.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="omtcore.torch needs PyTorch (pip install 'omtcore[torch]')")

import omtcore  # noqa: E402
import omtcore.torch as ot1  # noqa: E402
from omtcore._gradients import input_gradients  # noqa: E402

TIGHT = dict(tol=1e-10, dtype="float64", max_iter=400_000)


def pair(seed, shape, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    a = torch.rand(shape, generator=g, dtype=dtype) + 0.1
    b = torch.rand(shape, generator=g, dtype=dtype) + 0.1
    return a, b * (a.sum() / b.sum())


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_scalar_distance_and_gradient_come_back_in_the_inputs_dtype(dtype):
    a, b = pair(0, (6, 5), dtype)
    a.requires_grad_(True)
    b.requires_grad_(True)
    distance, result = ot1.scalar_omt(a, b, norm="anisotropic", return_result=True, **TIGHT)
    assert isinstance(result, omtcore.Result) and result.converged
    assert distance.dtype == dtype and distance.shape == () and distance.device == a.device
    assert distance.item() == pytest.approx(result.distance, rel=1e-6)
    distance.backward()
    assert a.grad.dtype == dtype and b.grad.dtype == dtype
    grad_a, grad_b = input_gradients("scalar", result, a.detach().numpy(), b.detach().numpy())
    tol = 1e-6 if dtype == torch.float32 else 1e-12
    np.testing.assert_allclose(a.grad.numpy(), grad_a, atol=tol)
    np.testing.assert_allclose(b.grad.numpy(), grad_b, atol=tol)


def test_chain_rule_through_user_code_matches_a_finite_difference():
    # a(t) = a0 + t d with d zero-sum: dW/dt by autograd against the central
    # difference of tightly converged solves (distance accurate to ~1e-10).
    a0, b = pair(1, (5, 6))
    d = torch.randn(5, 6, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    d -= d.mean()
    t = torch.zeros((), dtype=torch.float64, requires_grad=True)
    ot1.scalar_omt(a0 + t * d, b, norm="isotropic", **TIGHT).backward()
    step = 1e-4
    fd = (omtcore.scalar_omt((a0 + step * d).numpy(), b.numpy(), **TIGHT).distance -
          omtcore.scalar_omt((a0 - step * d).numpy(), b.numpy(), **TIGHT).distance) / (2 * step)
    assert t.grad.item() == pytest.approx(fd, rel=1e-4, abs=1e-5)


def hermitian_psd(seed, grid, k, complex_=True):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(grid + (k, k), generator=g, dtype=torch.float64)
    if complex_:
        X = torch.complex(X, torch.randn(grid + (k, k), generator=g, dtype=torch.float64))
    return X @ X.transpose(-1, -2).conj() / k + 0.2 * torch.eye(k, dtype=X.dtype)


@pytest.mark.parametrize("complex_", [True, False], ids=["complex", "real-symmetric"])
def test_matrix_gradient_follows_torchs_complex_convention(complex_):
    A0 = hermitian_psd(3, (3, 3), 2, complex_)
    B = hermitian_psd(4, (3, 3), 2, complex_)
    B = B * (torch.diagonal(A0, dim1=-2, dim2=-1).real.sum() / torch.diagonal(B, dim1=-2, dim2=-1).real.sum())
    D = hermitian_psd(5, (3, 3), 2, complex_)
    D = D - torch.diagonal(D, dim1=-2, dim2=-1).real.mean() * torch.eye(2, dtype=D.dtype)  # trace-keeping
    A = A0.clone().requires_grad_(True)
    distance = ot1.matrix_omt(A, B, alpha=0.6, **TIGHT)
    distance.backward()
    assert A.grad.dtype == A0.dtype and distance.dtype == torch.float64
    # torch: grad = dW/dRe A + i dW/dIm A, so dW = Re sum conj(grad) * D.
    directional = (A.grad.conj() * D).sum().real.item()
    step = 1e-4
    fd = (omtcore.matrix_omt((A0 + step * D).numpy(), B.numpy(), alpha=0.6, **TIGHT).distance -
          omtcore.matrix_omt((A0 - step * D).numpy(), B.numpy(), alpha=0.6, **TIGHT).distance) / (2 * step)
    assert directional == pytest.approx(fd, rel=1e-4, abs=1e-5)


def test_vector_and_normalized_gradients():
    g = torch.Generator().manual_seed(6)
    a = (torch.rand(4, 4, 3, generator=g, dtype=torch.float64) + 0.1).requires_grad_(True)
    b = 2 * torch.rand(4, 4, 3, generator=g, dtype=torch.float64) + 0.1
    distance, result = ot1.vector_omt(a, b, alpha=0.5, normalize=True, norm="anisotropic",
                                      return_result=True, **TIGHT)
    distance.backward()
    grad_a, _ = input_gradients("vector", result, a.detach().numpy(), b.numpy(), normalize=True)
    np.testing.assert_allclose(a.grad.numpy(), grad_a, atol=1e-12)
    assert (a.grad * a).sum().item() == pytest.approx(0, abs=1e-9)  # scale-invariant in a


def test_w1loss_drives_a_gradient_flow_downhill():
    # a = softmax(logits) keeps unit mass, so every step stays balanced.
    a0, b = pair(7, (8, 8))
    b = b / b.sum()
    logits = torch.log(a0).clone().requires_grad_(True)
    loss_fn = ot1.W1Loss("scalar", norm="anisotropic", tol=1e-6, dtype="float64")
    optimiser = torch.optim.SGD([logits], lr=1.0)
    losses = []
    for _ in range(10):
        a = torch.softmax(logits.ravel(), 0).reshape(8, 8)
        loss = loss_fn(a, b)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert all(y < x for x, y in zip(losses, losses[1:])), losses
    assert losses[-1] < 0.85 * losses[0]
    assert "anisotropic" in repr(loss_fn)


def test_bad_inputs_are_invalid_input_errors():
    a, b = pair(8, (4, 4))
    with pytest.raises(omtcore.InvalidInputError, match="torch tensors"):
        ot1.scalar_omt(a.numpy(), b)
    with pytest.raises(omtcore.InvalidInputError, match="kind"):
        ot1.W1Loss("tensor")
    with pytest.raises(omtcore.InvalidInputError, match="same shape"):
        ot1.scalar_omt(a, b[:3])
    with pytest.raises(omtcore.InvalidInputError, match="unequal total mass"):
        ot1.scalar_omt(a, 2 * b)


def test_cuda_tensors_are_solved_and_differentiated_on_their_device():
    from conftest import use_backend

    use_backend("cuda")
    if not torch.cuda.is_available():
        pytest.skip("this PyTorch build has no CUDA device")
    a, b = pair(9, (16, 16))
    a_cuda = a.detach().cuda().requires_grad_(True)
    distance = ot1.scalar_omt(a_cuda, b.cuda(), backend="cuda", norm="anisotropic", **TIGHT)
    assert distance.device == a_cuda.device
    distance.backward()
    assert a_cuda.grad.device == a_cuda.device
    cpu = a.detach().clone().requires_grad_(True)
    ot1.scalar_omt(cpu, b, backend="cpu", norm="anisotropic", **TIGHT).backward()
    np.testing.assert_allclose(a_cuda.grad.cpu().numpy(), cpu.grad.numpy(), atol=1e-6)


def test_unbalanced_gradient_is_the_potential_itself():
    g = torch.Generator().manual_seed(10)
    a = torch.rand(6, 6, generator=g, dtype=torch.float64).requires_grad_(True)
    b = 3 * torch.rand(6, 6, generator=g, dtype=torch.float64)
    distance, result = ot1.scalar_omt(a, b, unbalanced=0.8, return_result=True, **TIGHT)
    distance.backward()
    np.testing.assert_array_equal(a.grad.numpy(), -result.potential)
    assert result.source is not None and abs(a.grad.sum().item()) > 1e-3  # not centred


def test_a_batch_gives_each_problem_its_distance_and_gradient():
    pairs = [pair(seed, (5, 4)) for seed in (11, 12, 13)]
    a = torch.stack([p[0] for p in pairs]).requires_grad_(True)
    b = torch.stack([p[1] for p in pairs]).requires_grad_(True)
    mask = np.ones((3, 5, 4), bool)
    mask[1, 2, :3] = False  # one problem on a masked domain
    with torch.no_grad():
        a[1][~torch.as_tensor(mask[1])] = 0
        b[1][~torch.as_tensor(mask[1])] = 0
        b[1] *= a[1].sum() / b[1].sum()
    weights = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    distance, result = ot1.scalar_omt(a, b, batch=1, mask=mask, norm="anisotropic", return_result=True, **TIGHT)
    assert distance.shape == (3,) and distance.dtype == torch.float64
    (weights * distance).sum().backward()
    for q in range(3):
        single = omtcore.scalar_omt(a[q].detach().numpy(), b[q].detach().numpy(), mask=mask[q],
                                    norm="anisotropic", threads=1, **TIGHT)
        assert distance[q].item() == single.distance
        grad_a, grad_b = input_gradients("scalar", single, a[q].detach().numpy(), b[q].detach().numpy(),
                                         mask=mask[q])
        np.testing.assert_allclose(a.grad[q].numpy(), weights[q].item() * grad_a, atol=1e-12)
        np.testing.assert_allclose(b.grad[q].numpy(), weights[q].item() * grad_b, atol=1e-12)
