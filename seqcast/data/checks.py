"""Cell checks shared by the readers: numbers, gaps and missing values (pure numpy/pandas).

Every problem is a one-line ``ValueError`` naming the source, the column and the 1-based
data row.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def numeric(column: pd.Series, source: str, col: str) -> np.ndarray:
    if pd.api.types.is_datetime64_any_dtype(column) or pd.api.types.is_timedelta64_dtype(column):
        raise ValueError(f"{source}: column {col!r} holds times, not numbers; if it is the"
                         " time column, name it (--time-col; time_col= in Python)")
    numeric = pd.api.types.is_numeric_dtype(column)
    text = None if numeric else column.astype(str).str.strip()
    if text is not None:  # True/False as pandas and spreadsheets write flags: 1 and 0
        words = text.str.lower()
        flags = words.isin(("true", "false"))
        if flags.any():  # the first cell that is not a flag is the one to name
            text = text.where(~flags, "0")
            column = words.map({"true": "1", "false": "0"}).fillna(column)
    out = pd.to_numeric(column.replace("", np.nan) if text is not None else column, errors="coerce")
    if text is not None:
        missing_words = text.str.lower().isin(("", "nan", "na", "null", "none"))
        bad = out.isna() & ~missing_words & column.notna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise ValueError(
                f"{source}: column {col!r}, row {row + 1}: non-numeric value {column.iloc[row]!r}"
            )
    out = out.to_numpy(dtype=np.float64)
    infinite = np.isinf(out)
    if infinite.any():  # inf, or a number too large for float64 (1e400): never filled
        row = int(np.flatnonzero(infinite)[0])
        raise ValueError(
            f"{source}: column {col!r}, row {row + 1}: non-finite value {column.iloc[row]!r}"
        )
    return out


def regularise(index, freq, v, rows, source, col_t, col, fill):
    """Check gaps and missing values on a regular grid (of ``freq``, or of step numbers when
    it is None); fill them only when asked."""
    if len(index):
        grid = pd.date_range(index[0], index[-1], freq=freq) if freq is not None \
            else pd.RangeIndex(index[0], index[-1] + 1)
        pos = grid.get_indexer(index)
        if (pos < 0).any():
            i = int(np.flatnonzero(pos < 0)[0])
            raise ValueError(
                f"{source}: column {col_t!r}, row {rows[i] + 1}: timestamp {index[i]} is off the"
                f" {freq} grid"
            )
        if len(grid) != len(index):
            if fill is None:
                i = int(np.flatnonzero(np.diff(pos) > 1)[0]) + 1
                raise ValueError(
                    f"{source}: column {col_t!r}, row {rows[i] + 1}: gap of"
                    f" {pos[i] - pos[i - 1] - 1} step(s) before {index[i]}"
                    f" (to fill it: --fill ffill|interpolate|zero)"
                )
            full = np.full(len(grid), np.nan)
            full[pos] = v
            v, index = full, grid
    missing = np.isnan(v)
    if missing.any():
        if fill is None:
            i = int(np.flatnonzero(missing)[0])
            raise ValueError(
                f"{source}: column {col!r}, row {rows[i] + 1}: missing value"
                f" (to fill it: --fill ffill|interpolate|zero)"
            )
        if missing.all():  # nothing to fill from
            raise ValueError(f"{source}: column {col!r}: no values, every row is missing")
        s = pd.Series(v)
        if fill == "zero":
            s = s.fillna(0.0)
        elif fill == "ffill":
            s = s.ffill().bfill()
        else:
            s = s.interpolate(limit_direction="both")
        v = s.to_numpy()
    return index, v


def check_histories(histories, ids) -> list[np.ndarray]:
    """The histories a forecaster is given in Python, as float64 arrays: as many as ``ids``,
    each one-dimensional and every value finite (a missing value would make the forecast
    missing, or wrong, without a word). Returns them converted."""
    if isinstance(histories, np.ndarray) and histories.ndim == 1:
        raise ValueError("histories must be a list of arrays (T,), one per series; got one array")
    if len(histories) != len(ids):
        raise ValueError(f"{len(histories)} histories for {len(ids)} ids; give one id per history")
    out = []
    for i, (h, name) in enumerate(zip(histories, ids, strict=True)):
        try:
            x = np.asarray(h, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"history {i} (series {name!r}) is not numbers") from None
        if x.ndim != 1:
            raise ValueError(f"history {i} (series {name!r}) must be one-dimensional (T,),"
                             f" got shape {x.shape}")
        bad = np.flatnonzero(~np.isfinite(x))
        if len(bad):
            raise ValueError(f"history {i} (series {name!r}) holds a missing or non-finite"
                             f" value at step {bad[0] + 1} of {len(x)}")
        out.append(x)
    return out
