"""Arguments of the real-series verbs (train, forecast, backtest; datasets and inspect in
``data_cmds``)."""

from __future__ import annotations

import argparse

from ..config import FILLS, STRATEGIES

BUDGET = 120  # --model auto's seconds when --budget is not given


def _positive(text: str) -> int:
    """An argparse type: an integer >= 1 (the other verb groups use it too)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


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


def _columns(text: str) -> tuple[str, ...]:
    cols = tuple(c.strip() for c in text.split(",") if c.strip())
    if not cols:
        raise argparse.ArgumentTypeError(f"expected comma-separated column names, got {text!r}")
    return cols


def _arima_order(text: str):
    try:
        v = [int(x) for x in text.split(",")]
    except ValueError:
        v = []
    if len(v) not in (3, 6) or min(v) < 0:
        raise argparse.ArgumentTypeError(f"expected p,d,q or p,d,q,P,D,Q; got {text!r}")
    return v


def _quantiles(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if not values or not all(0 < v < 1 for v in values) or list(values) != sorted(set(values)):
        raise argparse.ArgumentTypeError(
            f"expected increasing quantiles in (0, 1) like 0.1,0.5,0.9; got {text!r}")
    return values


def _levels(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if not values or not all(0 < v < 100 for v in values):
        raise argparse.ArgumentTypeError(f"expected levels in percent like 80,95; got {text!r}")
    return values


def _interval_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quantiles", type=_quantiles, metavar="Q,...",
                   help="a quantile head trained with the pinball loss, e.g. 0.1,0.5,0.9")
    p.add_argument("--likelihood", choices=["normal", "studentt"],
                   help="a distribution head trained by negative log-likelihood")
    p.add_argument("--intervals", choices=["none", "conformal"], default="none",
                   help="conformal: split-conformal intervals from validation residuals (any"
                        " model; auto always has them)")


def _data_args(p: argparse.ArgumentParser, required: bool = True) -> None:
    src = p.add_mutually_exclusive_group(required=required)
    src.add_argument("--data", metavar="FILE", help="CSV, Excel (.xlsx) or Parquet file")
    src.add_argument("--dataset", metavar="NAME", help="a bundled series (see `seqcast datasets`)")
    p.add_argument("--time-col", help="timestamp column (default: time/date/timestamp/datetime/ds,"
                   " else one found by its type, name or text)")
    p.add_argument("--target", nargs="+", metavar="C",
                   help="value column(s), by spaces or commas (default: all others)")
    p.add_argument("--id-col", help="series id column (long format, many series)")
    p.add_argument(
        "--fill", choices=FILLS, help="fill gaps and missing values (default: they are errors)"
    )
    p.add_argument("--freq", help="pandas frequency when it cannot be inferred (D, W, MS, QS, ...)")
    p.add_argument("--sheet", help="the sheet of an Excel workbook to read (default: its first)")
    p.add_argument("--past-covariates", type=_columns, metavar="COLS",
                   help="columns observed up to the forecast origin only (comma-separated)")
    p.add_argument("--future-covariates", type=_columns, metavar="COLS",
                   help="columns known over the horizon too (rows after the last target value,"
                        " or --future-data)")
    p.add_argument("--static-covariates", type=_columns, metavar="COLS",
                   help="columns with one value per series (text ones are embedded)")
    p.add_argument("--calendar", metavar="auto|none|LIST",
                   help="calendar features from the timestamps, e.g. hour_of_day,day_of_week"
                        " (default: none)")
    p.add_argument("--future-data", metavar="FILE",
                   help="CSV, Excel or Parquet file with the future covariates over the horizon")


def _model_args(p: argparse.ArgumentParser, required: bool) -> None:
    first = len(p._actions)
    _add_model_args(p, required)
    # What a run directory brings itself: its flags, to tell given from default ones.
    p.set_defaults(model_flags=tuple((a.option_strings[0], a.dest, a.default)
                                     for a in p._actions[first:]))


def _add_model_args(p: argparse.ArgumentParser, required: bool) -> None:
    p.add_argument(
        "--model", required=required,
        help="auto (search within --budget; the default), or a name from seqcast.models.MODELS"
             " (lstm, gru, ...)",
    )
    p.add_argument("--budget", type=_positive,
                   help=f"--model auto: seconds for the search and refit (default {BUDGET})")
    p.add_argument("--ensemble", type=_positive,
                   help="--model auto: at most K members (default 3); another model: K seeds,"
                        " combined by the median")
    p.add_argument("--trials", type=_positive,
                   help="--model auto: exactly N network trials, so the search is the same on"
                        " any machine when --budget leaves time for them (default: as many as"
                        " the budget allows)")
    p.add_argument("--networks-only", action="store_true",
                   help="--model auto: search networks only (and the linear model solved in"
                        " closed form), without the baselines, ETS, Theta and ARIMA")
    p.add_argument("--combine", choices=("median", "weighted"),
                   help="--model auto: members combined by the median (default) or a mean"
                        " weighted by 1 / validation MASE")
    p.add_argument(
        "--input-len", type=_positive,
        help="input window (default: max(3*season, 2*horizon, 12), for linear"
             " max(2*season, horizon, 8); shorter for short series)",
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
    p.add_argument("--log", action="store_true",
                   help="model the logarithm of each series (positive series whose swings grow"
                        " with their level); forecasts are exponentiated back (--model auto:"
                        " its ridge and network candidates)")
    p.add_argument("--stride", type=_positive, default=1, help="step between training windows")
    p.add_argument(
        "--valid-frac", type=_fraction, default=0.2, help="validation part of each series"
    )
    p.add_argument(
        "--test-frac", type=_fraction, default=0.0, help="held-out test part of each series"
    )
    p.add_argument("--hidden-size", type=_positive)
    p.add_argument("--num-layers", type=_positive)
    p.add_argument("--epochs", type=_positive,
                   help="the most epochs (--model auto: per network trial, default 100)")
    p.add_argument("--batch-size", type=_positive)
    p.add_argument("--lr", type=float)
    p.add_argument("--patience", type=_positive, help="early stopping patience in epochs")
    p.add_argument("--min-epochs", type=_positive,
                   help="epochs before early stopping may stop or keep weights")
    p.add_argument("--lr-schedule", choices=("none", "plateau", "cosine"))
    p.add_argument("--weight-decay", type=float, help="AdamW's decoupled weight decay")
    p.add_argument("--seed", type=int)
    p.add_argument("--device", choices=["auto", "cpu", "cuda"])
    p.add_argument("--num-threads", type=_positive, help="torch CPU threads (default 1)")
    p.add_argument("--precision", choices=["float32", "bf16"],
                   help="bf16: the forward pass under bfloat16 autocast (default float32)")
    p.add_argument("--no-cuda-graph", dest="cuda_graph", action="store_false", default=None,
                   help="on a GPU, run every training step eagerly instead of replaying a graph")


def add_parsers(sub) -> None:
    """Add the real-series verbs to the ``seqcast`` subcommand parser."""
    from .data_cmds import add_parsers as add_data_parsers
    from .series import cmd_backtest, cmd_forecast, cmd_train

    p = sub.add_parser(
        "train", help="train a forecaster on a file or bundled series; write a run directory"
    )
    _data_args(p, required=False)
    _model_args(p, required=False)
    _interval_args(p)
    p.add_argument("--out", default=None, help="run directory (default: runs/<model>)")
    p.add_argument("--resume", metavar="RUN_DIR",
                   help="continue an interrupted run (its data and settings are reused)")
    p.set_defaults(handler=cmd_train)

    p = sub.add_parser("forecast", help="forecast past the end of every series with a trained run")
    p.add_argument("run", metavar="RUN_DIR")
    _data_args(p, required=False)
    p.add_argument("--horizon", type=_positive, help="steps (default: the trained horizon)")
    p.add_argument("--output", metavar="FILE.csv", type=lambda v: None if v == "-" else v,
                   help="write id,time,forecast here (default, or -: stdout)")
    p.add_argument("--plot", metavar="FILE.png", help="plot history and forecast")
    p.add_argument("--level", type=_levels, default=(), metavar="L,...",
                   help="interval levels in percent: adds lo-L,hi-L columns (e.g. 80,95)")
    p.add_argument("--samples", type=_positive, metavar="N",
                   help="write N sample paths per series as id,time,sample,value instead")
    p.add_argument("--nonnegative", action="store_true",
                   help="write values below 0 as 0 (forecasts, bounds, samples), for counts,"
                        " sales and other quantities that cannot be negative")
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
    _interval_args(p)
    p.add_argument("--level", type=_levels, default=(), metavar="L,...",
                   help="also score intervals of these levels (coverage, width, MSIS) and CRPS")
    p.add_argument("--json", metavar="FILE", help="write the scores as JSON")
    p.add_argument("--nonnegative", action="store_true",
                   help="score every model's forecasts and bounds with values below 0 as 0,"
                        " as forecast --nonnegative writes them")
    p.add_argument("--forecasts", metavar="FILE",
                   help="write every origin's forecasts beside the truth:"
                        " id,cutoff,time,actual,<model>,... and with --level its"
                        " <model>-lo-L,<model>-hi-L (CSV, or Parquet by suffix)")
    p.set_defaults(handler=cmd_backtest, file_args=("forecasts",))

    add_data_parsers(sub)  # datasets, inspect
