"""Period labels that pandas does not read, or reads as something else, as whole columns.

Statistical offices, databases and spreadsheets label months and weeks in ways that
``pd.to_datetime`` refuses (``2020M01``, ``2020-W05``, the integer ``202001``) or misreads
(Excel's ``Jan-20`` for January 2020 becomes the 20th of January of the current year). A
column is read by one of these formats only when every cell fits it; each label becomes the
first day of its period (an ISO week: its Monday).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

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
