"""Which columns of a frame are its timestamps and its series id, when nobody said.

The rules, in order, never guess a number column as time (a value series could look like
anything) and never make a choice that two columns could claim:

- time: a column named as in ``TIME_NAMES``; else the one column stored as timestamps
  (Parquet's datetime columns; two or more is an error asking for ``--time-col``); else a
  column named as in ``STEP_NAMES`` holding whole numbers (step numbers); else a
  column named as in ``PERIOD_NAMES`` whose cells all read as times (years as integers
  included); else the first column, when it is text and every cell reads as a time.
- id (only when timestamps repeat, i.e. many series in long format): the one column named
  as in ``ID_NAMES``; else the one text column left (not time, not a covariate).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

TIME_NAMES = ("time", "date", "timestamp", "datetime", "ds")
PERIOD_NAMES = ("month", "week", "year", "quarter", "day", "hour", "minute", "period",
                "date_time", "time_stamp", "dates", "times")
ID_NAMES = ("id", "unique_id", "series", "series_id", "item_id")
STEP_NAMES = ("time_idx", "time_index", "timestep", "time_step", "step", "t")  # whole numbers


def usual_time_col(frame: pd.DataFrame, source: str) -> str | None:
    """The frame's time column by the rules above, or None (the rows are the steps)."""
    columns = [str(c) for c in frame.columns]
    named = next((c for c in columns if c.lower() in TIME_NAMES), None)
    if named is not None:
        return named
    stamped = [c for c in columns if pd.api.types.is_datetime64_any_dtype(frame[c])]
    if len(stamped) > 1:
        raise ValueError(f"{source}: columns {', '.join(map(repr, stamped))} all hold"
                         " timestamps; say which is the time (--time-col; time_col= in Python)")
    if stamped:
        return stamped[0]
    for c in columns:  # step numbers: 0, 1, 2, ... (a time_idx)
        if c.lower() in STEP_NAMES and _steps(frame[c]):
            return c
    for c in columns:
        if c.lower() in PERIOD_NAMES and _all_times(frame[c], years=c.lower() == "year"):
            return c
    if columns and _is_text(frame[columns[0]]) and _all_times(frame[columns[0]]):
        return columns[0]
    return None


def usual_id_col(frame: pd.DataFrame, time_col: str | None, taken=()) -> str | None:
    """The series id column when the timestamps repeat (many series in long format), by the
    rules above, else None. ``taken``: columns already given another role."""
    if time_col not in frame.columns or not frame[time_col].duplicated().any():
        return None
    columns = [c for c in map(str, frame.columns) if c != time_col and c not in set(taken)]
    named = [c for c in columns if c.lower() in ID_NAMES]
    if named:
        return named[0] if len(named) == 1 else None
    text = [c for c in columns if _is_text(frame[c])]
    return text[0] if len(text) == 1 else None


def id_candidates(frame: pd.DataFrame, time_col: str | None, taken=()) -> list[str]:
    """Columns that could name the series of a file whose timestamps repeat: text columns
    and whole-number columns with few distinct values (at most a tenth of the rows)."""
    out = []
    for c in map(str, frame.columns):
        if c == time_col or c in set(taken):
            continue
        col = frame[c]
        if _is_text(col):
            out.append(c)
            continue
        v = pd.to_numeric(col, errors="coerce")
        if v.notna().all() and (v == v.round()).all() and v.nunique() <= max(1, len(v) // 10):
            out.append(c)
    return out[:3]


def _is_text(column: pd.Series) -> bool:
    """Text cells, none of them a number."""
    if not (pd.api.types.is_object_dtype(column) or pd.api.types.is_string_dtype(column)):
        return False
    cells = column.dropna().astype(str).str.strip()
    cells = cells[cells != ""]
    return len(cells) > 0 and pd.to_numeric(cells, errors="coerce").isna().all()


def _steps(column: pd.Series) -> bool:
    from .times import whole_numbers

    return whole_numbers(column.dropna()) is not None and column.notna().all()


def whole_years(v: np.ndarray) -> bool:
    """Every value a whole number from 1000 to 2999: years written as numbers."""
    return bool(np.all((v == np.round(v)) & (v >= 1000) & (v < 3000)))


def _all_times(column: pd.Series, years: bool = False) -> bool:
    """Every non-empty cell reads as a time: text dates or period labels
    (``seqcast.data.periods``), or (``years``) whole numbers 1000-2999."""
    cells = column.dropna()
    if len(cells) == 0:
        return False
    from .times import period_times

    if pd.api.types.is_numeric_dtype(cells):  # YYYYMM
        v = cells.to_numpy(dtype=np.float64)
        return whole_years(v) if years else period_times(cells) is not None
    if not _is_text(cells):
        return period_times(cells) is not None  # 202001 read as text
    from .csv_text import day_or_month_first

    # 2020M01, Jan-20; 13/01/2020, of which pandas alone may read one order
    if period_times(cells) is not None or day_or_month_first(cells) is not None:
        return True
    with warnings.catch_warnings():  # mixed formats are parsed cell by cell, which is fine
        warnings.simplefilter("ignore", UserWarning)
        try:
            return bool(pd.to_datetime(cells.astype(str), errors="coerce").notna().all())
        except (ValueError, TypeError, OverflowError):  # offsets that change: still times
            return True
