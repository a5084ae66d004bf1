"""Guard rails: windows that fit the series, a baseline where nothing else fits, and a
fitted model's validation scores beside naive and seasonal naive.

A network that loses to the last value (or the last season) on the validation origins is
worse than useless to its user; the CLI prints both side by side and warns. A series too
short for the requested window gets a shorter one; too short for any window, it gets
seasonal naive (or naive) and a one-line warning instead of a refusal.
"""

from __future__ import annotations

import numpy as np

from ..data.transforms import split_points
from ..metrics import horizon_scores, mase_scale
from ..models.baselines import naive_forecast, seasonal_naive_forecast
from .defaults import MIN_TRAIN_WINDOWS, MIN_VALID_WINDOWS


def baseline_scores(forecaster, panel, splits: dict) -> dict:
    """MAE and MASE (means over the horizon) of naive and seasonal naive, from the same
    validation origins that score ``forecaster``: ``{"naive": {...}, "seasonal_naive": {...}}``
    (seasonal naive is naive from an origin with less than a season before it).

    Args:
        splits: series id -> (end of training part, end of validation part).
    """
    H, season = forecaster.config.data.horizon, forecaster.config.data.season
    rows: dict[str, list] = {"naive": [], "seasonal_naive": []}
    truth, scales = [], []
    for s in panel:
        n_train, n_valid = splits[s.id]
        for o in range(max(n_train, forecaster.min_history), n_valid - H + 1):
            rows["naive"].append(naive_forecast(s.values[:o], H))
            rows["seasonal_naive"].append(  # naive where less than a season precedes o
                seasonal_naive_forecast(s.values[:o], season, H) if o >= season
                else naive_forecast(s.values[:o], H))
            truth.append(s.values[o : o + H])
            scales.append(mase_scale(s.values[:n_train], season))
    if not truth:
        return {}
    out = {}
    for name, pred in rows.items():
        sc = horizon_scores(np.stack(pred) - np.stack(truth), np.array(scales))
        out[name] = {"mae_mean": sc["mae_mean"], "mase_mean": float(np.mean(sc["mase"]))}
    return out


def comparison(valid: dict, name: str) -> tuple[str, str | None]:
    """A line with ``name``'s validation MAE beside the baselines', and a warning when it is
    worse than seasonal naive (``None`` otherwise)."""
    base = {b: s for b, s in valid.get("baselines", {}).items() if b != name}  # not twice
    parts = [f"{name} {valid['mae_mean']:.6g}"] + [f"{b} {s['mae_mean']:.6g}" for b, s in base.items()]
    line = "validation MAE: " + ", ".join(parts)
    snaive = base.get("seasonal_naive")
    if snaive is not None and valid["mae_mean"] > snaive["mae_mean"]:
        ratio = (f"{valid['mae_mean'] / snaive['mae_mean']:.2f}x its MAE" if snaive["mae_mean"] > 0
                 else "which is exact there")
        return line, (f"warning: {name} is worse than seasonal naive on the validation origins"
                      f" ({ratio}); try --model auto, which falls back to a baseline")
    return line, None


def fit_splits(length: int, data, input_len: int, span: int, early_stopping: bool = True
               ) -> tuple[int, int]:
    """Ends of the training and validation parts of a ``length``-step series.

    The validation part of ``split_points`` grows, taking steps from the training part only
    while that keeps ``MIN_TRAIN_WINDOWS`` windows, until it holds ``MIN_VALID_WINDOWS``
    origins one step apart: early stopping on a handful of overlapping windows keeps a model
    from whichever epoch happened to fit them (often the first). Without ``early_stopping``
    the split is ``split_points``'."""
    n_train, n_valid = split_points(length, data.valid_frac, data.test_frac)
    if n_valid == n_train or not early_stopping:
        return n_train, n_valid
    want = data.horizon + MIN_VALID_WINDOWS - 1 - (n_valid - n_train)
    spare = n_train - (input_len + span + data.horizon + MIN_TRAIN_WINDOWS - 1)
    grow = max(0, min(want, spare))
    return n_train - grow, n_valid


def fitted_window(panel, config, every_series: bool = True) -> int:
    """The largest input window, at most the configured one, that leaves the median series'
    training part ``MIN_TRAIN_WINDOWS`` windows and (``every_series``) lets every series be
    validated and forecast (``window + differencing + horizon + 1`` steps): a few short
    series do not shrink the window of all. Below 2 nothing can be fitted honestly."""
    data, span = config.data, sum(config.data.diff)
    n_train = sorted(split_points(len(s), data.valid_frac, data.test_frac)[0] for s in panel)
    room = n_train[len(n_train) // 2] - span - data.horizon - MIN_TRAIN_WINDOWS + 1
    every = min(len(s) for s in panel) - span - data.horizon - 1 if every_series else room
    return min(config.model.input_len, room, every)


def too_short_to_backtest(head, config) -> list[str]:
    """Ids of the series of a backtest's ``head`` (each series before its first origin) too
    short to be validated and forecast with the window the median series fits, while others
    are not: the backtest leaves them out, for every model alike, rather than shortening
    every series' window or replacing the model by a baseline (for ``auto``: shorter than
    the ``2 * horizon + 4`` steps its search validates)."""
    if config.model.name in ("naive", "seasonal_naive") or len(head) < 2:
        return []
    if config.model.name == "auto":  # the least its search validates (``fit_auto``)
        short = [s.id for s in head if len(s) < 2 * config.data.horizon + 4]
        return short if len(short) < len(head) else []
    try:
        L = fitted_window(head, config, every_series=False)
    except ValueError:  # a series too short to split: the usual refusal says so
        return []
    need = L + sum(config.data.diff) + config.data.horizon + 1
    short = [s.id for s in head if len(s) < need]
    return short if L >= 2 and len(short) < len(head) else []


def fitted_config(panel, config) -> tuple:
    """``(config, notes)``: ``config`` with the input window shrunk to what the series can
    fit (``fitted_window``), and one-line warnings saying so, and naming series that hold
    fewer than ``MIN_TRAIN_WINDOWS`` training windows of it; ``(None, [reason])`` when no
    window of 2 fits. The baselines, which learn nothing, keep their window."""
    import dataclasses

    if config.model.name in ("naive", "seasonal_naive"):
        return config, []

    try:
        L = fitted_window(panel, config)
    except ValueError as e:  # a series too short to split at all
        return None, [str(e)]
    data, span = config.data, sum(config.data.diff)
    short = sorted(panel, key=len)
    if L < 2:
        few = [x for x in short if len(x) == len(short[0])]
        who = (f"series {short[0].id!r}" + (f" and {len(few) - 1} more" if len(few) > 1 else "")
               if len(short) > 1 else "the series")
        return None, [f"{who}: {len(short[0])} steps hold no {MIN_TRAIN_WINDOWS} training"
                      f" windows of even 2 inputs, differencing {span} and horizon"
                      f" {data.horizon}" + ("; leave the shortest series out to train it on the"
                                            " others" if len(short) > 1 else "")]
    notes = []
    if L < config.model.input_len:
        every = len(short[0]) - span - data.horizon - 1
        why = (f"series {short[0].id!r} has only {len(short[0])} steps" if L == every else
               f"fewer than {MIN_TRAIN_WINDOWS} training windows are left on"
               f" {len(short[len(short) // 2])} steps")
        notes.append(f"warning: {panel.source}: input_len {config.model.input_len} for every"
                     f" series, but {why}; using {L}")
        config = dataclasses.replace(config, model=dataclasses.replace(config.model, input_len=L))
    need = L + span + data.horizon + MIN_TRAIN_WINDOWS - 1
    thin = [s for s in short if split_points(len(s), data.valid_frac, data.test_frac)[0] < need]
    if thin and len(thin) < len(short):
        more = f" and {len(thin) - 1} more hold" if len(thin) > 1 else " holds"
        notes.append(f"warning: {panel.source}: series {thin[0].id!r} ({len(thin[0])} steps)"
                     f"{more} fewer than {MIN_TRAIN_WINDOWS} training windows of input_len {L};"
                     " the model learns mostly from the longer series, and forecasts"
                     f" {'these' if len(thin) > 1 else 'it'} too")
    return config, notes


def without_young(panel, config) -> tuple:
    """``(panel, note)``: ``panel`` less the series that hold no window of even 2 inputs
    (``2 + differencing + horizon + 1`` steps), when others remain, and a warning naming
    them (``None`` when none is left out). They are forecast by a baseline until they grow
    (``young``); the others keep their model."""
    from ..data.io import Panel

    need = 2 + sum(config.data.diff) + config.data.horizon + 1
    young = [s for s in panel if len(s) < need]
    if not young or len(young) == len(panel):
        return panel, None
    more = f" and {len(young) - 1} more" if len(young) > 1 else ""
    note = (f"warning: {panel.source}: series {young[0].id!r} ({len(young[0])} steps){more} left"
            f" out of training: fewer than the {need} steps a window of 2 inputs, differencing"
            f" and horizon take; `seqcast forecast` gives {'them' if more else 'it'} a baseline's"
            " forecast until long enough for the model")
    kept = tuple(s for s in panel if len(s) >= need)
    return Panel(panel.source, panel.freq, kept), note


def fallback(panel, config, reason: str):
    """Naive or seasonal naive in place of ``config``'s model, which cannot be fitted on
    ``panel``: ``(Forecaster, History, metrics)`` with the one-line warning under
    ``metrics["warnings"]``; seasonal naive when every series holds a whole season."""
    import dataclasses

    from ..data.transforms import SeriesTransform
    from ..pipeline import Forecaster, build_forecaster_model, make_config, validation_scores
    from ..train import History

    data = config.data
    if data.intervals != "none" or config.model.quantiles or config.model.likelihood != "none":
        raise ValueError(f"{panel.source}: {config.model.name} cannot be fitted ({reason}),"
                         " and the baselines give no intervals; shorten --horizon or add data")
    season = data.season if data.season > 1 and min(len(s) for s in panel) > data.season else 1
    name = "seasonal_naive" if season > 1 else "naive"
    data = dataclasses.replace(data, diff=(), scale=False, season=data.season)
    base = make_config(name, data, season,
                       train={"seed": config.train.seed, "device": config.train.device})
    splits = {}
    for s in panel:
        try:
            splits[s.id] = split_points(len(s), data.valid_frac, data.test_frac)
        except ValueError:  # too short to split: no validation scores for this series
            splits[s.id] = (len(s), len(s))
    transforms = {s.id: SeriesTransform.fit(s.values[: splits[s.id][0]], (), False) for s in panel}
    forecaster = Forecaster(base, build_forecaster_model(base), transforms)
    note = (f"warning: {panel.source}: {config.model.name} cannot be fitted ({reason});"
            f" falling back to {name}")
    forecaster.info = {"fallback": name, "warnings": [note]}
    metrics = {**validation_scores(forecaster, panel, splits), "fallback": name,
               "warnings": [note]}
    return forecaster, History(), metrics
