"""Ensembles: the median (or a weighted mean) of several forecasters' forecasts.

Any mix of members that implement the shared forecaster interface (networks, ridge, ETS,
baselines). Saved as a run directory: ``config.json``, ``ensemble.json`` (weights, the
search's record) and ``members/<k>/``, each a run directory of its own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import RunConfig
from ..data.io import Panel


@dataclass
class Ensemble:
    """``members`` combined by the median (``weights`` empty) or a weighted mean.

    ``info`` is what chose them (JSON-ready), e.g. the search's candidates and scores.
    """

    config: RunConfig
    members: list
    weights: tuple[float, ...] = ()
    info: dict = field(default_factory=dict)

    @property
    def min_history(self) -> int:
        return max(m.min_history for m in self.members)

    @property
    def covariate_scaler(self):
        """A member's covariate scaler when members read covariates (they read the same)."""
        return next((m.covariate_scaler for m in self.members
                     if getattr(m, "covariate_scaler", None) is not None), None)

    def _combine(self, preds: np.ndarray) -> np.ndarray:
        """(K, ...) member outputs -> (...)."""
        if not self.weights:
            return np.median(preds, axis=0)
        w = np.asarray(self.weights, dtype=np.float64)
        return np.tensordot(w / w.sum(), preds, axes=1)

    def forecast_arrays(self, histories, ids, horizon: int | None = None, covariates=None):
        """Combined point forecasts (N, horizon) on the original scale."""
        preds = [m.forecast_arrays(histories, ids, horizon) if covariates is None
                 else m.forecast_arrays(histories, ids, horizon, covariates=covariates)
                 for m in self.members]
        return self._combine(np.stack(preds))

    def predict(self, history, series=None, horizon: int | None = None,
                covariates: dict | None = None) -> np.ndarray:
        """Combined forecasts from arrays, as ``Forecaster.predict``: history (B, T) or (T,)
        in the data's units, T >= ``min_history``, -> (B, horizon) or (horizon,). Network
        members take their fast path; the others (ETS, ARIMA, baselines) forecast each row
        (they read no covariates)."""
        from .predict import as_history

        rows, single = as_history(history, self.min_history)
        preds, ids = [], None
        for m in self.members:
            if hasattr(m, "predict"):
                preds.append(m.predict(rows, series, horizon, covariates))
            else:
                ids = self._ids(series, len(rows)) if ids is None else ids
                preds.append(m.forecast_arrays(list(rows), ids, horizon))
        out = self._combine(np.stack(preds))
        return out[0] if single else out

    def _ids(self, series, n: int) -> list:
        """Series ids of ``n`` rows from ids, positions in the run's series or None."""
        from .predict import series_rows

        known = next((list(m.transforms) for m in self.members if hasattr(m, "transforms")),
                     list(getattr(self.members[0], "params", {})))
        rows = series_rows(known, {k: i for i, k in enumerate(known)}, series, n)
        return [known[i] for i in rows]

    def forecast_quantiles(self, histories, ids, quantiles, horizon=None, covariates=None):
        """Members' quantiles (N, H, Q) combined like their point forecasts; every member
        must give quantiles."""
        from .intervals import has_head

        preds = []
        for m in self.members:
            cfg = getattr(m, "config", None)
            if not hasattr(m, "forecast_quantiles") or cfg is None or not has_head(cfg.model):
                raise ValueError(f"model {self.config.model.name!r} gives point forecasts"
                                 " only (a member has no quantiles); train it with"
                                 " --intervals conformal for intervals")
            preds.append(m.forecast_quantiles(histories, ids, quantiles, horizon, covariates))
        return np.sort(self._combine(np.stack(preds)), axis=-1)  # keep quantiles ordered

    def forecast(self, panel: Panel, horizon: int | None = None, levels=()) -> pd.DataFrame:
        """Forecast past the end of every series: ``id``, ``time``, ``forecast`` (+ lo/hi)."""
        from .intervals import forecast_frame

        return forecast_frame(self, panel, horizon, levels)

    def save(self, out: Path) -> None:
        """Write into the (new, empty) folder ``out``."""
        from ..runs import save_member

        self.config.save(out / "config.json")
        for k, m in enumerate(self.members):
            save_member(out / "members" / str(k), m)
        (out / "ensemble.json").write_text(json.dumps(
            {"members": len(self.members), "weights": list(self.weights), "info": self.info},
            indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> Ensemble:
        from ..runs import load_run

        raw = json.loads((path / "ensemble.json").read_text())
        k = raw.get("members")
        if not isinstance(k, int) or k < 1:
            raise ValueError(f"{path}/ensemble.json: 'members' must be a positive count")
        members = [load_run(path / "members" / str(i)) for i in range(k)]
        weights = tuple(float(w) for w in raw.get("weights", ()))
        if weights and len(weights) != k:
            raise ValueError(f"{path}/ensemble.json: {len(weights)} weights for {k} members")
        return cls(RunConfig.load(path / "config.json"), members, weights, raw.get("info", {}))


def fit_seeds(panel: Panel, config: RunConfig, k: int, progress: bool | None = None):
    """``config``'s model trained with ``k`` seeds (``seed``, ``seed + 1``, ...), combined by
    the median; returns (Ensemble, History of the first seed, metrics). With
    ``--intervals conformal`` the ensemble is calibrated on its own validation errors (the
    validation part inside the training data, as a single model is)."""
    import dataclasses

    from ..data.covariate_io import training_covariates
    from ..data.transforms import split_points
    from ..pipeline import fit_forecaster, validation_scores
    from .conformal import calibrated

    members, first = [], None
    points = dataclasses.replace(config.data, intervals="none")  # calibrated once, below
    for i in range(k):
        train = dataclasses.replace(config.train, seed=config.train.seed + i)
        f, history, _ = fit_forecaster(panel, dataclasses.replace(config, data=points, train=train),
                                       progress)
        members.append(f)
        first = first or history
    ens = Ensemble(config, members, (), {"seeds": [config.train.seed + i for i in range(k)]})
    d = config.data
    splits = {s.id: split_points(len(s), d.valid_frac, d.test_frac) for s in panel}
    covs = training_covariates(panel, d, splits)[0]
    ens = calibrated(ens, panel, splits, covs)
    return ens, first, validation_scores(ens, panel, splits, covs)
