"""CLI verbs that describe data without training: ``datasets`` (the bundled series) and
``inspect`` (how a file is read: its columns, steps, series and gaps, before any model)."""

from __future__ import annotations

import json
import sys


def cmd_datasets(args) -> int:
    from rich.console import Console
    from rich.table import Table

    from ..workflows import datasets

    columns = ("name", "length", "freq", "season", "horizon", "start", "end", "source")
    table = Table(title="bundled real series")
    for col in columns:
        table.add_column(col, justify="right" if col in ("length", "season", "horizon") else "left")
    for row in datasets():
        table.add_row(*(str(row[c]) for c in columns))
    Console(width=140).print(table)
    return 0


def cmd_inspect(args) -> int:
    from rich.console import Console
    from rich.table import Table

    from ..outputs import write_text
    from .series import _panel_and_data

    if args.file is not None and (args.data or args.dataset):
        raise ValueError(f"inspect: give the file once: {args.file} or"
                         f" {'--data' if args.data else '--dataset'}, not both")
    if args.file is None and not (args.data or args.dataset):
        raise ValueError("inspect: which data? give a FILE (or --data FILE, --dataset NAME)")
    args.data = args.data or args.file
    panel, data = _panel_and_data(args)
    report = describe(panel, data)
    console = Console(width=140)
    labels = {"source": "file", "time": "time column", "frequency": "frequency",
              "season": "season (default)", "id": "id column", "values": "value columns",
              "covariates": "covariates", "series": "series", "length": "length",
              "span": "span"}
    for key, label in labels.items():
        if report.get(key) is not None:
            console.print(f"[bold]{label}[/bold]: {report[key]}", highlight=False)
    table = Table(title=f"series (the first {len(report['rows'])})"
                  if len(report["rows"]) < len(panel) else "series")
    for col in ("id", "length", "start", "end", "future rows"):
        table.add_column(col, justify="right" if col in ("length", "future rows") else "left")
    for row in report["rows"]:
        table.add_row(*(str(row[c]) for c in ("id", "length", "start", "end", "future_rows")))
    console.print(table)
    if args.json:
        write_text(args.json, json.dumps(report, indent=2, default=str) + "\n")
    for note in report["notes"]:
        print(note, file=sys.stderr)
    return 0


def describe(panel, data, rows: int = 20) -> dict:
    """What a data file was read as: the columns found or given, the frequency and its usual
    season, the series and their lengths, and ``rows`` of them in detail."""
    import numpy as np

    from ..data.times import is_steps
    from ..forecasting.defaults import season_of

    lengths = np.array([len(s) for s in panel])
    first = panel.series[0].index
    steps = panel.time_col is not None and is_steps(first)
    zone = getattr(first, "tz", None)
    kind = "step numbers" if steps else f"timestamps, {zone}" if zone is not None else "timestamps"
    time = f"{panel.time_col} ({kind})" if panel.time_col else "none (the rows are the steps)"
    ends = {s.index[-1] for s in panel}
    notes = []
    if len(ends) > 1:
        notes.append(f"note: the series end at {len(ends)} different times; each is forecast"
                     " from its own end")
    if steps:
        low, high = min(s.index[0] for s in panel), max(ends)
        if 20_000 <= low and high <= 80_000:  # 1954 to 2119 as a spreadsheet's day numbers
            notes.append(f"note: {panel.time_col} holds whole numbers {low} to {high}, read as"
                         " step numbers; if they are a spreadsheet's day numbers, format the"
                         " column as dates there")
    covariates = {k: list(getattr(data, f"{k}_covariates")) for k in ("past", "future", "static")}
    return {
        "source": panel.source,
        "time": time,
        "frequency": panel.freq,
        "season": season_of(panel.freq) if panel.freq else None,
        "id": panel.id_col,
        "values": ", ".join(panel.targets) if panel.targets else None,
        "covariates": ", ".join(f"{k}: {', '.join(v)}" for k, v in covariates.items() if v)
                      or None,
        "series": len(panel),
        "length": f"{lengths.min()} to {lengths.max()} steps (median {int(np.median(lengths))})",
        "span": f"{_when(min(s.index[0] for s in panel))} to {_when(max(ends))}",
        "rows": [{"id": s.id, "length": len(s), "start": _when(s.index[0]),
                  "end": _when(s.index[-1]), "future_rows": _future_rows(s)}
                 for s in panel.series[:rows]],
        "notes": notes,
    }


def _when(t) -> str:
    """A timestamp as written for people: the date alone at midnight; a step number as is."""
    import pandas as pd

    if isinstance(t, pd.Timestamp) and t == t.normalize():
        return str(t.date())
    return str(t)


def _future_rows(series) -> int:
    cov = series.covariates
    return 0 if cov is None or cov.future is None else len(cov.future) - len(series)


def add_parsers(sub) -> None:
    from .series_args import _data_args

    p = sub.add_parser("datasets", help="list the bundled real series")
    p.set_defaults(handler=cmd_datasets)
    p = sub.add_parser("inspect", help="how a data file is read: columns, steps, series, gaps"
                                       " (before training)")
    p.add_argument("file", nargs="?", metavar="FILE", help="the data file (or --data FILE)")
    _data_args(p, required=False)
    p.add_argument("--json", metavar="FILE", help="also write the description as JSON")
    p.set_defaults(handler=cmd_inspect)
