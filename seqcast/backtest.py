"""Rolling-origin backtests: a model against naive, seasonal naive and ARIMA, per horizon step.

Each series gets ``folds`` forecast origins ``step`` apart at its end, the last one leaving
exactly ``horizon`` steps. Every model is fitted once on the data before the first origin
(the network with its own early-stopping split inside that part, ARIMA with its order
search), then forecasts from every origin with its parameters fixed, seeing the true history
up to that origin. Nothing after the first origin influences any fitted parameter.
With future covariates or calendar features, ARIMA is reported twice: plain, and with them
as exogenous regressors (``arima_exog``, given their values over each horizon). Past
covariates have no values over the horizon, so ARIMA does not use them.
"""

from __future__ import annotations

import numbers
import sys
import time
import types
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .config import RunConfig
from .data.covariate_io import model_covariates
from .data.io import Panel, Series, check_length
from .forecasting.baselines import naive_std, seasonal_naive_std
from .metrics import horizon_scores, mase_scale
from .models.arima import MAX_SEASON
from .models.baselines import naive_forecast, seasonal_naive_forecast
from .pipeline import fit_forecaster

BASELINES = ("naive", "seasonal_naive", "arima")


@dataclass
class BacktestResult:
    """Scores per model (``mae``, ``rmse``, ``mase`` lists over horizon steps, ``mae_mean``,
    ``seconds``) over ``folds`` origins per series."""

    models: dict[str, dict] = field(default_factory=dict)
    folds: int = 0
    horizon: int = 0
    origins: int = 0
    search: dict = field(default_factory=dict)  # what an auto search chose and tried
    warnings: list = field(default_factory=list)  # series left out, for every model
    # every origin's point forecasts beside the truth (``forecast_table``); not in to_dict
    forecasts: pd.DataFrame | None = field(default=None, repr=False)

    def to_dict(self) -> dict:
        return {
            "models": self.models,
            "folds": self.folds,
            "horizon": self.horizon,
            "origins": self.origins,
            **({"search": self.search} if self.search else {}),
            **({"warnings": self.warnings} if self.warnings else {}),
        }


def origins_of(length: int, folds: int, step: int, horizon: int) -> list[int]:
    """Forecast origins (number of past steps seen) of the ``folds`` folds, oldest first."""
    return [length - horizon - k * step for k in reversed(range(folds))]


def backtest(
    panel: Panel | pd.DataFrame,
    config: RunConfig,
    folds: int = 5,
    step: int | None = None,
    baselines: tuple[str, ...] = BASELINES,
    arima_order: tuple | None = None,
    progress: bool | None = None,
    search=None,
    levels: tuple[float, ...] = (),
    nonnegative: bool = False,
) -> BacktestResult:
    """Rolling-origin evaluation of ``config``'s model and ``baselines`` on every series.

    Args:
        folds: origins per series, ``step`` apart (default: the horizon, so the
            forecast windows tile the end of the series without overlap).
        arima_order: ((p, d, q), (P, D, Q, s)) for ARIMA instead of the search.
        search: ``AutoConfig`` for ``config.model.name == "auto"`` (or seeds to ensemble).
        levels: interval levels in percent: adds ``intervals`` (coverage, width, MSIS per
            level) and ``crps`` to every model's scores (``seqcast.forecasting.scores``).
        nonnegative: every model's forecasts and quantiles are clipped at 0 before scoring
            (a monotone map: each quantile stays that quantile of the clipped forecast).

    A series with too few steps before its first origin (for the folds, or for the window
    the other series fit) is left out for every model, named in ``warnings``, as long as
    another series can be scored; when none can, the backtest is refused.

    Example:
        >>> data = DataConfig(dataset="co2", horizon=12, season=12, diff=(1,))
        >>> cfg = make_config("lstm", data, 48)
        >>> backtest(load_dataset("co2"), cfg, folds=5).models["lstm"]["mae_mean"]
    """
    from .data.load import as_panel

    panel = as_panel(panel, config.data)
    for b in baselines:
        if b not in BASELINES:
            raise ValueError(f"unknown baseline {b!r}; valid: {', '.join(BASELINES)}")
    for name, value in (("folds", folds), ("step", 1 if step is None else step)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"{name} must be a whole number >= 1, got {value!r}")
    if levels and config.data.intervals != "conformal" and config.model.name != "auto":
        # fail before any training (auto's intervals are always conformal)
        from .forecasting.intervals import check_quantiles, level_quantiles

        check_quantiles(config.model, level_quantiles(levels))
    H, season = config.data.horizon, config.data.season
    step = H if step is None else step
    # The part before the first origin needs a season (2 steps) at least: fit_forecaster
    # shrinks the window to what it holds, or falls back to a baseline with a warning.
    need = (folds - 1) * step + H + max(season, 2)
    what = "(folds - 1) * step + horizon + max(season, 2)"
    if config.model.name == "auto":  # the search adapts its windows; it needs a little data
        need = (folds - 1) * step + 2 * H + 3 * H + 8
        what = "(folds - 1) * step + 5 * horizon + 8"
    short = [s.id for s in panel if len(s) < need]  # left out while others can be scored
    short = short if len(short) < len(panel) else []
    panel = _without(panel, short)
    check_length(panel, need, what)
    origins = {s.id: origins_of(len(s), folds, step, H) for s in panel}
    # Each series' covariates over its whole length (future ones are known by definition).
    data = config.data
    covs = {s.id: model_covariates(s, panel.freq, data.calendar, len(s), 0, panel.source)
            for s in panel}
    head = Panel(
        panel.source,
        panel.freq,
        tuple(
            Series(s.id, s.index[: origins[s.id][0]], s.values[: origins[s.id][0]],
                   None if s.covariates is None else s.covariates.head(origins[s.id][0], 0))
            for s in panel
        ),
    )
    from .forecasting.guard import too_short_to_backtest

    window = too_short_to_backtest(head, config)  # too short for the others' window
    panel, head, short = _without(panel, window), _without(head, window), short + window
    truth = np.concatenate([np.stack([s.values[o : o + H] for o in origins[s.id]]) for s in panel])
    scales = np.concatenate(
        [[mase_scale(s.values[: origins[s.id][0]], season)] * folds for s in panel]
    )

    def histories():
        return [s.values[:o] for s in panel for o in origins[s.id]]

    result = BacktestResult(folds=folds, horizon=H, origins=len(truth))
    if short:
        more = f" and {len(short) - 1} more" if len(short) > 1 else ""
        result.warnings.append(
            f"warning: {panel.source}: series {short[0]!r}{more} left out of the backtest (every"
            " model): too few steps before the first origin, where the other series have enough")
    if "arima" in baselines and season > MAX_SEASON and arima_order is None:
        result.warnings.append(
            f"warning: arima fits no seasonal terms for a season of {season} (longer than"
            f" {MAX_SEASON}, a seasonal fit takes minutes); seasonal_naive keeps the season")
    start = time.perf_counter()
    forecaster, _, fitted = fit_forecaster(head, config, progress=progress, search=search)
    result.search = {k: v for k, v in getattr(forecaster, "info", {}).items()
                     if k not in ("fallback", "warnings")}
    ids = [s.id for s in panel for _ in range(folds)]
    at_origins = None
    if covs and getattr(forecaster, "covariate_scaler", None) is not None:
        at_origins = [covs[s.id].head(o, H) for s in panel for o in origins[s.id]]
    def clip(a):  # --nonnegative: as ``forecast`` writes them
        return np.maximum(a, 0.0) if nonnegative else a

    pred = clip(forecaster.forecast_arrays(histories(), ids, H, at_origins))
    # A model that shares a baseline's name (e.g. "naive") keeps its own row.
    name = config.model.name + ("_model" if config.model.name in BASELINES else "")
    preds = {name: pred}  # and the lo/hi bounds: the forecasts table's columns

    def interval_scores(model: str, quantile_fn, grid=None) -> dict:
        """``model``'s interval scores and CRPS; its bounds join ``preds``."""
        from .forecasting.scores import CRPS_GRID, distribution_scores

        bounds = {}
        scores = distribution_scores(lambda q: clip(quantile_fn(q)), truth, scales, levels,
                                     CRPS_GRID if grid is None else grid,
                                     bounds)
        preds.update({f"{model}-{k}": v for k, v in bounds.items()})
        return scores

    if levels:
        from .forecasting.baselines import crps_levels

        result.models[name] = interval_scores(name, lambda q: forecaster.forecast_quantiles(
            histories(), ids, q, H, at_origins), crps_levels(forecaster))
    result.models[name] = {**_scores(pred, truth, scales, start), **result.models.get(name, {}),
                           **{k: fitted[k] for k in ("fallback", "warnings") if k in fitted}}

    for name in baselines:
        start = time.perf_counter()
        std = None
        if name == "naive":
            pred = np.stack([naive_forecast(h, H) for h in histories()])
            if levels:
                std = np.stack([naive_std(h.values, H) for h in head for _ in range(folds)])
        elif name == "seasonal_naive":
            pred = np.stack([seasonal_naive_forecast(h, season, H) for h in histories()])
            if levels:
                std = np.stack([seasonal_naive_std(h.values, season, H)
                                for h in head for _ in range(folds)])
        else:
            pred, std = _arima(panel, head, origins, season, H, arima_order)
        raw, pred = pred, clip(pred)  # the bounds come from the unclipped distribution
        result.models[name], preds[name] = _scores(pred, truth, scales, start), pred
        if levels:
            from .forecasting.scores import normal_quantiles

            result.models[name].update(interval_scores(
                name, lambda q, m=raw, sd=std: normal_quantiles(m, sd, q)))
        exog = {k: c.future for k, c in covs.items() if c is not None and c.future is not None}
        if name == "arima" and exog:  # the same search with the future-known regressors
            start = time.perf_counter()
            raw, std = _arima(panel, head, origins, season, H, arima_order, exog)
            result.models["arima_exog"] = _scores(clip(raw), truth, scales, start)
            preds["arima_exog"] = clip(raw)
            if levels:
                result.models["arima_exog"].update(interval_scores(
                    "arima_exog", lambda q, m=raw, sd=std: normal_quantiles(m, sd, q)))
    result.forecasts = forecast_table(panel, origins, H, truth, preds)
    return result


def forecast_table(panel: Panel, origins: dict, horizon: int, truth, preds: dict) -> pd.DataFrame:
    """One row per series, origin and step: ``id``, ``cutoff`` (the last time seen),
    ``time``, ``actual`` and each model's point forecast, followed by its interval bounds
    (``<model>-lo-80``, ...) when levels were scored (rows of ``truth`` and ``preds`` (N, H)
    in the order of the series and their origins)."""
    ids, cutoffs, times = [], [], []
    for s in panel:
        for o in origins[s.id]:
            ids += [s.id] * horizon
            cutoffs += [s.index[o - 1]] * horizon
            times += list(s.index[o : o + horizon])
    return pd.DataFrame({"id": ids, "cutoff": cutoffs, "time": times,
                         "actual": np.asarray(truth).reshape(-1),
                         **{m: np.asarray(p).reshape(-1) for m, p in preds.items()}})


def _without(panel: Panel, ids: list) -> Panel:
    """``panel`` less the series ``ids`` (every model is scored on the same series)."""
    return Panel(panel.source, panel.freq, tuple(s for s in panel if s.id not in ids))


def _arima(panel, head, origins, season, horizon, order, exog=None
           ) -> tuple[np.ndarray, np.ndarray]:
    """Means and standard deviations (N, H) of ARIMA's forecasts from every origin."""
    from .models.arima import ARIMA

    out = []
    for s, h in zip(panel, head, strict=False):
        x = None if exog is None else exog[s.id]  # (T, K): user future columns and calendar
        if x is not None:  # a column constant over the training part is collinear with the mean
            x = x[:, np.ptp(x[: len(h)], axis=0) > 0]
            x = x if x.shape[1] else None
        model = ARIMA.fit(h.values, season, *(order or (None, None)),
                          exog=None if x is None else x[: len(h)])
        out += [model.forecast_distribution(s.values[:o], horizon,
                                            None if x is None else x[: o + horizon])
                for o in origins[s.id]]
    return np.stack([m for m, _ in out]), np.stack([sd for _, sd in out])


def _scores(pred, truth, scales, start) -> dict:
    return {**horizon_scores(pred - truth, scales), "seconds": time.perf_counter() - start}


class _Callable(types.ModuleType):
    """This module called is ``backtest`` called: ``from seqcast import backtest`` gives the
    function, but once anything has imported this module, Python sets ``seqcast.backtest``
    to the module itself, which then must behave as the function does."""

    def __call__(self, *args, **kwargs) -> BacktestResult:
        return backtest(*args, **kwargs)


sys.modules[__name__].__class__ = _Callable
