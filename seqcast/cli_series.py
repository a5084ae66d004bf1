"""CLI verbs for real series: ``train``, ``forecast``, ``backtest``, ``datasets``.

Each handler reads and validates the data first, builds a ``RunConfig`` and calls one
function of ``seqcast.workflows``; nothing is written before the data has been validated.
torch and pandas are imported inside the handlers so that ``seqcast --help`` stays fast.
"""

from __future__ import annotations

import argparse
import os
import sys

STRATEGIES = ("direct", "seq2seq", "iterative")
FILLS = ("ffill", "interpolate", "zero")


def _positive(text: str) -> int:
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


def _one_blas_thread() -> None:
    """Small matrices gain nothing from BLAS threads, and on a busy machine they cost: the
    ARIMA search took ~80 s with OpenBLAS' default threads vs ~12 s with one (co2, 2 cores
    shared with other jobs). Only possible before numpy is first imported."""
    if "numpy" not in sys.modules:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(var, "1")


def add_parsers(sub) -> None:
    """Add the real-series verbs to the ``seqcast`` subcommand parser."""
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


def _panel_and_data(args):
    """Read the data named on the command line; returns (panel, DataConfig without model parts)."""
    from .config import DataConfig
    from .data.io import load_panel

    data = DataConfig(
        dataset=args.dataset or "",
        path=args.data,
        time_col=args.time_col,
        targets=tuple(args.target) if args.target else None,
        id_col=args.id_col,
        fill=args.fill,
        freq=args.freq,
        task="forecast",
    )
    return load_panel(data), data


def _run_config(args, panel, data):
    import dataclasses

    from .config import TrainConfig
    from .data.datasets import REAL_DATASETS
    from .pipeline import make_config, season_of  # imports torch, after the data is valid
    from .workflows import resolve_diff

    meta = REAL_DATASETS.get(data.dataset) if data.path is None else None
    season = args.season or (meta.season if meta else season_of(panel.freq))
    horizon = args.horizon or (meta.horizon if meta else max(season, 1))
    input_len = args.input_len or max(3 * season, 2 * horizon, 12)
    diff = args.diff
    if diff == "auto":
        diff = resolve_diff(panel, season, args.valid_frac)
    elif diff == "none":
        diff = ()
    data = dataclasses.replace(
        data,
        horizon=horizon,
        strategy=args.strategy,
        season=season,
        diff=diff,
        scale=not args.no_scale,
        stride=args.stride,
        valid_frac=args.valid_frac,
        test_frac=args.test_frac,
    )
    model = {
        k: getattr(args, k) for k in ("hidden_size", "num_layers") if getattr(args, k) is not None
    }
    train_keys = {f.name for f in dataclasses.fields(TrainConfig)}
    train = {
        k: getattr(args, k)
        for k in ("epochs", "batch_size", "lr", "patience", "seed", "device", "num_threads")
        if k in train_keys and getattr(args, k) is not None
    }
    return make_config(args.model, data, input_len, model, train)


def cmd_train(args) -> int:
    _one_blas_thread()
    if args.resume is None and (args.model is None or not (args.data or args.dataset)):
        raise ValueError("train needs --model and one of --data/--dataset (or --resume RUN_DIR)")
    from . import distributed
    from .workflows import train

    distributed.init_from_env()  # under torchrun: join the process group
    if args.resume is not None:
        out, config, panel = args.resume, None, None
    else:
        panel, data = _panel_and_data(args)
        config = _run_config(args, panel, data)
        out = args.out or f"runs/{args.model}"
    try:
        metrics = train(config, out, panel, resume=args.resume is not None)
    except KeyboardInterrupt:
        raise KeyboardInterrupt(f"interrupted; continue with: seqcast train --resume {out}") from None
    if not distributed.context().main:
        return 0
    from .config import RunConfig

    config = RunConfig.load(f"{out}/config.json")
    valid = metrics.get("valid")
    score = (
        f"validation MAE {valid['mae_mean']:.6g} over {valid['origins']} origins, " if valid else ""
    )
    print(
        f"{config.model.name}: {score}{metrics['epochs']} epochs in {metrics['seconds']:.1f} s;"
        f" run written to {out}",
        file=sys.stderr,
    )
    return 0


def cmd_forecast(args) -> int:
    _one_blas_thread()
    from .workflows import forecast

    data = {k: getattr(args, k) for k in ("time_col", "id_col", "fill", "freq") if getattr(args, k)}
    if args.target:
        data["targets"] = tuple(args.target)
    if args.data or args.dataset:
        data.update(path=args.data, dataset=args.dataset or "")
    frame = forecast(args.run, data, args.horizon, args.output, args.plot)
    if args.output is None:
        frame.to_csv(sys.stdout, index=False)
    return 0


def cmd_backtest(args) -> int:
    _one_blas_thread()
    import dataclasses

    from .backtest import BASELINES
    from .report import print_backtest
    from .workflows import backtest

    baselines = tuple(b for b in args.baselines.split(",") if b and b != "none")
    for b in baselines:
        if b not in BASELINES:
            raise ValueError(f"unknown baseline {b!r}; valid: {', '.join(BASELINES)}, none")
    if args.run is not None:
        from .runs import load_run

        config = load_run(args.run).config
        if args.data or args.dataset:
            _, data = _panel_and_data(args)
            config = dataclasses.replace(
                config, data=dataclasses.replace(config.data, dataset=data.dataset, path=data.path)
            )
        panel = None
    else:
        if args.model is None or not (args.data or args.dataset):
            raise ValueError(
                "backtest needs RUN_DIR, or --model NAME with --data FILE or --dataset NAME"
            )
        panel, data = _panel_and_data(args)
        config = _run_config(args, panel, data)
    order = None
    if args.arima_order is not None:
        o = args.arima_order
        season = config.data.season if len(o) == 6 and config.data.season > 1 else 0
        order = (tuple(o[:3]), (*o[3:], season) if season else (0, 0, 0, 0))
    result = backtest(config, args.folds, args.step, baselines, args.json, panel, order)
    print_backtest(result, config)
    return 0


def cmd_datasets(args) -> int:
    from rich.console import Console
    from rich.table import Table

    from .workflows import datasets

    table = Table(title="bundled real series")
    for col in ("name", "length", "freq", "season", "horizon", "start", "end", "source"):
        table.add_column(col, justify="right" if col in ("length", "season", "horizon") else "left")
    for row in datasets():
        table.add_row(
            *(
                str(row[c])
                for c in ("name", "length", "freq", "season", "horizon", "start", "end", "source")
            )
        )
    Console(width=140).print(table)
    return 0
