"""Split-conformal intervals per horizon step around any forecaster's point forecasts.

Calibration: forecast from every origin whose horizon lies in the validation part of each
series (inside the training data), divide each absolute error by its series' scale (the
in-sample MAE of the seasonal naive forecast, as MASE does, so one pool serves series of any
size), and keep the sorted scores per horizon step h. A central interval of level a is then
``point +/- scale * r_h``, with r_h the ceil((n + 1) a)-th smallest of the n scores of step h
(Vovk et al. 2005; Lei et al. 2018, "Distribution-free predictive inference for
regression"). It is valid on the original scale because the errors are measured there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

INTERVALS = ("none", "conformal")


def check_intervals(name: str) -> None:
    if name not in INTERVALS:
        raise ValueError(f"unknown intervals {name!r}; valid: {', '.join(INTERVALS)}")


@dataclass
class ConformalForecaster:
    """A forecaster with conformal intervals; the same interface as ``pipeline.Forecaster``.

    scores: (n, H) sorted absolute validation errors divided by their series' ``scales``.
    """

    inner: object
    scores: np.ndarray
    scales: dict[str, float]

    config = property(lambda self: self.inner.config)
    model = property(lambda self: self.inner.model)
    transforms = property(lambda self: self.inner.transforms)
    min_history = property(lambda self: self.inner.min_history)
    covariate_scaler = property(lambda self: getattr(self.inner, "covariate_scaler", None))
    info = property(lambda self: getattr(self.inner, "info", {}))  # an ensemble's search record

    def forecast_arrays(self, histories, ids, horizon: int | None = None, covariates=None):
        """Point forecasts (N, H) of the wrapped forecaster (``covariates``: one per history,
        for a model that reads them)."""
        return self.inner.forecast_arrays(histories, ids, horizon, covariates)

    def forecast_quantiles(self, histories, ids, quantiles, horizon: int | None = None,
                           covariates=None) -> np.ndarray:
        """Quantiles (N, H, Q) on the original scale: q < 0.5 is the lower end of the central
        interval of level 1 - 2q, q > 0.5 the upper end of level 2q - 1."""
        horizon = self.config.data.horizon if horizon is None else horizon
        if horizon > self.scores.shape[1]:
            raise ValueError(f"conformal intervals were calibrated for {self.scores.shape[1]}"
                             f" steps, not {horizon}; retrain with --horizon {horizon}")
        point = self.forecast_arrays(histories, ids, horizon, covariates)  # (N, H)
        scale = np.array([self.scales[i] for i in ids])[:, None, None]
        sign = np.sign(np.asarray(quantiles, dtype=np.float64) - 0.5)
        radius = np.stack([self.radius(abs(2 * q - 1))[:horizon] for q in quantiles], -1)
        return point[:, :, None] + sign * scale * radius[None]

    def predict(self, history, series=None, horizon: int | None = None, covariates=None,
                levels=()):
        """Fast point forecasts as ``Forecaster.predict``; with ``levels`` (percent) a dict
        ``{"forecast", "lo-L", "hi-L", ...}`` of arrays, named as the exported graph's
        outputs (``seqcast.forecasting.conformal_graph``)."""
        from .conformal_graph import predict_intervals

        out = predict_intervals(self, history, series, horizon, levels, covariates)
        return out if levels else out["forecast"]

    def radius(self, level: float) -> np.ndarray:
        """Scaled half-width (H,) of the central interval of ``level`` in (0, 1)."""
        n = len(self.scores)
        k = math.ceil((n + 1) * level - 1e-9)
        if k > n:
            need = math.ceil(level / (1 - level) - 1e-9)  # (n + 1) level <= n
            top = math.floor(100 * n / (n + 1) + 1e-9)  # the highest whole level n windows give
            raise ValueError(f"conformal intervals at {100 * level:g}% need at least {need}"
                             f" validation windows, there are {n}"
                             + (f" (enough for {top}% at most)" if n else "") + ";"
                             " raise --valid-frac or lower --level")
        return self.scores[k - 1] if k >= 1 else np.zeros(self.scores.shape[1])

    def gives(self, level: float) -> bool:
        """Whether there are enough calibration windows for a ``level`` percent interval."""
        n = len(self.scores)
        return math.ceil((n + 1) * level / 100 - 1e-9) <= n

    def forecast_samples(self, histories, ids, samples: int, horizon: int | None = None,
                         covariates=None):
        raise ValueError("conformal intervals give quantiles, not sample paths;"
                         " train with --likelihood for --samples")

    def forecast(self, panel, horizon: int | None = None, levels=()):
        """``id,time,forecast`` plus ``lo-L,hi-L`` per level (percent)."""
        from .intervals import forecast_frame

        return forecast_frame(self, panel, horizon, levels)

    def calibration(self) -> dict:
        """What ``calibration.json`` holds."""
        return {"method": "conformal", "scores": self.scores.tolist(), "scales": self.scales}

    @classmethod
    def from_calibration(cls, inner, data) -> ConformalForecaster:
        """Checked: a table of finite non-negative scores, one column per step of the run's
        horizon, and a finite positive scale for every series."""
        from .conformal_graph import series_ids

        if not isinstance(data, dict):
            raise ValueError("calibration.json: not a conformal calibration (not an object)")
        unknown = set(data) - {"method", "scores", "scales"}
        if unknown or data.get("method") != "conformal":
            raise ValueError("calibration.json: not a conformal calibration"
                             f"{' (unknown keys: ' + ', '.join(sorted(unknown)) + ')' if unknown else ''}")
        try:
            scores = np.asarray(data.get("scores"), dtype=np.float64)
        except (TypeError, ValueError):
            scores = np.zeros(0)
        horizon = inner.config.data.horizon
        if scores.ndim != 2 or len(scores) == 0 or scores.shape[1] != horizon \
                or not np.isfinite(scores).all() or (scores < 0).any():
            raise ValueError(f"calibration.json: scores must be a non-empty (n, {horizon}) table"
                             " of finite non-negative numbers")
        scales = data.get("scales")
        ids = series_ids(inner, scales if isinstance(scales, dict) else {})
        bad = [i for i in ids if not isinstance(scales, dict) or not _positive(scales.get(i))]
        if bad or not isinstance(scales, dict):
            raise ValueError(f"calibration.json: scales must give every series a finite positive"
                             f" number; missing or bad: {', '.join(map(str, bad[:5]))}")
        return cls(inner, np.sort(scores, axis=0), {str(k): float(scales[k]) for k in ids})


def _positive(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) and x > 0



def calibrated(forecaster, panel, splits: dict, covs: dict | None = None):
    """``forecaster`` wrapped with conformal intervals when its data config asks for them."""
    if forecaster.config.data.intervals != "conformal":
        return forecaster
    return calibrate(forecaster, panel, splits, covs)


def calibrate(forecaster, panel, splits: dict, covs: dict | None = None) -> ConformalForecaster:
    """Wrap ``forecaster`` with conformal intervals from the validation part of each series.

    Args:
        splits: series id -> (end of training part, end of validation part).
        covs: series id -> its ``Covariates`` over the whole series, for a model that reads
            them; each origin's forecast gets their head (future values over its horizon).
    """
    from ..metrics import mase_scale

    h, season = forecaster.config.data.horizon, forecaster.config.data.season
    scores, scales = [], {}
    for s in panel:
        n_train, n_valid = splits[s.id]
        scales[s.id] = mase_scale(s.values[:n_train], season)
        origins = range(max(n_train, forecaster.min_history), n_valid - h + 1)
        if not origins:
            continue
        cov = (covs or {}).get(s.id)
        at = None if cov is None else [cov.head(o, h) for o in origins]
        pred = forecaster.forecast_arrays([s.values[:o] for o in origins], [s.id] * len(origins),
                                          None, at)
        truth = np.stack([s.values[o : o + h] for o in origins])
        scores.append(np.abs(pred - truth) / scales[s.id])
    if not scores:
        raise ValueError(f"{panel.source}: no validation windows to calibrate conformal intervals"
                         f" on; raise --valid-frac (each series needs {h} validation steps)")
    return ConformalForecaster(forecaster, np.sort(np.concatenate(scores), axis=0), scales)


MIN_CALIBRATION = 10  # origins kept apart at least, when any are (an 80% interval needs 10)


def calibration_rows(origins: dict[str, list[int]], share: float) -> np.ndarray:
    """A mask over a search's validation rows (series by series, origin by origin): each
    series' last ``share`` of its origins, and at least ``MIN_CALIBRATION``; where that
    would leave the choice fewer origins than it keeps apart, a series among others keeps
    only its last ``share`` (many short series pool their calibration), a series alone none.
    None at all when fewer than ``MIN_CALIBRATION`` would be kept."""
    mask = []
    for o in origins.values():
        keep = max(int(round(share * len(o))), MIN_CALIBRATION) if share > 0 else 0
        if keep > len(o) // 2:
            keep = min(int(round(share * len(o))), len(o) // 2) if len(origins) > 1 else 0
        mask += [False] * (len(o) - keep) + [True] * keep
    mask = np.array(mask, dtype=bool)
    return mask if mask.sum() >= MIN_CALIBRATION else np.zeros_like(mask)


def search_conformal(ensemble, pred, truth, scales, panel, origins, valid: dict,
                     rows: np.ndarray | None = None):
    """``ensemble`` with conformal intervals from its members' combined forecasts ``pred``
    (N, H) at the validation origins (fitted before them, inside the training data), or at
    the ``rows`` of them kept from the choice (``calibration_rows``); adds their interval
    scores there to ``valid``."""
    from .scores import CRPS_GRID, distribution_scores

    first = np.cumsum([0] + [len(origins[s.id]) for s in panel])[:-1]  # each series' first row
    per_series = {s.id: float(scales[r]) for s, r in zip(panel, first, strict=True)}
    if rows is not None:  # a series may keep none of its origins apart: its scale stands
        parts = np.split(rows, first[1:])
        origins = {s.id: [o for o, r in zip(origins[s.id], part, strict=True) if r]
                   for s, part in zip(panel, parts, strict=True)}
        pred, truth, scales = pred[rows], truth[rows], scales[rows]
    f = ConformalForecaster(ensemble, np.sort(np.abs(pred - truth) / scales[:, None], axis=0),
                            per_series)

    def quantiles(qs):  # (N, H, Q) around the validation forecasts, as forecast_quantiles is
        return np.stack([pred + np.sign(q - 0.5) * scales[:, None] * f.radius(abs(2 * q - 1))
                         for q in qs], axis=-1)

    levels = [lv for lv in (80, 95) if f.gives(lv)]
    if f.gives(100 * (2 * max(CRPS_GRID) - 1)):  # CRPS needs every quantile of its grid
        valid.update(distribution_scores(quantiles, truth, scales, levels), in_sample=True)
    return f
