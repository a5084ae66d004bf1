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


def check_head(cfg) -> None:
    """Raise a one-line ``ValueError`` for a head ``cfg`` (a ``ModelConfig``) cannot train."""
    quantiles, likelihood = cfg.quantiles, cfg.likelihood
    if (quantiles or likelihood != "none") and cfg.name in ("naive", "seasonal_naive"):
        raise ValueError(f"model {cfg.name!r} has nothing to train for --quantiles/--likelihood;"
                         " use --intervals conformal")
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


class Head(nn.Module):
    """Reads the inner outputs as K parameters per step: ``forward(x) = read(inner(x))``.
    Positive parameters are mapped by one softplus over all K and a ``torch.where`` on a
    fixed mask rather than by slicing and stacking: fewer tensor operations, which is what a
    small model's step costs on a CPU. (Training reads the inner outputs in its loss
    instead: ``seqcast.forecasting.losses``.)"""

    def __init__(self, inner: nn.Module, horizon: int, k: int, free: tuple[bool, ...],
                 offset: tuple[float, ...]):
        super().__init__()
        self.inner, self.horizon, self.k = inner, horizon, k
        self.register_buffer("free", torch.tensor(free), persistent=False)  # (K,) kept as is
        self.register_buffer("offset", torch.tensor(offset), persistent=False)  # (K,)

    def positive(self, out: Tensor) -> Tensor:
        a = out.unflatten(-1, (self.k, self.horizon)).movedim(-2, -1)  # (..., H, K)
        return torch.where(self.free, a, softplus(a) + self.offset)

    read = positive  # inner outputs (..., K * H) -> parameters (..., H, K)

    def forward(self, x: Tensor) -> Tensor:
        return self.read(self.inner(x))


class QuantileHead(Head):
    """K increasing quantiles per step: q_1 = a_1, q_k = q_{k-1} + softplus(a_k)."""

    def __init__(self, inner: nn.Module, horizon: int, k: int):
        super().__init__(inner, horizon, k, (True,) + (False,) * (k - 1), (0.0,) * k)

    def read(self, out: Tensor) -> Tensor:
        return self.positive(out).cumsum(-1)


class NormalHead(Head):
    """(mu, sigma) per step; sigma = softplus + a floor > 0."""

    def __init__(self, inner: nn.Module, horizon: int, k: int = 2):
        super().__init__(inner, horizon, 2, (True, False), (0.0, SIGMA_FLOOR))


class StudentTHead(Head):
    """(mu, sigma, df) per step; sigma > 0 and df = 2 + softplus > 2 (a finite variance)."""

    def __init__(self, inner: nn.Module, horizon: int, k: int = 3):
        super().__init__(inner, horizon, 3, (True, False, False), (0.0, SIGMA_FLOOR, 2.0))


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
