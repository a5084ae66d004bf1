"""Reading covariate columns beside the target, and the model's covariates at an origin.

Past and future covariates are numeric columns checked like the target (gaps, missing and
non-finite values are errors naming the file, column and row); a static column must hold
one value per series. Future values over the horizon come from trailing rows whose targets
are empty, or from a separate file (``attach_future``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .calendar import calendar_features, extend_index
from .checks import regularise
from .covariates import Covariates, CovariateScaler, uses_covariates

KINDS = ("past", "future", "static")


def check_columns(columns: list[str], taken: tuple, covariates: tuple, source: str) -> None:
    """Every covariate column exists, is used once and is not the time, id or a target."""
    seen: dict[str, str] = {}
    for kind, cols in zip(KINDS, covariates, strict=True):
        for col in cols:
            if col not in columns or col in taken:
                valid = [c for c in columns if c not in taken]
                raise ValueError(
                    f"{source}: no {kind} covariate column {col!r}; valid: {', '.join(valid)}"
                )
            if col in seen:
                raise ValueError(f"{source}: column {col!r} is both a {seen[col]} and a {kind} covariate")
            seen[col] = kind


def future_rows(values: dict, targets, rows: np.ndarray) -> int:
    """Rows of a group that are history: all but the trailing rows with every target empty
    (dates not yet observed: they hold the future covariates, if any; filling them would
    invent history)."""
    present = np.zeros(len(rows), bool)
    for col in targets:
        present |= ~np.isnan(values[col][rows])
    return int(np.flatnonzero(present)[-1]) + 1 if present.any() else len(rows)


def group_covariates(values, frame, rows, n, index, step, source, time_col, covariates, fill):
    """Covariates of one group: ``rows`` (all its rows), the first ``n`` of them history.

    ``values`` maps numeric column -> (rows of the frame,) float64; ``index`` is the group's
    time index over all its rows.
    """
    past, future, static = covariates
    if not (past or future or static):
        return None
    hist, ahead = rows[:n], rows[n:]

    def history(col):
        return regularise(index[:n], step, values[col][hist], hist, source, time_col, col, fill)

    p = np.stack([history(c)[1] for c in past], axis=1) if past else None
    f = None
    if future:
        if len(ahead) and step is not None:
            grid_end = history(future[0])[0]
            expected = extend_index(grid_end, step, len(ahead))[len(grid_end):]
            bad = np.flatnonzero(index[n:] != expected)
            if len(bad):
                i = int(bad[0])
                raise ValueError(
                    f"{source}: column {time_col!r}, row {ahead[i] + 1}: future row at"
                    f" {index[n + i]}, expected {expected[i]} (future rows continue the series"
                    " without gaps)"
                )
        cols = []
        for col in future:
            later = values[col][ahead]
            missing = np.flatnonzero(np.isnan(later))
            if len(missing):
                raise ValueError(
                    f"{source}: column {col!r}, row {ahead[missing[0]] + 1}: missing future value"
                )
            cols.append(np.concatenate([history(col)[1], later]))
        f = np.stack(cols, axis=1)
    s = tuple(_static(frame[col], hist, source, col) for col in static) if static else None
    return Covariates(p, f, s)


def _static(column: pd.Series, rows: np.ndarray, source: str, col: str):
    """The one value of a static column within a series' rows (as text)."""
    text = column.iloc[rows].astype(str).str.strip().to_numpy()
    missing = np.flatnonzero(np.isin(np.char.lower(text.astype(str)), ("", "nan", "na", "null",
                                                                      "none")))
    if len(missing):
        raise ValueError(f"{source}: column {col!r}, row {rows[missing[0]] + 1}: missing static value")
    changed = np.flatnonzero(text != text[0])
    if len(changed):
        i = int(changed[0])
        raise ValueError(
            f"{source}: column {col!r}, row {rows[i] + 1}: static value {text[i]!r} differs from"
            f" {text[0]!r} earlier in the same series"
        )
    try:
        number = float(text[0])
    except ValueError:  # a category
        return str(text[0])
    if not np.isfinite(number):
        raise ValueError(f"{source}: column {col!r}, row {rows[0] + 1}: non-finite value {text[0]!r}")
    return str(text[0])


def model_covariates(series, freq, calendar: tuple[str, ...], origin: int, horizon: int,
                     source: str) -> Covariates | None:
    """The covariates a model reads to forecast ``horizon`` steps after ``origin`` past steps:
    past (origin, P), future (origin + horizon, F + 2 * calendar features), static."""
    cov = series.covariates
    if cov is None and not calendar:
        return None
    cov = cov or Covariates()
    future = None
    if cov.future is not None:
        need = origin + horizon
        if len(cov.future) < need:
            have = len(cov.future) - origin
            raise ValueError(
                f"{source}: series {series.id!r} has future covariate values for {have} of the"
                f" {horizon} horizon steps; add rows after the last target value or pass"
                " --future-data FILE"
            )
        future = cov.future[:need]
    if calendar:
        times = extend_index(series.index[:origin], freq, horizon)
        cal = calendar_features(times, calendar)
        future = cal if future is None else np.concatenate([future, cal], axis=1)
    past = None if cov.past is None else cov.past[:origin]
    return Covariates(past, future, cov.static)


def training_covariates(panel, data, splits: dict):
    """Each series' covariates over its whole length and a scaler fitted on the training
    parts (``splits[id][0]`` steps); ``({}, None)`` when ``data`` names no covariates."""
    if not uses_covariates(data):
        return {}, None
    covs = {s.id: model_covariates(s, panel.freq, data.calendar, len(s), 0, panel.source)
            for s in panel}
    return covs, CovariateScaler.fit(list(covs.values()), [splits[s.id][0] for s in panel])


def panel_covariates(panel, data, horizon: int) -> list[Covariates] | None:
    """Each series' covariates to forecast ``horizon`` steps past its end (future values
    for the trained horizon at least, which a direct model reads whole); ``None`` when
    ``data`` names none."""
    if not uses_covariates(data):
        return None
    need = horizon if data.strategy == "iterative" else max(horizon, data.horizon)
    return [model_covariates(s, panel.freq, data.calendar, len(s), need, panel.source)
            for s in panel]


def covers_horizon(panel, data) -> bool:
    """Whether every series has its future covariates over ``data.horizon`` steps."""
    return all(s.covariates is None or s.covariates.future is None
               or len(s.covariates.future) >= len(s) + data.horizon for s in panel)
