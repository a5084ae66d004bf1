"""Scores of intervals and distributions (numpy, float64), beside MAE/RMSE/MASE.

- coverage: share of true values inside [lo, hi]; width: mean hi - lo.
- MSIS: the interval score (hi - lo) + (2/a)(lo - y)+ + (2/a)(y - hi)+, a = 1 - level,
  divided by the series' MASE scale (Gneiting & Raftery 2007; the M4 competition's MSIS).
- CRPS from quantiles (twice the mean pinball loss over a grid of levels), from sample
  paths (E|X - y| - E|X - X'| / 2) or in closed form for a normal distribution.

Shapes: truth y (N, H); intervals lo, hi (N, H); quantiles (N, H, Q); samples (N, S, H).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats

CRPS_GRID = tuple(round(0.05 * k, 2) for k in range(1, 20))  # 0.05, 0.10, ..., 0.95


def interval_scores(lo, hi, y, level: float, scales) -> dict:
    """``coverage``, ``width`` and ``msis`` of central intervals of ``level`` percent."""
    lo, hi, y = (np.asarray(a, dtype=np.float64) for a in (lo, hi, y))
    alpha = 1.0 - level / 100.0
    score = (hi - lo) + (2 / alpha) * (np.maximum(lo - y, 0) + np.maximum(y - hi, 0))
    return {
        "coverage": float(((y >= lo) & (y <= hi)).mean()),
        "width": float((hi - lo).mean()),
        "msis": float((score / np.asarray(scales, dtype=np.float64)[:, None]).mean()),
    }


def crps_quantiles(quantiles, levels: Sequence[float], y) -> float:
    """CRPS approximated by 2 x the mean pinball loss over ``levels`` (Q,); quantiles (N, H, Q)."""
    q = np.asarray(levels, dtype=np.float64)
    e = np.asarray(y, dtype=np.float64)[..., None] - np.asarray(quantiles, dtype=np.float64)
    return float(2 * np.maximum(q * e, (q - 1) * e).mean())


def crps_samples(samples, y) -> float:
    """CRPS of sample paths (N, S, H) against y (N, H): E|X - y| - E|X - X'| / 2, the pair
    term from sorted samples in O(S log S)."""
    x = np.sort(np.asarray(samples, dtype=np.float64), axis=1)
    s = x.shape[1]
    first = np.abs(x - np.asarray(y, dtype=np.float64)[:, None]).mean(1)
    weights = (2 * np.arange(1, s + 1) - s - 1)[None, :, None]  # sum_ij |x_i - x_j| = 2 sum w_i x_(i)
    pair = (weights * x).sum(1) / (s * s)
    return float((first - pair).mean())


def crps_normal(mean, std, y) -> float:
    """Closed-form CRPS of N(mean, std^2) at y (Gneiting & Raftery 2007, eq. 21)."""
    mean, std, y = (np.asarray(a, dtype=np.float64) for a in (mean, std, y))
    z = (y - mean) / std
    return float((std * (z * (2 * stats.norm.cdf(z) - 1) + 2 * stats.norm.pdf(z)
                         - 1 / np.sqrt(np.pi))).mean())


def normal_quantiles(mean, std, quantiles: Sequence[float]) -> np.ndarray:
    """Quantiles (N, H, Q) of normal forecasts with mean and std (N, H)."""
    z = stats.norm.ppf(np.asarray(quantiles, dtype=np.float64))
    return np.asarray(mean)[..., None] + np.asarray(std)[..., None] * z


def distribution_scores(quantile_fn, y, scales, levels: Sequence[float],
                        crps_levels: Sequence[float] = CRPS_GRID, bounds: dict | None = None
                        ) -> dict:
    """``{"intervals": {"80": {...}}, "crps": ...}`` for a forecaster's quantiles.

    Args:
        quantile_fn: quantiles (Q,) -> (N, H, Q) on the original scale.
        crps_levels: the grid for CRPS (a quantile head passes its own levels).
        bounds: filled with ``"lo-L"`` and ``"hi-L"`` -> (N, H) per level, when given.
    """
    from .intervals import level_quantiles

    qs = level_quantiles(levels) if levels else []
    grid = sorted(set(qs) | set(crps_levels))
    values = quantile_fn(grid)
    out = {"intervals": {}}
    for level in levels:
        lo, hi = grid.index(round(0.5 - level / 200, 10)), grid.index(round(0.5 + level / 200, 10))
        out["intervals"][f"{level:g}"] = interval_scores(values[..., lo], values[..., hi], y,
                                                         level, scales)
        if bounds is not None:
            bounds[f"lo-{level:g}"], bounds[f"hi-{level:g}"] = values[..., lo], values[..., hi]
    pick = [grid.index(q) for q in crps_levels]
    out["crps"] = crps_quantiles(values[..., pick], crps_levels, y)
    return out


def validation_distribution_scores(forecaster, panel, splits: dict, levels=(80, 95),
                                   covs: dict | None = None) -> dict:
    """``{"valid": {...}, "test": {...}}`` interval scores and CRPS from every origin whose
    horizon lies in that part, for the levels the forecaster can give (empty if none).
    ``covs`` maps series id -> its ``Covariates`` over the whole series, for a model that
    reads them.
    Conformal intervals are calibrated on the validation part: their "valid" scores are
    in-sample, and say so (``"in_sample": true``)."""
    from ..metrics import mase_scale
    from .baselines import crps_levels
    from .intervals import has_head, level_quantiles

    conformal = hasattr(forecaster, "calibration")
    cfg, h = forecaster.config.model, forecaster.config.data.horizon
    if not conformal and not has_head(cfg):
        return {}
    if cfg.quantiles and not conformal:
        levels = [lv for lv in levels if min(level_quantiles([lv])) >= cfg.quantiles[0] - 1e-9
                  and max(level_quantiles([lv])) <= cfg.quantiles[-1] + 1e-9]
    if conformal:
        levels = [lv for lv in levels if forecaster.gives(lv)]
    out = {}
    for part in ("valid", "test"):
        hist, ids, truth, scales, at = [], [], [], [], []
        for s in panel:
            n_train, n_valid = splits[s.id]
            start, end = (n_train, n_valid) if part == "valid" else (n_valid, len(s))
            for o in range(max(start, forecaster.min_history), end - h + 1):
                hist.append(s.values[:o])
                ids.append(s.id)
                truth.append(s.values[o : o + h])
                scales.append(mase_scale(s.values[:n_train], forecaster.config.data.season))
                if (covs or {}).get(s.id) is not None:
                    at.append(covs[s.id].head(o, h))
        if truth:
            out[part] = distribution_scores(
                lambda q, hs=hist, i=ids, c=at or None: forecaster.forecast_quantiles(
                    hs, i, q, None, c), np.stack(truth),
                np.array(scales), levels, crps_levels(forecaster))
            if conformal and part == "valid":
                out[part]["in_sample"] = True
    return out
