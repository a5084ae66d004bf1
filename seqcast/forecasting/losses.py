"""Training losses of the heads, each summed over a batch (``fit`` divides by the targets).

Pinball (quantile) loss for ``QuantileHead``; negative log-likelihoods for ``NormalHead``
and ``StudentTHead``. Each maps (pred, y) to a scalar sum, where
pred is (..., H, K) and y is (..., H).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


def pinball_sum(quantiles: tuple[float, ...]):
    """Sum over quantiles and elements of max(q e, (q - 1) e), e = y - q-th prediction,
    written as e * (q or q - 1 by the sign of e): the weight needs no gradient, so the
    backward pass is one product."""
    levels = torch.tensor(quantiles, dtype=torch.float32)

    def loss(pred: Tensor, y: Tensor) -> Tensor:
        e = y.unsqueeze(-1) - pred  # (..., H, Q)
        q = levels if levels.device == e.device else levels.to(e.device)
        return (e * torch.where(e < 0, q - 1, q)).sum()

    return loss


_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def normal_nll_sum(pred: Tensor, y: Tensor) -> Tensor:
    """-log N(y; mu, sigma) summed; pred (..., H, 2) = (mu, sigma)."""
    mu, sigma = pred[..., 0], pred[..., 1]
    return (_HALF_LOG_2PI + sigma.log() + 0.5 * ((y - mu) / sigma).square()).sum()


def studentt_nll_sum(pred: Tensor, y: Tensor) -> Tensor:
    """-log t_df(y; mu, sigma) summed; pred (..., H, 3) = (mu, sigma, df). Written out with
    lgamma rather than through ``torch.distributions``, whose object per step costs time."""
    mu, sigma, df = pred[..., 0], pred[..., 1], pred[..., 2]
    z2 = ((y - mu) / sigma).square()
    log_norm = torch.lgamma((df + 1) / 2) - torch.lgamma(df / 2) - 0.5 * torch.log(df * math.pi)
    return (-log_norm + sigma.log() + (df + 1) / 2 * torch.log1p(z2 / df)).sum()


def loss_for(cfg):
    """The summed training loss of ``cfg`` (a ``ModelConfig``), chosen by its head; ``None``
    for a point model (``fit`` then trains on MSE)."""
    if cfg.quantiles:
        return pinball_sum(cfg.quantiles)
    return {"normal": normal_nll_sum, "studentt": studentt_nll_sum}.get(cfg.likelihood)
