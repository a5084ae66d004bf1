"""Command line: each verb parses its arguments and calls one API function.

Heavy imports (torch, pandas) happen inside the handlers so ``--help`` answers at once.
User mistakes print one line ``seqcast: error: ...`` and exit with status 2.
"""

from __future__ import annotations

import argparse
import os
import sys


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, status 2, no usage dump
        self.exit(2, f"seqcast: error: {self.prog.removeprefix('seqcast').strip() or 'usage'}: {message}\n")


def _ids(text: str) -> list[str]:
    ids = [i.strip() for i in text.split(",") if i.strip()]
    if not ids:
        raise argparse.ArgumentTypeError("expected a comma-separated list of ids")
    return ids


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def cmd_reproduce(args) -> int:
    from .experiments.reproduce import reproduce, select
    from .report import print_rows

    select(args.only)  # unknown ids fail before any training
    rows = reproduce(
        args.only, epochs=args.epochs, seeds=args.seeds, device=args.device, out=args.out,
        on_row=lambda r: print(
            f"{r.experiment.id}: {r.value:.6f} ({sum(r.seconds):.1f} s)", file=sys.stderr, flush=True
        ),
    )
    print_rows(rows)
    if args.out:
        print(f"results and figures written to {args.out}", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = _Parser(prog="seqcast", description="Learn from sequences with RNNs and CNNs.")
    parser.add_argument("--version", action="version", version=f"seqcast {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("reproduce", help="train the chapter's experiments and compare with the book")
    p.add_argument("--only", type=_ids, help="comma-separated experiment ids (default: all)")
    p.add_argument("--epochs", type=_positive, default=20, help="epochs per model (default 20)")
    p.add_argument("--seeds", type=_positive, default=1, help="seeds 0..K-1; the median is reported")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--out", default="results", help="folder for results.json and figures")
    p.set_defaults(handler=cmd_reproduce)

    from .cli_series import add_parsers

    add_parsers(sub)  # train, forecast, backtest, datasets
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except (ValueError, OSError) as exc:
        if os.environ.get("SEQCAST_DEBUG"):
            raise
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"seqcast: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("seqcast: interrupted", file=sys.stderr)
        return 130
