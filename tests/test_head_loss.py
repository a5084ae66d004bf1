"""The heads' training losses in one C call equal the head and its loss as tensor operations."""

import math

import pytest
import torch

from seqcast.backends.native import library
from seqcast.config import TrainConfig
from seqcast.forecasting import losses
from seqcast.models.heads import NormalHead, QuantileHead, StudentTHead
from seqcast.steps import adam, make_step

needs_c = pytest.mark.skipif(library() is None, reason="no C compiler here")

HEADS = {
    "quantile": (lambda inner, h: QuantileHead(inner, h, 3), losses.pinball_sum((0.1, 0.5, 0.9))),
    "quantile5": (lambda inner, h: QuantileHead(inner, h, 5),
                  losses.pinball_sum((0.05, 0.2, 0.5, 0.8, 0.95))),
    "normal": (lambda inner, h: NormalHead(inner, h), losses.normal_nll_sum),
    "studentt": (lambda inner, h: StudentTHead(inner, h), losses.studentt_nll_sum),
}


def _both(name, out, y):
    """(loss, gradient of 0.37 x loss) from the C kernel and from the head's read and the loss
    as tensor operations (0.37: a step's scale, which the kernel's gradient includes)."""
    make, loss = HEADS[name]
    head = make(torch.nn.Identity(), y.shape[-1])
    value, grad = loss.fused(head)(out, y, 0.37)
    assert not value.requires_grad and grad.shape == out.shape
    o = out.detach().clone().requires_grad_()
    ref = loss(head.read(o), y)
    (ref * 0.37).backward()
    return (value, grad), (ref.detach(), o.grad)


def _raw(shape, scale, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=g) * scale


@needs_c
@pytest.mark.parametrize("name", list(HEADS))
@pytest.mark.parametrize("scale", [0.5, 3.0, 30.0])  # 30: softplus's linear part (> 20) too
@pytest.mark.parametrize("shape", [(32, 10), (7, 3), (5, 6, 4), (1, 1)])
def test_fused_loss_equals_the_head_and_its_loss(name, scale, shape):
    k = HEADS[name][1].k
    y = _raw(shape, 2.0, seed=1)
    out = _raw((*shape[:-1], k * shape[-1]), scale)
    (fused, fused_grad), (ref, ref_grad) = _both(name, out, y)
    assert fused.shape == ref.shape == ()
    assert torch.allclose(fused, ref, rtol=2e-6, atol=1e-5 * math.sqrt(y.numel()))
    assert torch.allclose(fused_grad, ref_grad, rtol=1e-4, atol=1e-6)


@needs_c
@pytest.mark.parametrize("name", list(HEADS))
def test_fused_loss_matches_float64(name):
    """Against the plain formulas in float64 (autograd's gradients): the C kernel is at least
    as close as the tensor operations in float32."""
    k = HEADS[name][1].k
    y = _raw((64, 8), 2.0, seed=2)
    out = _raw((64, k * 8), 2.0, seed=3)
    make, loss = HEADS[name]
    head = make(torch.nn.Identity(), 8).double()
    o = out.double().requires_grad_()
    exact = loss(head.read(o), y.double())
    exact.backward()
    for value, grad in _both(name, out, y):
        assert abs(value.item() - exact.item()) <= 2e-6 * abs(exact.item()) + 1e-4
        assert torch.allclose(grad.double(), o.grad * 0.37, rtol=1e-4, atol=1e-6)


@needs_c
def test_fused_loss_reads_strided_outputs_and_passes_nan():
    """A last-step slice (B, T, K H)[:, -1] is read through its strides; NaN outputs give a
    NaN loss, so that training stops as diverged."""
    y = _raw((6, 4), 1.0, seed=4)
    seq = _raw((6, 5, 12), 2.0)
    (fused, grad), (ref, ref_grad) = _both("studentt", seq[:, -1], y)
    assert not seq[:, -1].is_contiguous()
    assert torch.allclose(fused, ref, rtol=2e-6) and torch.allclose(grad, ref_grad, rtol=1e-4)
    bad = seq[:, -1].clone()
    bad[2, 5] = float("nan")
    for name in ("quantile", "normal", "studentt"):
        (fused, _), _ = _both(name, bad[:, : HEADS[name][1].k * 4], y)
        assert fused.isnan()


def test_fused_loss_falls_back_to_tensor_operations():
    """float64 outputs (or no C kernels, CUDA) run the head and the loss as tensor operations."""
    head, loss = QuantileHead(torch.nn.Identity(), 4, 3), losses.pinball_sum((0.1, 0.5, 0.9))
    out, y = _raw((5, 12), 1.0).double(), _raw((5, 4), 1.0).double()
    assert losses.normal_nll_sum.fused(head) is None  # not this loss's head
    if library() is not None:
        kernel = loss.fused(head)
        assert kernel(out, y, 1.0) is None
        assert kernel(out.float(), y.float(), 1.0) is not None
        assert kernel(out.float()[:, :8], y.float(), 1.0) is None  # not K H outputs
        assert kernel(out.float(), y.float()[:4], 1.0) is None  # rows that do not match
        assert kernel(out.float().view(5, 1, 12), y.float(), 1.0) is None
    torch.manual_seed(0)  # a float64 step: the kernel declines, the tensor path trains
    net = QuantileHead(torch.nn.Linear(3, 12).double(), 4, 3)
    x = _raw((5, 3), 1.0).double()
    params = list(net.parameters())
    config = TrainConfig(lr=0.01)
    expected = loss(net(x), y).item()
    step = make_step(net, lambda idx: (x[idx], y[idx]), 4, params,
                     adam(params, config, torch.device("cpu")), config, 1, torch.device("cpu"),
                     loss)
    assert step(torch.arange(5), 5).item() == pytest.approx(expected)
    assert all(p.grad is not None for p in params)


@pytest.mark.parametrize("name", ["quantile", "normal", "studentt"])
def test_training_steps_through_the_fused_loss_equal_the_head_path(name):
    """Ten Adam steps with the loss from the raw outputs and with the head's outputs give the
    same weights (to float precision)."""
    make, loss = HEADS[name]
    x, y = _raw((64, 12), 1.0, seed=5), _raw((64, 4), 1.0, seed=6)
    weights, sses = [], []
    for fused in (True, False):
        torch.manual_seed(0)
        head = make(torch.nn.Linear(12, 4 * loss.k), 4)
        params = list(head.parameters())
        config = TrainConfig(lr=0.01)
        step = make_step(head, lambda idx: (x[idx], y[idx]), 4, params, adam(params, config,
                         torch.device("cpu")), config, 1, torch.device("cpu"),
                         loss if fused else loss.__call__)
        sses.append(torch.stack([step(torch.arange(i * 6, i * 6 + 32) % 64, 32)
                                 for i in range(10)]))
        weights.append([p.detach().clone() for p in params])
    assert torch.allclose(*sses, rtol=1e-5)
    for a, b in zip(*weights, strict=True):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-5)
