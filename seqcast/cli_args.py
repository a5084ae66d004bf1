"""Arguments of the real-series verbs (train, forecast, backtest, datasets)."""

from __future__ import annotations

import argparse


def _positive(text: str) -> int:
    """An argparse type: an integer >= 1 (cli.py uses it too; it imports this module, never
    the other way round)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


STRATEGIES = ("direct", "seq2seq", "iterative")
FILLS = ("ffill", "interpolate", "zero")


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a fraction in [0, 1), got {text!r}")
    return value


def _diff(text: str):
    if text in ("auto", "none"):
        return text
    try:
        lags = tuple(int(v) for v in text.split(","))
    except ValueError:
        lags = ()
    if not lags or min(lags) < 1:
        raise argparse.ArgumentTypeError(f"expected auto, none or lags like 1,12; got {text!r}")
    return lags


def _arima_order(text: str):
    try:
        v = [int(x) for x in text.split(",")]
    except ValueError:
        v = []
    if len(v) not in (3, 6) or min(v) < 0:
        raise argparse.ArgumentTypeError(f"expected p,d,q or p,d,q,P,D,Q; got {text!r}")
    return v


def _data_args(p: argparse.ArgumentParser, required: bool = True) -> None:
    src = p.add_mutually_exclusive_group(required=required)
    src.add_argument("--data", metavar="FILE", help="CSV or Parquet file")
    src.add_argument("--dataset", metavar="NAME", help="a bundled series (see `seqcast datasets`)")
    p.add_argument("--time-col", help="timestamp column (default: time/date/timestamp/datetime/ds)")
    p.add_argument("--target", nargs="+", metavar="C", help="value column(s) (default: all others)")
    p.add_argument("--id-col", help="series id column (long format, many series)")
    p.add_argument(
        "--fill", choices=FILLS, help="fill gaps and missing values (default: they are errors)"
    )
    p.add_argument("--freq", help="pandas frequency when it cannot be inferred (D, W, MS, QS, ...)")


def _model_args(p: argparse.ArgumentParser, required: bool) -> None:
    p.add_argument(
        "--model", required=required, help="a name from seqcast.models.MODELS (lstm, gru, ...)"
    )
    p.add_argument(
        "--input-len", type=_positive, help="input window (default: max(3*season, 2*horizon, 12))"
    )
    p.add_argument(
        "--horizon",
        type=_positive,
        help="steps to forecast (default: the dataset's, else the season)",
    )
    p.add_argument(
        "--strategy",
        choices=STRATEGIES,
        default="direct",
        help="direct (seq2vec), seq2seq, or iterative (one step fed back)",
    )
    p.add_argument("--season", type=_positive, help="seasonal period (default: from the frequency)")
    p.add_argument(
        "--diff",
        type=_diff,
        default="auto",
        help="differencing lags, e.g. 1,12; none; or auto (KPSS and seasonal variance tests)",
    )
    p.add_argument("--no-scale", action="store_true", help="do not standardise the series")
    p.add_argument("--stride", type=_positive, default=1, help="step between training windows")
    p.add_argument(
        "--valid-frac", type=_fraction, default=0.2, help="validation part of each series"
    )
    p.add_argument(
        "--test-frac", type=_fraction, default=0.0, help="held-out test part of each series"
    )
    p.add_argument("--hidden-size", type=_positive)
    p.add_argument("--num-layers", type=_positive)
    p.add_argument("--epochs", type=_positive)
    p.add_argument("--batch-size", type=_positive)
    p.add_argument("--lr", type=float)
    p.add_argument("--patience", type=_positive, help="early stopping patience in epochs")
    p.add_argument("--seed", type=int)
    p.add_argument("--device", choices=["auto", "cpu", "cuda"])
    p.add_argument("--num-threads", type=_positive, help="torch CPU threads (default 1)")
    p.add_argument("--precision", choices=["float32", "bf16"],
                   help="bf16: the forward pass under bfloat16 autocast (default float32)")
    p.add_argument("--no-cuda-graph", dest="cuda_graph", action="store_false", default=None,
                   help="on a GPU, run every training step eagerly instead of replaying a graph")


def add_parsers(sub) -> None:
    """Add the real-series verbs to the ``seqcast`` subcommand parser."""
    from .cli_series import cmd_backtest, cmd_datasets, cmd_forecast, cmd_train

    p = sub.add_parser(
        "train", help="train a forecaster on a file or bundled series; write a run directory"
    )
    _data_args(p, required=False)
    _model_args(p, required=False)
    p.add_argument("--out", default=None, help="run directory (default: runs/<model>)")
    p.add_argument("--resume", metavar="RUN_DIR",
                   help="continue an interrupted run (its data and settings are reused)")
    p.set_defaults(handler=cmd_train)

    p = sub.add_parser("forecast", help="forecast past the end of every series with a trained run")
    p.add_argument("run", metavar="RUN_DIR")
    _data_args(p, required=False)
    p.add_argument("--horizon", type=_positive, help="steps (default: the trained horizon)")
    p.add_argument(
        "--output", metavar="FILE.csv", help="write id,time,forecast here (default: stdout)"
    )
    p.add_argument("--plot", metavar="FILE.png", help="plot history and forecast")
    p.set_defaults(handler=cmd_forecast)

    p = sub.add_parser(
        "backtest", help="rolling-origin backtest against naive, seasonal naive, ARIMA"
    )
    p.add_argument("run", nargs="?", metavar="RUN_DIR", help="retrain this run's configuration")
    _data_args(p, required=False)
    _model_args(p, required=False)
    p.add_argument("--folds", type=_positive, default=5, help="forecast origins per series")
    p.add_argument("--step", type=_positive, help="steps between origins (default: the horizon)")
    p.add_argument(
        "--baselines",
        default="naive,seasonal_naive,arima",
        help="comma-separated subset of naive,seasonal_naive,arima (or none)",
    )
    p.add_argument(
        "--arima-order",
        type=_arima_order,
        metavar="p,d,q[,P,D,Q]",
        help="ARIMA orders instead of the AIC search (seasonal period: --season)",
    )
    p.add_argument("--json", metavar="FILE", help="write the scores as JSON")
    p.set_defaults(handler=cmd_backtest)

    p = sub.add_parser("datasets", help="list the bundled real series")
    p.set_defaults(handler=cmd_datasets)
