"""Distribution heads: any family built with ``horizon * K`` outputs, turned into K numbers per step.

One generic mechanism for every trainable family and strategy: the family is built as usual
but with ``K`` times as many outputs, and a head on top reads them as ``K`` parameters per
horizon step. The outputs are read as (K, horizon) blocks, so an encoder-decoder decodes one
parameter over the horizon per block, and a dense layer is indifferent to the order.

- ``QuantileHead``: K quantiles per step that cannot cross by construction: the lowest is
  free and each next one adds a softplus increment (no sorting after the fact).
- ``NormalHead``: (mu, sigma), sigma = softplus + a floor.
- ``StudentTHead``: (mu, sigma, df), df = 2 + softplus so the variance stays finite.

Outputs: (B, H) -> (B, H, K) for seq2vec, (B, T, H) -> (B, T, H, K) for seq2seq.
"""

from __future__ import annotations

import dataclasses

import torch
from torch import Tensor, nn
from torch.nn.functional import softplus

LIKELIHOODS = ("none", "normal", "studentt")
PARAMS = {"normal": 2, "studentt": 3}
SIGMA_FLOOR = 1e-3


def check_head(quantiles: tuple[float, ...], likelihood: str) -> None:
    """Raise a one-line ``ValueError`` for quantiles or a likelihood that cannot be trained."""
    if likelihood not in LIKELIHOODS:
        raise ValueError(f"unknown likelihood {likelihood!r}; valid: {', '.join(LIKELIHOODS)}")
    if quantiles and likelihood != "none":
        raise ValueError("choose quantiles or a likelihood, not both")
    if quantiles:
        if not all(0.0 < q < 1.0 for q in quantiles):
            raise ValueError(f"quantiles must lie in (0, 1), got {','.join(map(str, quantiles))}")
        if any(b <= a for a, b in zip(quantiles, quantiles[1:], strict=False)):
            raise ValueError(f"quantiles must increase, got {','.join(map(str, quantiles))}")


def head_size(cfg) -> int:
    """Outputs per horizon step K of ``cfg`` (a ``ModelConfig``): 1 for a point model."""
    if cfg.quantiles:
        return len(cfg.quantiles)
    return PARAMS.get(cfg.likelihood, 1)


def widened(cfg):
    """``cfg`` with ``horizon * K`` outputs: what the family is built with under a head."""
    return dataclasses.replace(cfg, horizon=cfg.horizon * head_size(cfg))


class _Head(nn.Module):
    def __init__(self, inner: nn.Module, horizon: int, k: int):
        super().__init__()
        self.inner, self.horizon, self.k = inner, horizon, k

    def raw(self, x: Tensor) -> Tensor:
        out = self.inner(x)  # (..., K * H)
        # (..., K*H) -> (..., K, H) -> (..., H, K)
        return out.unflatten(-1, (self.k, self.horizon)).movedim(-2, -1)


class QuantileHead(_Head):
    """K increasing quantiles per step: q_1 = a_1, q_k = q_{k-1} + softplus(a_k)."""

    def forward(self, x: Tensor) -> Tensor:
        a = self.raw(x)
        steps = softplus(a[..., 1:]).cumsum(-1)
        return a[..., :1] + nn.functional.pad(steps, (1, 0))


class NormalHead(_Head):
    """(mu, sigma) per step; sigma > 0."""

    def forward(self, x: Tensor) -> Tensor:
        a = self.raw(x)
        return torch.stack([a[..., 0], softplus(a[..., 1]) + SIGMA_FLOOR], -1)


class StudentTHead(_Head):
    """(mu, sigma, df) per step; sigma > 0 and df > 2 (a finite variance)."""

    def forward(self, x: Tensor) -> Tensor:
        a = self.raw(x)
        sigma, df = softplus(a[..., 1]) + SIGMA_FLOOR, softplus(a[..., 2]) + 2.0
        return torch.stack([a[..., 0], sigma, df], -1)


def with_head(model: nn.Module, cfg) -> nn.Module:
    """Put ``cfg``'s head (if any) on ``model``, a family built from ``widened(cfg)``."""
    k = head_size(cfg)
    if cfg.quantiles:
        return QuantileHead(model, cfg.horizon, k)
    if cfg.likelihood == "normal":
        return NormalHead(model, cfg.horizon, k)
    if cfg.likelihood == "studentt":
        return StudentTHead(model, cfg.horizon, k)
    return model
