"""CSV and Parquet readers: the only place that parses user files.

A file holds a time column, one or more value columns and, in long format, an id column.
Every (id, value column) pair becomes one univariate ``Series``. Problems are reported, not
guessed away: duplicate or unsorted timestamps, gaps, missing or non-numeric values each
raise a one-line ``ValueError`` naming the file, the column and the 1-based data row (for a
CSV file, row N is line N + 1). ``fill`` opts in to filling gaps and missing values;
infinite values are errors even then. Covariate columns are read by ``covariate_io``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import FILLS
from .checks import numeric as _numeric
from .checks import regularise as _regularise
from .columns import ID_NAMES, TIME_NAMES, id_candidates, usual_id_col, usual_time_col, whole_years  # noqa: F401
from .covariate_io import check_columns, future_rows, group_covariates
from .covariates import Covariates
from .csv_text import read_frame  # noqa: F401  (the file reader: CSV, Excel or Parquet)
from .excel import sheet_names
from .times import order_keys, read_times, series_index


@dataclass(frozen=True)
class Series:
    """One univariate series: ``values`` (T,) float64 at ``index`` (DatetimeIndex or RangeIndex)."""

    id: str
    index: pd.Index
    values: np.ndarray
    covariates: Covariates | None = None  # past (T, P), future (T + K, F), static (S,)

    def __len__(self) -> int:
        return len(self.values)


@dataclass(frozen=True)
class Panel:
    """Series read from one source, sharing a frequency (``None`` for a plain integer index);
    ``id_col``: the column that named them, where one did (given or found); ``time_col`` and
    ``targets``: the time and value columns read (given or found)."""

    source: str
    freq: str | None
    series: tuple[Series, ...]
    id_col: str | None = None
    time_col: str | None = None
    targets: tuple[str, ...] = ()

    def __iter__(self):
        return iter(self.series)

    def __len__(self) -> int:
        return len(self.series)

    def by_id(self) -> dict[str, Series]:
        return {s.id: s for s in self.series}


def read_series(
    path: str | Path,
    time_col: str | None = None,
    targets: list[str] | tuple[str, ...] | None = None,
    id_col: str | None = None,
    fill: str | None = None,
    freq: str | None = None,
    covariates: tuple[tuple[str, ...], ...] = ((), (), ()),
    sheet: str | None = None,
) -> Panel:
    """Read a CSV, Excel or Parquet file into a validated ``Panel``.

    Args:
        time_col: timestamp column; by default one found as ``seqcast.data.columns`` says,
            else rows are numbered 0, 1, 2, ...
        targets: value columns (default: every column but the time and id columns).
        id_col: series id column for many series in long format (by default, where
            timestamps repeat, one found as ``seqcast.data.columns`` says).
        fill: ``None`` (problems are errors), "ffill", "interpolate" or "zero": insert the
            missing timestamps of gaps and fill them and missing values this way.
        freq: pandas frequency ("MS", "D", ...) when it cannot be inferred.
        covariates: (past, future, static) column names; trailing rows with every target
            empty hold future covariate values over the horizon.
        sheet: the sheet of an Excel workbook (default: its first).

    Example:
        >>> panel = read_series("sales.csv", time_col="date", targets=["units"], id_col="store")
    """
    frame = read_frame(path, sheet)
    try:
        return from_frame(frame, str(path), time_col, targets, id_col, fill, freq, covariates)
    except ValueError as exc:
        names = sheet_names(path) if sheet is None else []
        if len(names) < 2:
            raise
        raise ValueError(f"{exc} (in the first sheet, {names[0]!r}; sheets:"
                         f" {', '.join(names)}; --sheet NAME reads another)") from None


def from_frame(
    frame: pd.DataFrame,
    source: str = "<frame>",
    time_col: str | None = None,
    targets: list[str] | tuple[str, ...] | None = None,
    id_col: str | None = None,
    fill: str | None = None,
    freq: str | None = None,
    covariates: tuple[tuple[str, ...], ...] = ((), (), ()),
) -> Panel:
    """Validate a DataFrame as ``read_series`` does (``source`` names it in errors).

    A frame named as the peers name it (``unique_id``, ``ds``, ``y``) needs no column flags;
    otherwise the time and id columns not given are found as ``columns`` says.
    """
    if fill is not None and fill not in FILLS:
        raise ValueError(f"unknown fill {fill!r}; valid: {', '.join(FILLS)}")
    frame = _index_as_columns(frame)
    columns = [str(c) for c in frame.columns]
    frame.columns = columns
    if time_col is None:
        time_col = usual_time_col(frame, source)
    if id_col is None and "unique_id" in columns and time_col == "ds":
        id_col = "unique_id"
    if targets is not None:  # "a,b" names two columns, as the covariate flags take them
        targets = [part.strip() for t in targets for part in (
            [t] if t in columns or "," not in t else str(t).split(","))]
    taken = [*(targets or ()), *(c for kind in covariates for c in kind)]
    id_col = id_col if id_col is not None else usual_id_col(frame, time_col, taken)
    for name, col in (("time", time_col), ("id", id_col)):
        if col is not None and col not in columns:
            raise ValueError(f"{source}: no {name} column {col!r}; columns: {', '.join(columns)}")
    covariates = tuple(tuple(c) for c in covariates)
    used = {time_col, id_col, *(c for kind in covariates for c in kind)}
    if targets is None and id_col == "unique_id" and "y" in columns:
        targets = ["y"]
    targets_given = targets is not None
    if targets is None:  # every other column, but row numbers left by reset_index()
        targets = [c for c in columns if c not in used
                   and not (time_col is not None and _row_numbers(c, frame[c]))]
    for col in targets:
        if col not in columns or col in used:
            valid = [c for c in columns if c not in used]
            raise ValueError(f"{source}: no value column {col!r}; valid: {', '.join(valid)}")
    check_columns(columns, (time_col, id_col, *targets), covariates, source)
    if not targets:
        raise ValueError(f"{source}: no value columns")
    if len(frame) == 0:
        raise ValueError(f"{source}: no rows")

    times = read_times(frame[time_col], source, time_col) if time_col is not None else None
    if times is not None and id_col is None:  # before the values: an id column read as one
        _unique(times, np.argsort(order_keys(times), kind="stable"), source, time_col,
                lambda: id_candidates(frame, time_col, taken))
    numbers = [*targets, *covariates[0], *covariates[1]]
    try:
        values = {col: _numeric(frame[col], source, col) for col in numbers}
    except ValueError as exc:  # a text column read as a series because none was named
        if targets_given or len(targets) < 2:  # named, or the only column: no choice to make
            raise
        raise ValueError(f"{exc} (every column but the time and id columns is read as a"
                         " series: name the value columns with --target, targets= in"
                         " Python)") from None
    groups = [("", np.arange(len(frame)))]
    if id_col is not None:
        missing = frame[id_col].isna().to_numpy() | (frame[id_col].astype(str).str.strip() == "")
        if missing.any():
            raise ValueError(f"{source}: column {id_col!r}, row"
                             f" {int(np.flatnonzero(missing)[0]) + 1}: no series id")
        ids = frame[id_col].astype(str)
        groups = [(str(k), np.asarray(v)) for k, v in ids.groupby(ids, sort=False).indices.items()]

    series, freqs = [], set()
    short = freq  # a series of 1 or 2 rows takes the frequency of the longest one
    if freq is None and times is not None and 0 < min(len(r) for _, r in groups) < 3:
        rows = max(groups, key=lambda g: len(g[1]))[1]
        if len(rows) >= 3:
            rows = rows[np.argsort(order_keys(times[rows]), kind="stable")]
            short = series_index(times, rows, source, time_col, None)[1]
    for key, all_rows in groups:
        if times is not None:  # rows in any order (newest first, shuffled): each series by time
            all_rows = all_rows[np.argsort(order_keys(times[all_rows]), kind="stable")]
            if id_col is not None:  # one series was checked above, before its values
                _unique(times, all_rows, source, time_col)
        index, step = series_index(times, all_rows, source, time_col,
                                   short if len(all_rows) < 3 else freq)
        if step is not None:
            freqs.add(step)
        # Trailing rows with every target empty carry future covariates over the horizon.
        n = future_rows(values, targets, all_rows)
        rows = all_rows[:n]
        cov = group_covariates(
            values, frame, all_rows, n, index, step, source, time_col, covariates, fill
        )
        index = index[:n]
        for col in targets:
            name = col if id_col is None else (key if len(targets) == 1 else f"{key}/{col}")
            index_c, v = _regularise(
                index, step, values[col][rows], rows, source, time_col, col, fill
            )
            series.append(Series(name, index_c, v, cov))
    if len(freqs) > 1:
        raise ValueError(f"{source}: series have different frequencies: {', '.join(sorted(freqs))}")
    return Panel(source, freqs.pop() if freqs else None, tuple(series), id_col, time_col,
                 tuple(targets))


def _index_as_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Timestamps or names kept in the index (``index_col=0, parse_dates=True``; a
    ``(unique_id, ds)`` MultiIndex) become columns; row numbers are dropped."""
    index = frame.index
    if isinstance(index, pd.PeriodIndex):
        frame = frame.set_axis(index.to_timestamp(), axis=0)
    keep = isinstance(frame.index, (pd.DatetimeIndex, pd.MultiIndex)) or index.name is not None
    if keep:
        names = [n if n is not None else ("time" if isinstance(frame.index, pd.DatetimeIndex)
                                          else f"level_{i}") for i, n in enumerate(frame.index.names)]
        frame = frame.set_axis(frame.index.set_names(names), axis=0)
    return frame.reset_index(drop=not keep)


def _row_numbers(name: str, column: pd.Series) -> bool:
    """A column named ``index``, ``level_0`` or ``Unnamed: 0`` holding 0..n-1 in any order:
    the row numbers ``reset_index()`` or ``to_csv`` wrote, not a series."""
    if name not in ("index", "level_0") and not name.startswith("Unnamed: 0"):
        return False
    v = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64)
    return bool(np.array_equal(np.sort(v), np.arange(len(v))))


def check_length(panel: Panel, min_len: int, what: str) -> None:
    """Raise if a series is shorter than ``min_len`` steps (``what`` says why they are needed)."""
    for s in panel:
        if len(s) < min_len:
            raise ValueError(
                f"{panel.source}: series {s.id!r} has {len(s)} rows (last row {len(s)}), "
                f"too short for {what} = {min_len}"
            )


def check_positive(panel: Panel) -> None:
    """Raise at the first value a log transform cannot take, naming its series and row."""
    for s in panel:
        bad = np.flatnonzero(~(s.values > 0))
        if len(bad):
            i = int(bad[0])
            raise ValueError(
                f"{panel.source}: series {s.id!r} has {s.values[i]:g} at row {i + 1}"
                f" ({s.index[i]}); --log needs values > 0 (drop --log, or shift the series)"
            )


def _unique(times, rows: np.ndarray, source: str, col: str | None, single=None):
    """Raise at the first repeated timestamp among ``rows`` in time order (``single``: the
    file is read as one series, which the message says, naming the columns that call gives,
    made only then, that could be the series id)."""
    t = times[rows]
    dup = t.duplicated()
    if dup.any():
        single = single() if callable(single) else single
        i = int(np.flatnonzero(dup)[0])
        first = int(np.flatnonzero(t == t[i])[0])
        step = np.median(np.diff(order_keys(t.unique()))) if len(t.unique()) > 1 else 0
        # an hour of local time that repeats once a year
        clock = (isinstance(t, pd.DatetimeIndex) and 0 < step < 86_400 * 10**9
                 and dup.sum() <= max(1, len(t) // 1000) and t[i].hour < 4)
        raise ValueError(
            f"{source}: column {col!r}, row {rows[i] + 1}: duplicate timestamp {t[i]}"
            f" (first seen at row {rows[first] + 1})"
            + ("; local clock time repeats an hour when summer time ends: write the times with"
               " their UTC offset (e.g. 2021-10-31T02:00+01:00) or in UTC" if clock else
               "; many series in one file? name their id column (--id-col; id_col= in Python)"
               if single is not None else "")
            + (f", perhaps {' or '.join(map(repr, single))}" if single and not clock else "")
        )


def __getattr__(name: str):
    # ``load_panel`` lives in ``data.load`` (it reads bundled datasets too); kept importable
    # from here, resolved on use so that this module imports nothing above it.
    if name == "load_panel":
        from .load import load_panel

        return load_panel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
