"""Classical members: exponential smoothing (statsmodels' ETS), the Theta method and ARIMA,
one local model per series.

What a statistician tries first: simple, damped-trend and seasonal exponential smoothing
with additive errors, the Theta method (statsmodels' ``ThetaModel``: simple exponential
smoothing with half the slope of a linear trend, on data seasonally adjusted when the
seasonal autocorrelation test says so) and a small ARIMA order search
(``seqcast.models.arima``). Each
series' parameters are fitted once on its training part; a forecast runs the history
through the same model with those parameters fixed (``ETSModel.smooth``, SARIMAX
``filter``), so later data move the states, never the parameters. Histories must start
where the training series started (the ETS initial states belong to that step).
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import RunConfig
from ..data.io import Panel

# name -> (trend, damped, seasonal); "arima" is the ARIMA search instead
ETS_KINDS = {
    "ses": (None, False, False),
    "holt_damped": ("add", True, False),
    "ets_seasonal": (None, False, True),
    "holt_winters_damped": ("add", True, True),
}
KINDS = (*ETS_KINDS, "theta", "arima")


def _model(y: np.ndarray, kind: str, season: int):
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    trend, damped, seasonal = ETS_KINDS[kind]
    return ETSModel(np.asarray(y, dtype=np.float64), error="add", trend=trend,
                    damped_trend=damped, seasonal="add" if seasonal else None,
                    seasonal_periods=season if seasonal else None)


def usable_kinds(length: int, season: int) -> list[str]:
    """The ETS kinds a series of ``length`` training steps can fit (seasonal ones need two
    full seasons and more, and a season of at most ``MAX_SEASON``: one seasonal state per
    step of the season, all estimated, took 30 s on 3000 hourly steps at a season of 168 and
    minutes on two years of them)."""
    from ..models.arima import MAX_SEASON

    kinds = ["ses", "holt_damped"]
    if 1 < season <= MAX_SEASON and length >= 3 * season + 4:
        kinds += ["ets_seasonal", "holt_winters_damped"]
    return kinds


def ets_forecast(y: np.ndarray, params, kind: str, season: int, horizon: int) -> np.ndarray:
    """Run ``y`` (T,) through additive-error ETS with fixed ``params`` (statsmodels' order:
    smoothing level, trend, seasonal, damping, initial level, trend, seasons) and forecast
    ``horizon`` steps: (H,). Equal to ``ETSModel.smooth(params).forecast`` (tested), ~100x
    faster, since statsmodels also computes a covariance matrix for each call.

    Error-correction form (Hyndman & Athanasopoulos, FPP3 8.5): e_t = y_t - (l + phi b + s),
    l <- l + phi b + alpha e, b <- phi b + beta e, s_t = s_{t-m} + gamma e.
    """
    trend, damped, seasonal = ETS_KINDS[kind]
    p, i = [float(v) for v in params], 1
    alpha = p[0]
    beta = p[i] if trend else 0.0
    i += bool(trend)
    gamma = p[i] if seasonal else 0.0
    i += seasonal
    phi = p[i] if damped else 1.0
    i += damped
    level, slope = p[i], (p[i + 1] if trend else 0.0)
    i += 1 + bool(trend)
    seasons = p[i : i + season][::-1] if seasonal else [0.0]  # oldest first: s_{t-m} leads
    for yt in np.asarray(y, dtype=np.float64).tolist():
        s = seasons[0]
        e = yt - (level + phi * slope + s)
        level, slope = level + phi * slope + alpha * e, phi * slope + beta * e
        if seasonal:
            seasons = seasons[1:] + [s + gamma * e]
    damp = np.cumsum(phi ** np.arange(1, horizon + 1))
    s = np.array([seasons[h % len(seasons)] for h in range(horizon)]) if seasonal else 0.0
    return level + damp * slope + s


def theta_params(y: np.ndarray, season: int) -> list[float]:
    """statsmodels' Theta method fitted on ``y``: ``[alpha, b0, multiplicative, *seasonal
    indices]`` (no indices when the test finds no season, or ``season`` is 1)."""
    from statsmodels.tsa.forecasting.theta import ThetaModel

    y = np.asarray(y, dtype=np.float64)
    seasonal = season > 1 and len(y) >= 2 * season + 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter from the smoothing fit
        res = ThetaModel(y, period=season if seasonal else 1, deseasonalize=seasonal).fit()
    indices = np.empty(0)
    if seasonal:  # the season by phase from the fitted series' start (identity without one)
        ahead = np.asarray(res.forecast_components(season)["seasonal"], dtype=np.float64)
        indices = ahead[(np.arange(season) - len(y)) % season]
    mult = float(res.model.method.startswith("mul")) if indices.size else 0.0
    # The trend's slope by least squares on the adjusted data, as statsmodels computes it,
    # except that a constant series keeps a slope of 0 (statsmodels' design matrix drops
    # its constant column when the data are constant, and the slope comes out wrong).
    at = indices[np.arange(len(y)) % indices.size] if indices.size else 0.0
    adjusted = y / at if mult else y - at
    b0 = float(np.polyfit(np.arange(len(y), dtype=np.float64), adjusted, 1)[0]) \
        if np.ptp(adjusted) > 0 else 0.0
    return [float(res.params["alpha"]), b0, mult, *map(float, indices)]


def theta_forecast(y: np.ndarray, params, horizon: int) -> np.ndarray:
    """The Theta forecast after ``y`` (T,), which starts where the fitted series started,
    with fixed ``params`` (``theta_params``): (H,). Equal to statsmodels' forecast when
    ``y`` is the fitted series (tested); after longer histories the level, the trend term's
    length and the season's phase follow the history."""
    alpha, b0, mult = (float(v) for v in params[:3])
    indices = np.asarray(params[3:], dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    T = len(y)
    if indices.size:
        at = indices[np.arange(T) % indices.size]
        y = y / at if mult else y - at
    level = y[0]
    for yt in y.tolist():
        level += alpha * (yt - level)
    h = np.arange(horizon, dtype=np.float64)
    if alpha > 0:
        h += 1 / alpha - (1 - alpha) ** T / alpha
    out = level + 0.5 * b0 * h
    if indices.size:
        at = indices[(T + np.arange(horizon)) % indices.size]
        out = out * at if mult else out + at
    return out


def _arima_prefixes(histories, p: list[float], horizon: int) -> list[np.ndarray]:
    """ARIMA forecasts after histories of one series. When each is a prefix of the longest
    (the rolling origins of a backtest), one Kalman filter pass over the longest serves
    them all: the dynamic prediction from step o uses the data before o only, equal to
    filtering that prefix, and ~15x faster than a filter per origin."""
    from ..models.arima import ARIMA, _sarimax

    o = tuple(int(v) for v in p[:7])
    longest = max(histories, key=len)
    if not all(np.array_equal(h, longest[: len(h)]) for h in histories):
        model = ARIMA(o[:3], o[3:], np.array(p[7:]), float("nan"))
        return [model.forecast(h, horizon) for h in histories]
    res = _sarimax(np.asarray(longest, dtype=np.float64), o[:3], o[3:]).filter(np.array(p[7:]))
    return [np.asarray(res.get_prediction(start=len(h), end=len(h) + horizon - 1,
                                          dynamic=0).predicted_mean, dtype=np.float64)
            for h in histories]


@dataclass
class ETSForecaster:
    """ETS or ARIMA (``kind`` in ``KINDS``) with fitted ``params`` per series id; the shared
    forecaster interface. ARIMA's params are ``[p, d, q, P, D, Q, s, *coefficients]``."""

    config: RunConfig
    kind: str
    params: dict[str, list[float]]

    @property
    def min_history(self) -> int:
        if self.kind == "arima":
            return max(int(p[1] + p[4] * p[6]) + 2 for p in self.params.values())  # d + D s
        if self.kind == "theta":
            return 2
        _, _, seasonal = ETS_KINDS[self.kind]
        return 2 * self.config.data.season + 2 if seasonal else 3

    @classmethod
    def fit(cls, panel: Panel, config: RunConfig, kind: str, orders: dict | None = None,
            deadline: float | None = None) -> ETSForecaster:
        """Fit each series; ``orders`` (ARIMA only): series id -> [p, d, q, P, D, Q, s] to
        fit instead of searching; ``deadline`` (``time.perf_counter()``): a ValueError once
        it has passed, checked after each series (many series take long to fit one by one)
        and within each fit (one seasonal fit of a long series takes seconds);
        ARIMA's order search also stops there with the best order so far."""
        import time

        if kind not in KINDS:
            raise ValueError(f"unknown classical kind {kind!r}; valid: {', '.join(KINDS)}")
        from ..models.arima import ARIMA, OutOfTime, stopper

        params = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence chatter from statsmodels
            for k, s in enumerate(panel):
                if deadline is not None and k and time.perf_counter() > deadline:
                    raise ValueError(f"out of time after {k} of {len(panel)} series")
                if kind == "arima":
                    known = (orders or {}).get(s.id)  # none: a series the search left out
                    o = [int(v) for v in known] if known else []
                    m = ARIMA.fit(s.values, config.data.season, *((o[:3], o[3:]) if o else ()),
                                  deadline=deadline)
                    params[s.id] = [*map(float, m.order + m.seasonal_order), *map(float, m.params)]
                elif kind == "theta":
                    params[s.id] = theta_params(s.values, config.data.season)
                else:
                    try:
                        res = _model(s.values, kind, config.data.season).fit(
                            disp=False, maxiter=200, callback=stopper(deadline))
                    except OutOfTime:
                        raise OutOfTime(f"out of time fitting series {k + 1} of {len(panel)}"
                                        ) from None
                    params[s.id] = [float(p) for p in res.params]
        return cls(config, kind, params)

    def _one(self, history: np.ndarray, p: list[float], horizon: int) -> np.ndarray:
        if self.kind == "arima":
            from ..models.arima import ARIMA

            o = tuple(int(v) for v in p[:7])
            return ARIMA(o[:3], o[3:], np.array(p[7:]), float("nan")).forecast(history, horizon)
        if self.kind == "theta":
            return theta_forecast(history, p, horizon)
        return ets_forecast(history, p, self.kind, self.config.data.season, horizon)

    def forecast_arrays(self, histories, ids, horizon: int | None = None, covariates=None):
        """Forecasts (N, horizon) after each history (T_i,), on the original scale."""
        from ..config import check_horizon
        from ..data.checks import check_histories

        horizon = self.config.data.horizon if horizon is None else horizon
        check_horizon(horizon, horizon, "iterative")  # any horizon: one state steps on
        histories = check_histories(histories, ids)
        for i in ids:
            if i not in self.params:
                raise ValueError(f"series {i!r} was not in the training data;"
                                 f" known series: {', '.join(list(self.params)[:10])}")
        out: list = [None] * len(ids)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if self.kind == "arima":  # one filter per series, not one per history
                for i in dict.fromkeys(ids):
                    rows = [k for k, j in enumerate(ids) if j == i]
                    for k, f in zip(rows, _arima_prefixes([histories[k] for k in rows],
                                                          self.params[i], horizon), strict=True):
                        out[k] = f
            else:
                out = [self._one(h, self.params[i], horizon)
                       for h, i in zip(histories, ids, strict=True)]
        return np.stack(out)

    def forecast_quantiles(self, histories, ids, quantiles, horizon=None, covariates=None):
        raise ValueError(f"classical member {self.kind!r} gives point forecasts only;"
                         " intervals come from --intervals conformal")

    def forecast(self, panel: Panel, horizon: int | None = None, levels=()) -> pd.DataFrame:
        from .intervals import forecast_frame

        return forecast_frame(self, panel, horizon, levels)

    def save(self, out: Path) -> None:
        self.config.save(out / "config.json")
        (out / "classical.json").write_text(
            json.dumps({"kind": self.kind, "params": self.params}, indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> ETSForecaster:
        raw = json.loads((path / "classical.json").read_text())
        kind, params = raw.get("kind"), raw.get("params")
        if kind not in KINDS or not isinstance(params, dict):
            raise ValueError(f"{path}/classical.json: not a classical member (kind {kind!r})")
        return cls(RunConfig.load(path / "config.json"), kind,
                   {str(k): [float(v) for v in p] for k, p in params.items()})
