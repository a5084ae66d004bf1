"""Quantile and distribution heads in an exported graph: the median forecast and, per
interval level L, ``lo-L`` and ``hi-L`` computed as ``seqcast.forecasting.intervals`` does.

The point forecast is each step's median (fed back along the path by the iterative
strategy), undone through scaling and differencing, as ``Forecaster.forecast_arrays``.

Intervals:

- **exact** (direct or seq2seq, no differencing): each step's quantiles straight from the
  head (a quantile head's levels, linear between them; ``mu + sigma * z_q`` for a normal
  head; ``mu + sigma * t_q(df)`` for a Student-t head, ``t_q`` by linear interpolation in
  a table over ``2 / df``: within 3e-7 sigma of ``scipy.stats.t.ppf`` for levels up to
  99, 2e-6 sigma at 99.9), unscaled. No further input.
- **sample paths** (differencing, or the iterative strategy): seqcast draws ``SAMPLES``
  paths in the transformed space (the iterative strategy feeds every draw back into its
  path), inverts each through the differencing and takes the quantiles over them. The
  graph takes the draws as one more input, ``noise``: float64 (batch, samples, horizon),
  standard normal draws for a normal head, uniform draws in [0, 1) for a quantile head
  (which samples its quantile function at ``0.005 + 0.99 u``, linear between its levels
  and continued beyond them). Given the same draws the graph gives seqcast's numbers
  (``seqcast_noise`` makes seqcast's own). A Student-t head's draws (numpy's
  ``standard_t``: rejection sampling, a number of draws that depends on each step's
  ``df``) cannot be an input of fixed shape, so its sampled intervals do not export.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy import stats
from torch import Tensor

from .graph import ForecastGraph, feed_back
from .intervals import SAMPLES, check_quantiles, exact, has_head, level_quantiles

T_GRID = 4097  # points of the Student-t quantile table over 2 / df in [0, 1]
U_LOW, U_HIGH = 0.005, 0.995  # a quantile head's draws: its quantile function at these


def head_name(cfg) -> str:
    """"quantiles", "normal", "studentt", or "" for a point model (``cfg``: a ``ModelConfig``)."""
    if cfg.quantiles:
        return "quantiles"
    return "" if cfg.likelihood == "none" else cfg.likelihood


def sampled(forecaster) -> bool:
    """Whether the run's intervals come from sample paths (and the graph takes ``noise``)."""
    return not exact(forecaster)


def check_levels(forecaster, levels) -> None:
    """One-line ``ValueError`` for interval ``levels`` a head run cannot export."""
    cfg = forecaster.config.model
    if not levels:
        return
    check_quantiles(cfg, level_quantiles(levels))
    if cfg.likelihood == "studentt" and sampled(forecaster):
        why = "the iterative strategy" if forecaster.config.data.strategy == "iterative" \
            else "differencing"
        raise ValueError(f"cannot export intervals of a Student-t head with {why}: they come"
                         " from Student-t draws (rejection sampling) that no fixed-shape noise"
                         " input reproduces; export without --level for the median forecast")


def noise_kind(forecaster) -> str:
    return "uniform [0, 1)" if forecaster.config.model.quantiles else "standard normal"


def seqcast_noise(forecaster, n: int, horizon: int, samples: int = SAMPLES) -> np.ndarray:
    """The draws (n, samples, horizon) seqcast uses for ``n`` histories forecast in one call
    (``intervals.sample_paths``, seeded by the run's seed), as the graph's ``noise`` input."""
    rng = np.random.default_rng(forecaster.config.train.seed)
    draw = rng.random if forecaster.config.model.quantiles else rng.standard_normal
    if forecaster.config.data.strategy != "iterative":
        return draw((n, samples, horizon))
    # the rollout draws one value per path per step: (n * samples,) at each step in turn
    return np.stack([draw(n * samples) for _ in range(horizon)], axis=-1).reshape(
        n, samples, horizon)


class StepQuantiles(torch.nn.Module):
    """Head parameters (..., K) -> quantiles (..., Q) at the fixed levels ``qs``, as
    ``intervals.param_quantiles`` computes them (float64)."""

    def __init__(self, cfg, qs):
        super().__init__()
        q = np.asarray(qs, dtype=np.float64)
        self.kind = head_name(cfg)
        if self.kind == "quantiles":
            have = np.asarray(cfg.quantiles)
            j = np.clip(np.searchsorted(have, q, side="right") - 1, 0, max(len(have) - 2, 0))
            w = np.clip((q - have[j]) / (have[j + 1] - have[j]), 0.0, 1.0) if len(have) > 1 \
                else np.zeros_like(q)
            self.single = len(have) == 1
            self.register_buffer("j", torch.as_tensor(j, dtype=torch.int64))
            self.register_buffer("w", torch.as_tensor(w))
        elif self.kind == "normal":
            self.register_buffer("z", torch.as_tensor(stats.norm.ppf(q)))
        else:  # Student-t: t_q(df) by df's position s = 2 / df in [0, 1] (df > 2)
            s = np.linspace(0.0, 1.0, T_GRID)
            with np.errstate(divide="ignore"):
                df = 2.0 / s
            table = np.where(s[:, None] > 0, stats.t.ppf(q[None], df[:, None]),
                             stats.norm.ppf(q)[None])  # (G, Q)
            table[:, q == 0.5] = 0.0  # the median is mu exactly
            self.register_buffer("table", torch.as_tensor(table))

    def forward(self, p: Tensor) -> Tensor:
        if self.kind == "quantiles":
            if self.single:
                return p[..., :1].expand(*p.shape[:-1], len(self.w))
            lo, hi = p.index_select(-1, self.j), p.index_select(-1, self.j + 1)
            return lo * (1 - self.w) + hi * self.w
        mu, sigma = p[..., :1], p[..., 1:2]
        if self.kind == "normal":
            return mu + sigma * self.z
        pos = (2.0 / p[..., 2]) * (T_GRID - 1)  # (...,)
        j = torch.clamp(torch.floor(pos), 0, T_GRID - 2)
        w = (pos - j).unsqueeze(-1)
        j = j.to(torch.int64)
        return mu + sigma * (self.table[j] * (1 - w) + self.table[j + 1] * w)


class Draw(torch.nn.Module):
    """One value per draw from each step's distribution, as ``intervals.draw``: parameters
    p (..., K) broadcastable to noise (...) + (K,), noise (...) float64 -> (...)."""

    def __init__(self, cfg):
        super().__init__()
        self.quantile = bool(cfg.quantiles)
        have = np.asarray(cfg.quantiles or (0.5,), dtype=np.float64)
        self.register_buffer("have", torch.as_tensor(have))

    def forward(self, p: Tensor, noise: Tensor) -> Tensor:
        if not self.quantile:
            return p[..., 0] + p[..., 1] * noise
        k = self.have.shape[0]
        if k == 1:
            return p[..., 0].expand(noise.shape)
        u = U_LOW + (U_HIGH - U_LOW) * noise
        # numpy's searchsorted(have, u, "right") - 1, clipped to a segment of the levels
        j = torch.clamp((u.unsqueeze(-1) >= self.have).sum(-1) - 1, 0, k - 2)  # (...,)
        p = p.expand(*noise.shape, k)
        lo = torch.gather(p, -1, j.unsqueeze(-1))[..., 0]
        hi = torch.gather(p, -1, (j + 1).unsqueeze(-1))[..., 0]
        w = (u - self.have[j]) / (self.have[j + 1] - self.have[j])
        return lo + w * (hi - lo)


def sorted_quantiles(paths: Tensor, qs) -> Tensor:
    """``np.quantile(paths, qs, axis=1)`` (linear), moved last: paths (B, S, H) -> (B, H, Q)."""
    n = paths.shape[1]
    ordered = torch.sort(paths, dim=1).values
    outs = []
    for q in qs:
        pos = q * (n - 1)
        lo = min(int(np.floor(pos)), n - 1)
        hi, t = min(lo + 1, n - 1), pos - lo
        a, b = ordered[:, lo], ordered[:, hi]
        diff = b - a  # numpy's lerp: from the nearer end
        outs.append(b - diff * (1 - t) if t >= 0.5 else a + diff * t)
    return torch.stack(outs, dim=-1)


class HeadGraph(ForecastGraph):
    """A head run's graph: inputs of ``ForecastGraph`` (then ``noise`` (B, samples, horizon)
    float64 when ``samples``) -> (forecast, lo-L1, hi-L1, ...), each (B, horizon) float64;
    without levels the forecast alone, a tensor.

    Args:
        cfg: the run's ``ModelConfig`` (its head); levels: interval levels in percent.
        samples: paths per forecast when the intervals come from sample paths, else 0.
        The other arguments as ``ForecastGraph``'s.
    """

    def __init__(self, network, mean, std, lags, input_len, horizon, strategy, covariates,
                 cfg, levels=(), samples: int = 0, log: bool = False):
        super().__init__(network, mean, std, lags, input_len, horizon, strategy, covariates, log)
        self.qs = [q for level in levels for q in (round(0.5 - level / 200, 10),
                                                     round(0.5 + level / 200, 10))]
        self.samples = samples
        self.median = StepQuantiles(cfg, [0.5])
        self.bands = StepQuantiles(cfg, self.qs) if self.qs and not samples else None
        self.draw = Draw(cfg) if samples else None

    def _params(self, x: Tensor) -> Tensor:
        out = self.network(x)  # (B, H', K), or (B, L, H', K) for a sequence model
        return (out[:, -1] if out.dim() == 4 else out).to(torch.float64)

    def forward(self, history: Tensor, series: Tensor, *rest: Tensor) -> tuple[Tensor, ...]:
        covariates, noise = (rest[:-1], rest[-1]) if self.samples else (rest, None)
        x, ahead, levels, mean, std = self.inputs(history, series, covariates)
        if self.strategy == "iterative":  # the median fed back along the path
            steps, xm = [], x
            for k in range(self.horizon):
                nxt = self.median(self._params(xm)[:, :1])[..., 0]  # (B, 1)
                steps.append(nxt)
                xm = feed_back(xm, nxt, ahead, k)
            params, z = None, torch.cat(steps, dim=1)
        else:
            params = self._params(x)[:, : self.horizon]  # (B, H, K)
            z = self.median(params)[..., 0]
        outs = [self.invert(z, levels, mean, std)]
        if not self.qs:  # the forecast alone, as ``ForecastGraph`` gives it
            return outs[0]
        if noise is None:  # exact: each step's quantiles, unscaled (no differencing here)
            bands = self.bands(params) * std.unsqueeze(-1) + mean.unsqueeze(-1)  # (B, H, Q)
            bands = torch.exp(bands) if self.log else bands  # monotone: quantiles map over
        else:
            bands = sorted_quantiles(self._paths(x, ahead, params, noise, levels, mean, std),
                                     self.qs)
        return tuple(outs + [bands[..., i] for i in range(len(self.qs))])

    def _paths(self, x, ahead, params, noise, levels, mean, std) -> Tensor:
        """Sample paths (B, S, H) in the data's units from the draws ``noise``."""
        b, s = noise.shape[0], self.samples
        if self.strategy == "iterative":  # every draw fed back into its own path
            xs = x.repeat_interleave(s, dim=0)  # (B * S, L, C)
            ahead = None if ahead is None else ahead.repeat_interleave(s, dim=0)
            steps = []
            for k in range(self.horizon):
                p = self._params(xs)[:, 0]  # (B * S, K)
                z = self.draw(p, noise[:, :, k].reshape(b * s))  # (B * S,)
                steps.append(z.unsqueeze(1))
                xs = feed_back(xs, z.unsqueeze(1), ahead, k)
            z = torch.cat(steps, dim=1)  # (B * S, H)
        else:
            z = self.draw(params.unsqueeze(1), noise).reshape(b * s, self.horizon)
        rows = [lv.repeat_interleave(s, dim=0) for lv in levels]
        d = self.invert(z, rows, mean.repeat_interleave(s, dim=0),
                        std.repeat_interleave(s, dim=0))
        return d.reshape(b, s, self.horizon)


__all__ = ["HeadGraph", "check_levels", "has_head", "head_name", "noise_kind", "sampled",
           "seqcast_noise"]
