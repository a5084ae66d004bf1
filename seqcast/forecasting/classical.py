"""Exponential smoothing members (statsmodels' ETS), one local model per series.

What a statistician tries first: simple, damped-trend and seasonal exponential smoothing
with additive errors. Each series' parameters (smoothing weights and initial states) are
fitted once on its training part; a forecast runs the history through the same model with
those parameters fixed (``ETSModel.smooth``), so later data move the states, never the
parameters. Histories must start where the training series started.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import RunConfig
from ..data.io import Panel, check_length

# name -> (trend, damped, seasonal)
ETS_KINDS = {
    "ses": (None, False, False),
    "holt_damped": ("add", True, False),
    "ets_seasonal": (None, False, True),
    "holt_winters_damped": ("add", True, True),
}


def _model(y: np.ndarray, kind: str, season: int):
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    trend, damped, seasonal = ETS_KINDS[kind]
    return ETSModel(np.asarray(y, dtype=np.float64), error="add", trend=trend,
                    damped_trend=damped, seasonal="add" if seasonal else None,
                    seasonal_periods=season if seasonal else None)


def usable_kinds(length: int, season: int) -> list[str]:
    """The ETS kinds a series of ``length`` training steps can fit (seasonal ones need two
    full seasons and more)."""
    kinds = ["ses", "holt_damped"]
    if season > 1 and length >= 3 * season + 4:
        kinds += ["ets_seasonal", "holt_winters_damped"]
    return kinds


@dataclass
class ETSForecaster:
    """ETS of ``kind`` with fitted ``params`` per series id; the shared forecaster interface."""

    config: RunConfig
    kind: str
    params: dict[str, list[float]]

    @property
    def min_history(self) -> int:
        _, _, seasonal = ETS_KINDS[self.kind]
        return 2 * self.config.data.season + 2 if seasonal else 3

    @classmethod
    def fit(cls, panel: Panel, config: RunConfig, kind: str) -> ETSForecaster:
        if kind not in ETS_KINDS:
            raise ValueError(f"unknown ETS kind {kind!r}; valid: {', '.join(ETS_KINDS)}")
        params = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence chatter from statsmodels
            for s in panel:
                res = _model(s.values, kind, config.data.season).fit(disp=False, maxiter=200)
                params[s.id] = [float(p) for p in res.params]
        return cls(config, kind, params)

    def forecast_arrays(self, histories, ids, horizon: int | None = None, covariates=None):
        """Forecasts (N, horizon) after each history (T_i,), on the original scale."""
        horizon = self.config.data.horizon if horizon is None else horizon
        out = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for h, i in zip(histories, ids, strict=True):
                if i not in self.params:
                    raise ValueError(f"series {i!r} was not in the training data;"
                                     f" known series: {', '.join(list(self.params)[:10])}")
                res = _model(h, self.kind, self.config.data.season).smooth(np.array(self.params[i]))
                out.append(np.asarray(res.forecast(horizon), dtype=np.float64))
        return np.stack(out)

    def forecast_quantiles(self, histories, ids, quantiles, horizon=None, covariates=None):
        raise ValueError(f"ETS member {self.kind!r} gives point forecasts only;"
                         " intervals come from --intervals conformal")

    def forecast(self, panel: Panel, horizon: int | None = None, levels=()) -> pd.DataFrame:
        from .ensemble import frame_of

        return frame_of(self, panel, horizon, levels)

    def save(self, out: Path) -> None:
        self.config.save(out / "config.json")
        (out / "classical.json").write_text(
            json.dumps({"kind": self.kind, "params": self.params}, indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> ETSForecaster:
        raw = json.loads((path / "classical.json").read_text())
        kind, params = raw.get("kind"), raw.get("params")
        if kind not in ETS_KINDS or not isinstance(params, dict):
            raise ValueError(f"{path}/classical.json: not an ETS member (kind {kind!r})")
        return cls(RunConfig.load(path / "config.json"), kind,
                   {str(k): [float(v) for v in p] for k, p in params.items()})


def check_fit_length(panel: Panel) -> None:
    check_length(panel, 8, "8 steps for exponential smoothing")
