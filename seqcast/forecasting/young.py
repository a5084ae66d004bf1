"""Series too short for a run's input window (a product a few weeks old in a panel of years
of sales): forecast by a baseline until they are long enough, instead of refusing the panel.

A run forecasts a series from its last ``min_history`` steps (one more for a series it was
not trained on, whose scaling is fitted on its own history: ``coldstart``). A series with
fewer gets seasonal naive where it holds more than a season, else naive, with the
baselines' usual normal intervals (``baselines.naive_std``, ``seasonal_naive_std``: sigma
from the series' own one-step or one-season changes, widening with the horizon) and sample
paths drawn from them. Fewer than two such changes give no spread to measure: the bounds
are left empty (NaN). ``seqcast forecast`` says which series were forecast this way.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ..data.io import Panel
from ..models.baselines import naive_forecast, seasonal_naive_forecast
from .baselines import naive_std, seasonal_naive_std


def split_young(forecaster, panel: Panel) -> tuple[Panel, Panel, Panel]:
    """``(ready, young, strangers)``: the series ``forecaster`` can forecast, those too short
    for it, and, for a model that reads covariates (scaled and embedded for its own series
    only), the series it was not trained on."""
    from .coldstart import known_ids

    known, covs = known_ids(forecaster), getattr(forecaster, "covariate_scaler", None)
    strangers = {s.id for s in panel if covs is not None and s.id not in known}
    young = {s.id for s in panel if s.id not in strangers
             and len(s) < forecaster.min_history + (s.id not in known)}

    def part(keep):
        return Panel(panel.source, panel.freq, tuple(s for s in panel if keep(s.id)))

    return (part(lambda i: i not in young | strangers), part(young.__contains__),
            part(strangers.__contains__))


def forecast_all(forecaster, panel: Panel, horizon: int | None, levels=(), samples=None,
                 run="the run") -> tuple:
    """``(written, plotted, notes)``: every series of ``panel`` forecast, in its order: by
    ``forecaster`` (a series it was not trained on from its own history), or, where too
    short for it, by a baseline; with ``samples`` the written frame holds sample paths and
    the plotted one point forecasts. ``notes``: one line for each of the two cases."""
    from .coldstart import known_ids, with_series

    horizon = forecaster.config.data.horizon if horizon is None else horizon
    season, notes = forecaster.config.data.season, []
    ready, young, strangers = split_young(forecaster, panel)
    new = [s.id for s in ready if s.id not in known_ids(forecaster)]
    if new:  # a global model forecasts a series it was not trained on from its own history
        forecaster = with_series(forecaster, ready)
        more = f" and {len(new) - 1} more" if len(new) > 1 else ""
        notes.append(f"note: series {new[0]!r}{more} not in {run}'s training data: forecast"
                     " from their own history (scaled on it; classical members fitted on it)")
    if young:
        notes.append(young_note(young, forecaster, run))
    if strangers:
        s, more = strangers.series[0], f" and {len(strangers) - 1} more" if len(strangers) > 1 else ""
        notes.append(f"warning: series {s.id!r} ({len(s)} steps){more} not in {run}'s training"
                     " data, and the run reads covariates scaled for its own series only:"
                     " forecast by a baseline (retrain with it for the model's forecast)")
        young = Panel(panel.source, panel.freq, (*young, *strangers))
    written, shown = [], []
    if ready and samples:
        from .intervals import samples_frame

        written.append(samples_frame(forecaster, ready, horizon, samples))
        shown.append(forecaster.forecast(ready, horizon))
    elif ready:
        written.append(forecaster.forecast(ready, horizon, levels=tuple(levels)))
        shown.append(written[-1])
    if young and samples:
        written.append(young_samples(young, season, horizon, samples))
        shown.append(young_frame(young, season, horizon))
    elif young:
        written.append(young_frame(young, season, horizon, tuple(levels)))
        shown.append(written[-1])
    return (*(in_panel_order(pd.concat(f, ignore_index=True), panel) for f in (written, shown)),
            notes)


def young_note(young: Panel, forecaster, run) -> str:
    """One line naming the series forecast by a baseline, and what they would need."""
    s = young.series[0]
    more = f" and {len(young) - 1} more" if len(young) > 1 else ""
    how = ("seasonal naive (naive within the first season)"
           if forecaster.config.data.season > 1 else "naive")
    return (f"warning: series {s.id!r} ({len(s)} steps){more} shorter than {run}'s input window"
            f" + differencing ({forecaster.min_history} steps, one more for a series it was not"
            f" trained on): forecast by {how}, with intervals from the series' own changes")


def _baseline(values: np.ndarray, season: int, horizon: int):
    """Point forecast (H,) and the standard deviation (H,) of its error (NaN from fewer than
    two changes)."""
    if season > 1 and len(values) > season:
        point = seasonal_naive_forecast(values, season, horizon)
        std = seasonal_naive_std(values, season, horizon)
        changes = len(values) - season
    else:
        point = naive_forecast(values, horizon)
        std = naive_std(values, horizon) if len(values) > 1 else np.zeros(horizon)
        changes = len(values) - 1
    return np.asarray(point, dtype=np.float64), std if changes >= 2 else np.full(horizon, np.nan)


def young_frame(young: Panel, season: int, horizon: int, levels=()) -> pd.DataFrame:
    """``id,time,forecast`` plus ``lo-L,hi-L`` per level (percent) for every young series."""
    from ..pipeline import future_index

    frames = []
    for s in young:
        point, std = _baseline(s.values, season, horizon)
        cols = {"id": s.id, "time": future_index(s.index, young.freq, horizon), "forecast": point}
        for level in levels:
            z = stats.norm.ppf(0.5 + level / 200)
            cols[f"lo-{level:g}"], cols[f"hi-{level:g}"] = point - z * std, point + z * std
        frames.append(pd.DataFrame(cols))
    return pd.concat(frames, ignore_index=True)


def young_samples(young: Panel, season: int, horizon: int, samples: int, seed: int = 0
                  ) -> pd.DataFrame:
    """``id,time,sample,value``: ``samples`` paths per young series, each step drawn from
    the baseline's normal error (the point forecast itself where no spread is known)."""
    from ..pipeline import future_index

    rng = np.random.default_rng(seed)
    frames = []
    for s in young:
        point, std = _baseline(s.values, season, horizon)
        paths = point + np.nan_to_num(std) * rng.standard_normal((samples, horizon))
        frames.append(pd.DataFrame({
            "id": s.id, "time": np.tile(future_index(s.index, young.freq, horizon), samples),
            "sample": np.repeat(np.arange(samples), horizon), "value": paths.ravel()}))
    return pd.concat(frames, ignore_index=True)


def in_panel_order(frame: pd.DataFrame, panel: Panel) -> pd.DataFrame:
    """``frame``'s rows grouped by series in ``panel``'s order, each series' rows as they were."""
    rank = {s.id: k for k, s in enumerate(panel)}
    order = np.argsort(frame["id"].map(rank).to_numpy(), kind="stable")
    return frame.iloc[order].reset_index(drop=True)
