"""Time columns read into timestamps or step numbers, and the steps between them.

``read_times`` takes a column as people write it: dates and times in any format pandas reads
(numeric dates day first or month first as the whole column says, ``csv_text``), years as
whole numbers, whole-column period labels pandas does not read or misreads (``2020M01``,
``2020-W05``, the integer ``202001``, Excel's ``Jan-20`` for January 2020, the integer
``20200101``: each label the first day of its period, an ISO week its Monday), and other
whole numbers as step numbers (a ``time_idx`` column: series without a calendar, whose
missing numbers are gaps as missing dates are).
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

# (pattern every cell matches, how to read the matched parts into a date string, format)
FORMATS = (
    (r"^(\d{4})-?M(\d{2})$", r"\1-\2-01", "%Y-%m-%d"),   # 2020M01, 2020-M01
    (r"^(\d{4})(\d{2})$", r"\1-\2-01", "%Y-%m-%d"),       # 202001
    (r"^(\d{4})-?W(\d{2})$", r"\1-W\2-1", "%G-W%V-%u"),   # 2020-W05, 2020W05 (ISO weeks)
    (r"^([A-Za-z]{3})[-\s](\d{2})$", r"01-\1-\2", "%d-%b-%y"),  # Jan-20 (Excel's mmm-yy)
)


def period_times(column: pd.Series) -> pd.Series | None:
    """The column's labels as timestamps when every non-empty cell is a label of one of
    ``FORMATS`` (a number column: six-digit whole numbers, ``YYYYMM``), else None."""
    cells = column.dropna()
    if len(cells) == 0:
        return None
    if pd.api.types.is_numeric_dtype(cells) and not pd.api.types.is_bool_dtype(cells):
        v = cells.to_numpy(dtype=np.float64)
        if not np.all((v == np.round(v)) & (v >= 100001) & (v <= 299912)):
            return None
        text = column.map(lambda x: f"{int(x)}" if pd.notna(x) else x)
    elif pd.api.types.is_object_dtype(cells) or pd.api.types.is_string_dtype(cells):
        text = column.astype("string").str.strip()
    else:
        return None
    for pattern, parts, fmt in FORMATS:
        if text.dropna().str.fullmatch(pattern).all():
            labels = text.str.replace(pattern, parts, regex=True)
            parsed = pd.to_datetime(labels, format=fmt, errors="coerce")
            if parsed[column.notna()].notna().all():
                return parsed
            return None  # the shape of a label, not a valid one (month 13): not these
    return None


def read_times(column: pd.Series, source: str, col: str) -> pd.Index:
    """The column as a ``DatetimeIndex``, or as an integer ``Index`` of step numbers; raises
    naming the first cell that is neither."""
    from .columns import whole_years
    from .csv_text import day_or_month_first, local_or_utc

    labels = period_times(column)  # 2020M01, 2020-W05, 202001, Jan-20
    if labels is not None:
        return pd.DatetimeIndex(labels)
    numbers = whole_numbers(column)
    if numbers is not None:
        if whole_years(numbers):  # years as numbers
            column = pd.Series(numbers.astype(np.int64).astype(str))
        else:
            dates = _yyyymmdd(numbers)
            if dates is not None:
                return pd.DatetimeIndex(dates)
            return pd.Index(numbers.astype(np.int64))  # step numbers
    elif pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        v = column.to_numpy(dtype=np.float64)  # never nanoseconds since 1970
        row = int(np.flatnonzero(~np.isfinite(v) | (v != np.round(v)))[0])
        raise ValueError(f"{source}: column {col!r}, row {row + 1}: {column.iloc[row]} is"
                         " neither a time nor a whole step number")
    elif not pd.api.types.is_datetime64_any_dtype(column):
        ordered = day_or_month_first(column)  # 01/02/2020: which comes first, the day?
        if ordered is not None:
            return pd.DatetimeIndex(ordered)
    with warnings.catch_warnings():  # mixed formats: each cell is parsed alone, which is fine
        warnings.simplefilter("ignore", UserWarning)
        try:
            parsed = pd.to_datetime(column, errors="coerce")
        except ValueError:  # offsets that change (summer time): one clock for every row
            parsed = local_or_utc(column)
    bad = parsed.isna().to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{source}: column {col!r}, row {row + 1}: cannot parse time {column.iloc[row]!r}"
        )
    return pd.DatetimeIndex(parsed)


def is_steps(times) -> bool:
    """Whether ``times`` (from ``read_times``) are step numbers rather than timestamps."""
    return times is not None and not isinstance(times, pd.DatetimeIndex)


def order_keys(times: pd.Index) -> np.ndarray:
    """int64 keys that sort ``times`` (nanoseconds, or the step numbers themselves)."""
    return times.asi8 if isinstance(times, pd.DatetimeIndex) else np.asarray(times, np.int64)


def whole_numbers(column: pd.Series) -> np.ndarray | None:
    """The cells as float64 when every one is a whole number (numbers or text), else None."""
    if pd.api.types.is_bool_dtype(column) or pd.api.types.is_datetime64_any_dtype(column):
        return None
    if pd.api.types.is_numeric_dtype(column):
        v = column.to_numpy(dtype=np.float64)
    else:
        text = column.astype("string").str.strip()
        if not text.str.fullmatch(r"[+-]?\d+").fillna(False).all():
            return None
        v = pd.to_numeric(text).to_numpy(dtype=np.float64)
    ok = len(v) > 0 and np.isfinite(v).all() and (v == np.round(v)).all()
    return v if ok else None


def _yyyymmdd(v: np.ndarray) -> pd.Series | None:
    """Whole numbers that are all valid dates written YYYYMMDD (20200131), else None."""
    if not ((v >= 10000101) & (v <= 29991231)).all():
        return None
    parsed = pd.to_datetime(pd.Series(v.astype(np.int64).astype(str)), format="%Y%m%d",
                            errors="coerce")
    return parsed if parsed.notna().all() else None


def series_index(times, rows: np.ndarray, source: str, col: str | None, freq: str | None):
    """The series' index and frequency from its rows in time order, each timestamp once
    (step numbers: the numbers, and no frequency)."""
    if times is None:
        return pd.RangeIndex(len(rows)), None
    t = times[rows]
    if is_steps(t):
        return pd.Index(t), None
    if len(t) < 3 and freq is None:
        raise ValueError(f"{source}: column {col!r}: need at least 3 rows to infer a frequency")
    freq = current_alias(freq) or infer_freq(t)
    if freq is None:
        raise ValueError(f"{source}: column {col!r}: cannot infer a regular frequency; pass freq")
    try:
        return pd.DatetimeIndex(t), to_offset(freq).freqstr
    except ValueError:
        raise ValueError(
            f"unknown frequency {freq!r}; use a pandas alias such as D, W, MS, QS, YS, h"
        ) from None


# Frequency aliases pandas 3 no longer takes (older documentation and code use them), and
# the ones that replaced them.
OLD_ALIASES = {"M": "ME", "Q": "QE", "A": "YE", "Y": "YE", "BM": "BME", "BQ": "BQE",
               "BA": "BYE", "BY": "BYE", "AS": "YS", "BAS": "BYS", "H": "h", "BH": "bh",
               "T": "min", "S": "s", "L": "ms", "U": "us", "N": "ns"}


def current_alias(freq: str | None) -> str | None:
    """``freq`` with an alias pandas 3 removed replaced (``15T`` -> ``15min``, ``Q-DEC`` ->
    ``QE-DEC``); others as given."""
    if not freq:
        return freq
    match = re.fullmatch(r"(\d*)([A-Za-z]+)(-\w+)?", freq.strip())
    if match is None or match.group(2) not in OLD_ALIASES:
        return freq
    return f"{match.group(1)}{OLD_ALIASES[match.group(2)]}{match.group(3) or ''}"


def infer_freq(t: pd.DatetimeIndex) -> str | None:
    """The frequency most runs of 3 consecutive timestamps agree on (so gaps do not hide it);
    days that are never a Saturday or Sunday over a week or more are business days ("B":
    a holiday is then a gap, and forecasts skip weekends)."""
    votes: dict[str, int] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas 3 announces a change of return type
        for i in range(0, len(t) - 2, max(len(t) // 100, 1)):
            f = pd.infer_freq(t[i : i + 3])
            if f is not None:
                f = to_offset(f).freqstr
                votes[f] = votes.get(f, 0) + 1
    best = max(votes, key=votes.get) if votes else None
    if best == "D" and t[-1] - t[0] >= pd.Timedelta(days=7) \
            and (pd.DatetimeIndex(t).day_of_week < 5).all():
        return "B"
    return best
