"""Training losses of the heads, each summed over a batch (``fit`` divides by the targets).

Pinball (quantile) loss for ``QuantileHead``; negative log-likelihoods for ``NormalHead``
and ``StudentTHead``. Each maps (pred, y) to a scalar sum, where pred is (..., H, K) and y
is (..., H). The likelihoods are one autograd node each, their gradients written out and
computed in the forward pass: a small model's step on a CPU costs about as much per tensor
operation as per FLOP, and one node measured faster than autograd over the plain formulas.

In training, ``fused(net)`` goes further: the head's reading of its inner network's outputs
(softplus, cumulative sum), the loss and its gradient with respect to those raw outputs are
one call of the C kernel (``seqcast.backends.native.heads``), whose gradient the step hands
to autograd, so that a head's training step costs about what the point model's does
(``seqcast bench --heads``).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ..backends.native import heads as native_heads
from ..backends.native import library
from ..backends.native.structs import Loss
from ..models.heads import Head, NormalHead, QuantileHead, StudentTHead


class _Sum(torch.autograd.Function):
    """A summed loss and its gradient with respect to pred, both from ``fn(pred, y)``."""

    @staticmethod
    def forward(ctx, pred: Tensor, y: Tensor, fn) -> Tensor:
        loss, grad = fn(pred.detach(), y.detach())
        ctx.save_for_backward(grad)
        return loss

    @staticmethod
    def backward(ctx, grad_out: Tensor):
        (grad,) = ctx.saved_tensors
        return grad * grad_out, None, None


class HeadLoss:
    """A head's summed loss: ``loss(pred, y)`` on the head's parameters (..., H, K), and
    ``fused(net)`` for training from the raw outputs of the network under the head."""

    head: type = Head  # the head whose outputs the loss reads
    kind: Loss

    def __init__(self, k: int):
        self.k = k

    def __call__(self, pred: Tensor, y: Tensor) -> Tensor:
        raise NotImplementedError

    def levels(self) -> Tensor | None:
        return None

    def fused(self, net):
        """For a training step: ``fn(out, y, scale)`` from the raw outputs ``out =
        net.inner(x)``, giving (the summed loss, detached; the gradient of ``scale`` times it
        with respect to ``out``) in one C call, for the step to pass to ``out.backward``: the
        same loss and gradients as ``self(net.read(out), y)`` to float precision. ``fn``
        returns None where the kernel cannot take ``out`` and ``y`` (other dtypes, shapes);
        ``fused`` itself is None where ``net`` is not this loss's head, is not on the CPU, or
        there is no C compiler."""
        if (not isinstance(net, self.head) or net.k != self.k
                or not all(p.is_cpu for p in net.parameters()) or library() is None):
            return None
        return native_heads.Kernel(self.kind, self.k, self.levels())


class Pinball(HeadLoss):
    """Sum over quantiles and elements of max(q e, (q - 1) e), e = y - q-th prediction,
    written as e * (q or q - 1 by the sign of e): the weight needs no gradient, so autograd's
    backward is already one product."""

    head, kind = QuantileHead, Loss.PINBALL

    def __init__(self, quantiles: tuple[float, ...]):
        super().__init__(len(quantiles))
        self.quantiles = tuple(quantiles)
        self._levels = torch.tensor(quantiles, dtype=torch.float32)

    def levels(self) -> Tensor:
        return self._levels

    def __call__(self, pred: Tensor, y: Tensor) -> Tensor:
        e = y.unsqueeze(-1) - pred  # (..., H, Q)
        q = self._levels if self._levels.device == e.device else self._levels.to(e.device)
        return (e * torch.where(e < 0, q - 1, q)).sum()


def pinball_sum(quantiles: tuple[float, ...]) -> Pinball:
    """The summed pinball loss of ``quantiles``."""
    return Pinball(quantiles)


_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def _normal(pred: Tensor, y: Tensor):
    mu, sigma = pred[..., 0], pred[..., 1]
    z = (y - mu) / sigma
    loss = (_HALF_LOG_2PI + sigma.log() + 0.5 * z.square()).sum()
    # d/dmu = -z / sigma; d/dsigma = (1 - z^2) / sigma
    return loss, torch.stack([-z, 1 - z.square()], -1) / sigma.unsqueeze(-1)


def _studentt(pred: Tensor, y: Tensor):
    mu, sigma, df = pred[..., 0], pred[..., 1], pred[..., 2]
    z = (y - mu) / sigma
    r = z.square() / df
    log1p_r = torch.log1p(r)
    half = (df + 1) / 2
    log_norm = torch.lgamma(half) - torch.lgamma(df / 2) - 0.5 * torch.log(df * math.pi)
    loss = (-log_norm + sigma.log() + half * log1p_r).sum()
    share = (df + 1) / (df * (1 + r))  # (df + 1) / (df (1 + r))
    d_mu = -share * z / sigma
    d_sigma = (1 - share * z.square()) / sigma
    d_df = 0.5 * (torch.digamma(df / 2) - torch.digamma(half) + 1 / df + log1p_r - share * r)
    return loss, torch.stack([d_mu, d_sigma, d_df], -1)


class _Likelihood(HeadLoss):
    def __init__(self, k: int, head: type, kind: Loss, fn, doc: str):
        super().__init__(k)
        self.head, self.kind, self.fn, self.__doc__ = head, kind, fn, doc

    def __call__(self, pred: Tensor, y: Tensor) -> Tensor:
        return _Sum.apply(pred, y, self.fn)


normal_nll_sum = _Likelihood(2, NormalHead, Loss.NORMAL, _normal,
                             "-log N(y; mu, sigma) summed; pred (..., H, 2) = (mu, sigma).")
studentt_nll_sum = _Likelihood(3, StudentTHead, Loss.STUDENTT, _studentt,
                               "-log t_df(y; mu, sigma) summed; pred (..., H, 3) = (mu, sigma, df).")


def loss_for(cfg) -> HeadLoss | None:
    """The summed training loss of ``cfg`` (a ``ModelConfig``), chosen by its head; ``None``
    for a point model (``fit`` then trains on MSE)."""
    if cfg.quantiles:
        return pinball_sum(cfg.quantiles)
    return {"normal": normal_nll_sum, "studentt": studentt_nll_sum}.get(cfg.likelihood)
