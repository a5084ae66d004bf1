"""The series a ``DataConfig`` names: a file (with its covariates), or a bundled dataset."""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import pandas as pd

from .calendar import extend_index
from .checks import numeric
from .columns import usual_id_col, usual_time_col
from .covariates import Covariates
from .datasets import REAL_DATASETS, load_dataset
from .io import Panel, Series, read_frame, read_series
from .times import order_keys, read_times


def load_panel(data) -> Panel:
    """Read ``data.path`` (CSV, Excel or Parquet) with its covariate columns and, when
    ``data.future_path`` is set, future covariates from that file; else the bundled
    ``data.dataset``."""
    covariates = (data.past_covariates, data.future_covariates, data.static_covariates)
    if data.path is None:
        if data.dataset not in REAL_DATASETS:  # a run fitted on a DataFrame or Panel
            raise ValueError("no data to read: the configuration names neither a file nor a"
                             f" bundled series (dataset {data.dataset!r}), as a run fitted on"
                             " a DataFrame in Python does; give --data FILE")
        if any(covariates) or data.future_path:
            raise ValueError(f"dataset {data.dataset}: bundled series have no covariate columns")
        return load_dataset(data.dataset)
    if data.future_path is not None and not data.future_covariates:
        raise ValueError(f"{data.future_path}: future data given but no --future-covariates")
    panel = read_series(data.path, data.time_col, data.targets, data.id_col, data.fill,
                        data.freq, covariates, data.sheet)
    if data.future_path is not None:
        frame = read_frame(data.future_path)
        panel = attach_future(panel, frame, str(data.future_path), data.time_col, data.id_col,
                              data.future_covariates)
    return panel


def as_panel(data, config) -> Panel:
    """``data`` itself when it is a ``Panel``; a data file's path (read as ``--data`` reads
    it); a DataFrame (long or wide, laid out as a data
    file would be, e.g. ``unique_id,ds,y``; timestamps may be its index) or a Series with
    timestamps as its index, validated into one with ``config``'s (a
    ``DataConfig``) column names, fill, frequency and covariate columns."""
    if isinstance(data, Panel):
        return data
    covariates = (config.past_covariates, config.future_covariates, config.static_covariates)
    if isinstance(data, (str, os.PathLike)):  # a data file, read as --data reads it
        return read_series(data, config.time_col, config.targets, config.id_col, config.fill,
                           config.freq, covariates, config.sheet)
    if isinstance(data, pd.Series):  # one series, its timestamps in the index
        data = data.to_frame(str(data.name) if data.name is not None else "value")
    if not isinstance(data, pd.DataFrame):
        raise TypeError("expected a Panel, a pandas DataFrame or Series, or a data file's"
                        f" path; got {type(data).__name__}")
    from .io import from_frame

    return from_frame(data, "<frame>", config.time_col, config.targets, config.id_col,
                      config.fill, config.freq, covariates)


def other_data(trained, given: dict) -> dict:
    """``given`` (DataConfig fields naming other data than a run's own) with the time column
    and frequency to be found in that data, unless given: the run's time column where the
    file has it, else one found as in any file; its steps, checked by ``check_steps``."""
    if "path" not in given and "dataset" not in given:
        return given
    from .csv_text import column_names

    own = trained.time_col if given.get("path") and trained.time_col in column_names(
        given["path"], given.get("sheet")) else None
    return {"time_col": own, "freq": None, "sheet": None, **given}


def check_steps(panel: Panel, trained, run) -> None:
    """Raise unless ``panel``'s steps are those the run was trained on (``trained.freq``,
    recorded when it was trained from a file)."""
    if trained.freq and panel.freq and panel.freq != trained.freq:
        raise ValueError(f"{panel.source}: its timestamps are {panel.freq} apart, but {run} was"
                         f" trained on {trained.freq} data")


def attach_future(panel, frame: pd.DataFrame, source: str, time_col, id_col, future):
    """``panel`` with future covariates over the horizon taken from ``frame`` (a file given
    by ``--future-data``): its rows after each series' last step, which must continue the
    series without gaps. Rows at or before the last step are ignored."""
    if panel.freq is None:
        raise ValueError(f"{source}: future covariates from a file need timestamps in the data")
    columns = [str(c) for c in frame.columns]
    frame.columns = columns
    time_col = time_col if time_col in columns else usual_time_col(frame, source)
    if id_col is None and len(panel) > 1:  # the data's id column was found by its name
        id_col = usual_id_col(frame, time_col, future)
    for what, col in (("time", time_col), ("id", id_col), *(("future covariate", c) for c in future)):
        if col is None and what == "id":
            continue
        if col not in columns:
            raise ValueError(f"{source}: no {what} column {col!r}; columns: {', '.join(columns)}")
    times = read_times(frame[time_col], source, time_col)
    index = panel.series[0].index
    if _time_kind(times) != _time_kind(index):
        raise ValueError(f"{source}: column {time_col!r} holds {_time_kind(times)}, but the"
                         f" data's times are {_time_kind(index)} (its last:"
                         f" {index[-1].isoformat() if hasattr(index[-1], 'isoformat') else index[-1]});"
                         " write them alike")
    values = {c: numeric(frame[c], source, c) for c in future}
    keys = frame[id_col].astype(str).to_numpy() if id_col else None
    out = []
    for s in panel:
        key = s.id if keys is None or s.id in set(keys) else s.id.rsplit("/", 1)[0]
        rows = np.arange(len(frame)) if keys is None else np.flatnonzero(keys == key)
        rows = rows[np.asarray(times[rows] > s.index[-1])]
        rows = rows[np.argsort(order_keys(times[rows]), kind="stable")]  # rows in any order
        expected = extend_index(s.index, panel.freq, len(rows))[len(s) :]
        bad = np.flatnonzero(times[rows] != expected)
        if len(bad):
            i = int(bad[0])
            raise ValueError(f"{source}: column {time_col!r}, row {rows[i] + 1}: time"
                             f" {times[rows[i]]}, expected {expected[i]} for series {s.id!r}")
        later = np.stack([values[c][rows] for c in future], axis=1)
        nan = np.argwhere(np.isnan(later))
        if len(nan):
            r, c = nan[0]
            raise ValueError(f"{source}: column {future[c]!r}, row {rows[r] + 1}: missing future value")
        cov = s.covariates
        out.append(Series(s.id, s.index, s.values, Covariates(
            cov.past, np.concatenate([cov.future[: len(s)], later]), cov.static)))
    return dataclasses.replace(panel, series=tuple(out))


def _time_kind(times) -> str:
    """How a column of times is written: step numbers, or timestamps with or without UTC
    offsets (read as UTC, or as written); one kind cannot be compared with another."""
    if isinstance(times.dtype, pd.DatetimeTZDtype):
        return "times with UTC offsets"
    return ("times without UTC offsets" if pd.api.types.is_datetime64_dtype(times.dtype)
            else "step numbers")
