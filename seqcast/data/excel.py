"""Excel workbooks (``.xlsx``, ``.xlsm``) as data files: a sheet, read by openpyxl, with a
report's title rows and blank rows around its table left out."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

EXCEL = (".xlsx", ".xlsm")


def sheet_names(path: str | Path) -> list[str]:
    """A workbook's sheets, in order ([] for any other file, or one that cannot be read)."""
    if not str(path).lower().endswith(EXCEL):
        return []
    try:
        from openpyxl import load_workbook

        return list(load_workbook(path, read_only=True).sheetnames)
    except Exception:  # not a workbook after all: the reader says what is wrong
        return []


def read_excel(path: Path, rows: int | None = None, sheet: str | None = None) -> pd.DataFrame:
    """The first sheet (or ``sheet``), cells as typed there (dates as timestamps, numbers as numbers), its
    header the first row as wide as the table whose cells are all text (a report's title
    rows above it are skipped); rows left empty (formatted but blank, below the data) are
    dropped."""
    read = {"sheet_name": 0 if sheet is None else sheet, "engine": "openpyxl",
            "keep_default_na": False, "na_values": [""]}
    try:
        if sheet is not None:
            names = sheet_names(path)  # none: not a workbook, which the read below says
            if names and sheet not in names:
                raise ValueError(f"{path}: no sheet {sheet!r}; sheets: {', '.join(names)}")
        top = pd.read_excel(path, header=None, nrows=50, **read)
        filled = top.notna().sum(axis=1)
        header = next((i for i in range(len(top)) if filled.iloc[i] == filled.max() and all(
            isinstance(c, str) for c in top.iloc[i].dropna())), 0)
        frame = pd.read_excel(path, header=header, nrows=rows, **read)  # "n/a" is text
    except ValueError as exc:
        if str(exc).startswith(f"{path}: no sheet"):
            raise
        raise ValueError(f"{path}: cannot read: {str(exc).splitlines()[0]}") from None
    except ImportError:
        raise ValueError(f"{path}: reading Excel workbooks needs openpyxl"
                         " (pip install openpyxl)") from None
    except Exception as exc:  # not a workbook, a damaged one
        raise ValueError(f"{path}: cannot read: {str(exc).splitlines()[0]}") from None
    frame = frame.dropna(how="all")
    empty = [c for c in frame.columns if str(c).startswith("Unnamed: ") and frame[c].isna().all()]
    frame = frame.drop(columns=empty)  # blank columns beside the table
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame
