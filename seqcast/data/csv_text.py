"""Data files as people write them (``read_frame``: CSV, compressed or not, or Parquet).

CSV files (``.csv``, ``.tsv``, ``.txt``): the text encoding (UTF-8, with or without its byte
order mark; UTF-16 by its mark, as spreadsheets' "Unicode text" is; else Windows-1252, the
code page spreadsheets write CSV in on Western European systems); the field separator
(``,``, ``;`` or tab) read off the header; a first line of data (one number, or a date
beside numbers: no header) read as data; decimal commas where fields are separated
otherwise; thousands separators dropped where every cell of a column is written with them or
without and one cell leaves no doubt (1,234.5 or 1,234,567); rows with more fields than the
header refused (pandas would otherwise take the first field as an index and shift every
column); a row number written as an unnamed first column dropped; and timestamps whose UTC
offset changes with summer time put on one clock.
"""

from __future__ import annotations

import csv
import re
import warnings
from pathlib import Path

import pandas as pd

from .excel import EXCEL, read_excel

SEPARATORS = (";", "\t", ",")  # in the order a tie in the header is broken
COMPRESSED = {".gz": "gzip", ".bz2": "bz2", ".xz": "lzma", ".zip": "zipfile"}
TEXT = (".csv", ".tsv", ".txt")  # delimited text, the separator read off the header
_DECIMAL_COMMA = re.compile(r"^\s*[+-]?(\d+(,\d*)?|,\d+)([eE][+-]?\d+)?\s*$")
_OFFSET = r"\s*(Z|UTC|[+-]\d\d(:?\d\d)?)$"
# Numbers with thousands separators throughout (1,234,567.8; with ';' fields 1.234.567,8),
# or plain ones beside them: every cell must read so before a separator is dropped.
_GROUPED = {g: re.compile(rf"^\s*[+-]?(\d{{1,3}}(\{g}\d{{3}})+|\d+)(\{p}\d+)?\s*$")
            for g, p in ((",", "."), (".", ","))}
# Amounts a spreadsheet wrote in a currency format: $1,234.50, -€3, 1.234,50 €, £12.
_MONEY = re.compile(r"^\s*([+-]?)\s*([$€£¥])?\s*([\d.,]+)\s*([$€£¥])?\s*$")
_NUMERIC_DATE = re.compile(r"^(\d{1,2})([/.-])(\d{1,2})\2(\d{4}|\d{2})([ T]\d{1,2}:\d{2}(:\d{2})?)?$")


def _raw(path: Path):
    """The file's bytes, decompressed by its suffix as pandas does."""
    import importlib

    kind = COMPRESSED.get(path.suffix.lower())
    if kind is None:
        return open(path, "rb")  # noqa: SIM115 (the caller closes it)
    if kind == "zipfile":
        import zipfile

        archive = zipfile.ZipFile(path)
        return archive.open(archive.namelist()[0])
    return importlib.import_module(kind).open(path)


def encoding(path: Path) -> str:
    """The text encoding: by a byte order mark, else UTF-8 if the first 1 MiB reads as UTF-8,
    else Windows-1252."""
    import codecs

    try:
        with _raw(path) as f:
            head = f.read(1 << 20)
    except Exception as exc:  # a damaged archive
        raise ValueError(f"{path}: cannot read: {str(exc).splitlines()[0]}") from None
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


def _open(path: Path, text_encoding: str | None = None):
    """The file as text, decompressed by its suffix, in ``text_encoding`` (by default the one
    ``encoding`` reads off the file)."""
    import io

    text_encoding = text_encoding or encoding(path)
    return io.TextIOWrapper(_raw(path), encoding=text_encoding, errors="replace", newline="")


def separator(path: Path, text_encoding: str | None = None) -> str:
    """The separator that occurs most in the header line (``,`` if none does; a tie is not
    broken for the comma, which is then a decimal comma in a first line of data)."""
    try:
        with _open(path, text_encoding) as f:
            header = f.readline()
    except Exception as exc:  # a damaged archive
        raise ValueError(f"{path}: cannot read: {str(exc).splitlines()[0]}") from None
    counts = {c: header.count(c) for c in SEPARATORS}  # a tie: commas are decimals
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def read_csv_text(path: Path) -> pd.DataFrame:
    """Every cell as text, so that a non-numeric cell can be named rather than coerced."""
    text = {"encoding": encoding(path), "encoding_errors": "replace"}  # read off the file once
    sep = separator(path, text["encoding"])
    if path.suffix.lower() not in COMPRESSED:  # by content: .tsv and .txt are text too
        text["compression"] = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, sep=sep, index_col=False,
                                **text)
    except Exception as exc:  # parser errors carry their own line numbers
        ragged = _ragged(path, sep, text["encoding"])
        raise ValueError(ragged or f"{path}: cannot read: {str(exc).splitlines()[0]}") from None
    names = _headerless(frame.columns, sep)
    if names is not None:  # the first line is data: read it as a row
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, sep=sep, header=None,
                            names=names, index_col=False, **text)
    else:  # pandas renames a repeated name (v, v.1): which one is meant cannot be told
        header = [c.strip() for c in pd.read_csv(path, dtype=str, keep_default_na=False, sep=sep,
                                                 header=None, nrows=1, **text).iloc[0]]
        seen: dict[str, int] = {}
        for i, name in enumerate(header, start=1):
            if name and name in seen:
                raise ValueError(f"{path}: columns {seen[name]} and {i} are both named"
                                 f" {name!r}; give each column its own name")
            seen[name] = i
    first = frame.columns[0] if len(frame.columns) else ""
    if str(first).startswith("Unnamed: 0") and sorted(frame[first].tolist(), key=_number) == \
            [str(i) for i in range(len(frame))]:  # rows in any order: a permutation of 0..n-1
        frame = frame.drop(columns=first)  # row numbers pandas wrote (to_csv without index=False)
    empty = [c for c in frame.columns if str(c).startswith("Unnamed: ")
             and (frame[c].str.strip() == "").all()]
    frame = frame.drop(columns=empty)  # a separator ending every line, as spreadsheets write
    stripped = [str(c).strip() for c in frame.columns]  # " y " names the column y
    if len(set(stripped)) == len(stripped):
        frame.columns = stripped
    for col in frame.columns:
        cells = frame[col]
        full = cells[cells.str.strip() != ""]
        if not len(full):
            continue
        money = full.str.extract(_MONEY)
        symbols = set(money[1].dropna()) | set(money[3].dropna())
        if len(symbols) == 1 and money[2].notna().all() and (  # one currency in every cell
                money[1].notna() | money[3].notna()).all():
            sign = money[0].fillna("")
            cells = frame[col] = cells.where(cells.str.strip() == "", pd.Series(
                sign + money[2], index=full.index).reindex(cells.index, fill_value=""))
            full = cells[cells.str.strip() != ""]
        if sep != "," and full.str.contains(",").any() and full.str.match(_DECIMAL_COMMA).all():
            frame[col] = cells.str.replace(",", ".", regex=False)
            continue
        group, point = (".", ",") if sep == ";" else (",", ".")  # 1.234,5 or 1,234.5
        if not full.str.contains(group, regex=False).any():  # most columns: one pass
            continue
        sure = full.str.contains(point, regex=False) & full.str.contains(group, regex=False)
        sure |= full.str.count(re.escape(group)) >= 2  # 1.234 alone could be a decimal
        if sure.any() and full.str.match(_GROUPED[group]).all():
            plain = cells.str.replace(group, "", regex=False)  # thousands separators
            frame[col] = plain.str.replace(point, ".", regex=False)
    return frame


def read_frame(path: str | Path, sheet: str | None = None) -> pd.DataFrame:
    """A CSV file (every cell as text; ``.tsv`` and ``.txt`` too, each compressed as
    ``.gz``, ``.bz2``, ``.xz`` or ``.zip`` too), an Excel workbook's first sheet or a
    Parquet file as a DataFrame; ``sheet`` names another sheet of a workbook."""
    path = Path(path)
    suffixes = [x.lower() for x in path.suffixes[-2:]]
    suffix = suffixes[-1] if suffixes else ""
    csv = suffix in TEXT or (suffixes[:1] and suffixes[0] in TEXT and suffix in COMPRESSED)
    if not csv and suffix not in (".parquet", ".pq", *EXCEL):
        raise ValueError(f"{path}: unknown file type {suffix!r}; valid: .csv, .tsv or .txt (or"
                         " .csv.gz, .bz2, .xz, .zip), .xlsx, .xlsm, .parquet, .pq")
    if not path.is_file():
        raise ValueError(f"{path}: {'a folder, not a data file' if path.is_dir() else 'no such file'}")
    if suffix in EXCEL:
        return read_excel(path, sheet=sheet)
    if sheet is not None:
        raise ValueError(f"{path}: --sheet {sheet!r} applies to Excel workbooks (.xlsx, .xlsm)")
    if not csv:
        try:
            return pd.read_parquet(path)
        except Exception as exc:
            raise ValueError(f"{path}: cannot read: {str(exc).splitlines()[0]}") from None
    return read_csv_text(path)


def _headerless(header, sep: str) -> list[str] | None:
    """Column names for a file whose first line is data: one number, or a date beside
    numbers (a header holds no date): ``time`` for the date, ``value`` (``value2``, ...) for
    each number; None for a header. Several numbers alone stay a header (series ids)."""
    cells = [str(c).strip() for c in header]
    plain = [c.replace(",", ".") if sep != "," and _DECIMAL_COMMA.match(c) else c for c in cells]
    numbers = pd.to_numeric(pd.Series(plain), errors="coerce").notna().tolist()
    if not any(numbers):
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        dates = [not n and pd.notna(pd.to_datetime(c, errors="coerce")) for c, n in zip(cells, numbers)]
    if not all(n or d for n, d in zip(numbers, dates)) or sum(dates) > 1 or (
            len(cells) > 1 and not any(dates)):  # numbers alone may name series (wide files)
        return None
    values = iter(["value", *(f"value{i}" for i in range(2, len(cells) + 1))])
    return ["time" if d else next(values) for d in dates]


def column_names(path, sheet: str | None = None) -> list[str]:
    """The column names in a data file's header, read without the rows ([] if unreadable)."""
    path = Path(path)
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            return list(pq.read_schema(path).names)
        if path.suffix.lower() in EXCEL:
            return list(read_excel(path, rows=0, sheet=sheet).columns)
        text_encoding = encoding(path)
        with _open(path, text_encoding) as f:
            return next(csv.reader(f, delimiter=separator(path, text_encoding)), [])
    except Exception:  # the full read reports what is wrong with the file
        return []


def _number(cell: str) -> tuple[int, str]:
    return (int(cell), cell) if cell.isdigit() else (-1, cell)


def _ragged(path: Path, sep: str, text_encoding: str | None = None) -> str | None:
    """The first line with more fields than the header, and the likely reason (None if
    there is none)."""
    try:
        with _open(path, text_encoding) as f:
            rows = csv.reader(f, delimiter=sep)
            width = len(next(rows, []))
            line = next((i for i, r in enumerate(rows, 2) if len(r) > width), None)
    except Exception:  # csv.Error, or a damaged archive: the parser's own message stands
        return None
    if line is None:
        return None
    hint = " (decimal commas in a comma-separated file? separate fields with ';')" \
        if sep == "," else ""
    return f"{path}: line {line} has more fields than the header's {width} columns{hint}"


def day_or_month_first(column: pd.Series):
    """Numeric dates such as ``01/02/2020`` or ``01.02.2020`` read as the whole column says:
    day first where some day is over 12, month first where some month would be; where both
    read, the order that gives evenly spaced times (monthly data written day first read
    month first become the 1st to the 12th of January), else day first for dots and month
    first otherwise. None when the cells are not such dates."""
    text = column.astype(str).str.strip()
    first = _NUMERIC_DATE.match(text.iloc[0]) if len(text) else None
    if first is None or not text.str.match(_NUMERIC_DATE).all():
        return None
    sep, year = first.group(2), "%Y" if len(first.group(4)) == 4 else "%y"
    clock = first.group(5) or ""
    clock = clock[0] + ("%H:%M:%S" if clock.count(":") == 2 else "%H:%M") if clock else ""
    reads = {}
    for order in ("%d{0}%m", "%m{0}%d"):
        parsed = pd.to_datetime(text, format=order.format(sep) + sep + year + clock,
                                errors="coerce")
        if parsed.notna().all():
            reads[order[1]] = parsed
    if len(reads) < 2:
        return next(iter(reads.values()), None)

    def even(t) -> bool:
        u = pd.DatetimeIndex(t.drop_duplicates().sort_values())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return len(u) >= 3 and pd.infer_freq(u) is not None

    if even(reads["d"]) != even(reads["m"]):
        return reads["d"] if even(reads["d"]) else reads["m"]
    return reads["d"] if sep == "." else reads["m"]


def local_or_utc(column: pd.Series) -> pd.Series:
    """Timestamps with UTC offsets that change (summer time): daily or coarser data (every
    local time of day the same) keep their local dates (naive), finer data go to UTC, where the
    hours run evenly through the change, and stay marked UTC, so that forecasts are written
    with ``+00:00`` rather than read as local times (NaT where unparseable)."""
    text = column.astype(str).str.strip()
    local = pd.to_datetime(text.str.replace(_OFFSET, "", regex=True), errors="coerce")
    clock = local.dropna()
    if len(clock) and (clock - clock.dt.normalize()).nunique() == 1:
        return local
    return pd.to_datetime(text, errors="coerce", utc=True)
