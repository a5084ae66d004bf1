"""Conformal intervals in an exported graph and in ``predict``: the point forecast of the
wrapped network and, per level L, ``lo-L`` and ``hi-L`` = point -/+ scale * r_L, with each
series' scale and the calibrated half-widths r_L (H,) as constants
(``seqcast.forecasting.conformal``)."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn


def output_names(levels) -> list[str]:
    return ["forecast"] + [f"{side}-{level:g}" for level in levels for side in ("lo", "hi")]


def radii(conformal, levels, horizon: int) -> np.ndarray:
    """(len(levels), horizon) scaled half-widths (one-line errors for levels not calibrated)."""
    for level in levels:
        if not 0.0 < level < 100.0:
            raise ValueError(f"interval levels must lie in (0, 100), got {level:g}")
    if horizon > conformal.scores.shape[1]:
        raise ValueError(f"conformal intervals were calibrated for {conformal.scores.shape[1]}"
                         f" steps, not {horizon}")
    return np.stack([conformal.radius(level / 100)[:horizon] for level in levels]) if levels \
        else np.zeros((0, horizon))


def series_ids(inner, scales: dict) -> list:
    """The series ids, in order, of the run a conformal calibration wraps: the network's (or
    an ensemble's first network member's), else a classical model's (its parameters by
    series), else the calibration's ``scales``' own order (which follows the training panel)."""
    models = (inner, *getattr(inner, "members", ()))
    for key in ("transforms", "params"):
        for m in models:
            if isinstance(getattr(m, key, None), dict):
                return list(getattr(m, key))
    return list(scales)


def series_scales(conformal) -> np.ndarray:
    """(S,) each series' scale, in the order of the run's series ids."""
    return np.array([conformal.scales[i] for i in series_ids(conformal.inner, conformal.scales)])


class ConformalGraph(nn.Module):
    """inputs of ``inner`` -> (forecast, lo-L1, hi-L1, lo-L2, ...), each (B, horizon) float64.

    Args:
        inner: the network's ``ForecastGraph``, or an ensemble's ``EnsembleGraph``.
        scales: (S,) each series' scale; radii: (levels, horizon) half-widths in scales.
    """

    def __init__(self, inner: nn.Module, scales, radii):
        super().__init__()
        self.inner, self.horizon = inner, inner.horizon
        self.network = getattr(inner, "network", inner)
        self.register_buffer("scales", torch.as_tensor(scales, dtype=torch.float64))
        self.register_buffer("radii", torch.as_tensor(radii, dtype=torch.float64))

    def forward(self, history: Tensor, series: Tensor, *covariates: Tensor) -> tuple[Tensor, ...]:
        point = self.inner(history, series, *covariates)  # (B, H)
        scale = self.scales[series].unsqueeze(1)  # (B, 1)
        outs = [point]
        for k in range(self.radii.shape[0]):
            half = scale * self.radii[k]  # (B, H)
            outs += [point - half, point + half]
        return tuple(outs)


def predict_intervals(conformal, history, series=None, horizon: int | None = None,
                      levels=(), covariates=None) -> dict[str, np.ndarray]:
    """``predict`` of the wrapped network (or ensemble) with ``lo-L``/``hi-L`` per level: a
    dict by output name, as the exported graph names its outputs."""
    from .predict import series_rows

    point = conformal.inner.predict(history, series, horizon, covariates)
    h = point.shape[-1]
    ids = series_ids(conformal.inner, conformal.scales)
    rows = series_rows(ids, {k: i for i, k in enumerate(ids)}, series,
                       1 if point.ndim == 1 else len(point))
    scale = series_scales(conformal)[rows][:, None]  # (B, 1)
    out = {"forecast": point}
    for level, r in zip(levels, radii(conformal, levels, h), strict=True):
        half = scale * r
        lo, hi = point - half, point + half
        out[f"lo-{level:g}"], out[f"hi-{level:g}"] = (lo[0], hi[0]) if point.ndim == 1 else (lo, hi)
    return out
