"""CLI verbs for real series: ``train``, ``forecast``, ``backtest``, ``datasets``.

Each handler reads and validates the data first, builds a ``RunConfig`` and calls one
function of ``seqcast.workflows``; nothing is written before the data has been validated.
torch and pandas are imported inside the handlers so that ``seqcast --help`` stays fast.
"""

from __future__ import annotations

import os
import sys

from ..config import RUNTIME
from .flag_checks import TRAINING, refuse_for_auto, refuse_unread, runtime_flags, search_config
from .series_args import BUDGET


def _one_blas_thread() -> None:
    """Small matrices gain nothing from BLAS threads, and on a busy machine they cost: the
    ARIMA search took ~80 s with OpenBLAS' default threads vs ~12 s with one (co2, 2 cores
    shared with other jobs). Only possible before numpy is first imported."""
    if "numpy" not in sys.modules:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(var, "1")


COVARIATE_FLAGS = ("past_covariates", "future_covariates", "static_covariates")
AUTO_ALONE = ("--model auto searches in one process (its trials are many small fits, stopped"
              " by the clock, which ranks would not agree on): run it without torchrun, then"
              " train the model it chose under torchrun if it needs more than one process")


def _panel_and_data(args, base=None):
    """Read the data named on the command line; returns (panel, DataConfig without model parts).

    ``base``: a run's ``DataConfig`` whose settings stand where no flag overrides them."""
    import dataclasses

    from ..config import DataConfig
    from ..data.calendar import resolve
    from ..data.load import check_steps, load_panel, other_data

    flags = {
        "time_col": args.time_col,
        "targets": tuple(args.target) if args.target else None,
        "id_col": args.id_col,
        "fill": args.fill,
        "freq": args.freq,
        "sheet": args.sheet,
        "future_path": args.future_data,
        **{k: getattr(args, k) for k in COVARIATE_FLAGS},
    }
    flags = {k: v for k, v in flags.items() if v is not None}
    if args.data or args.dataset:  # other data: the run's future file does not belong to it
        flags.update(path=args.data, dataset=args.dataset or "", future_path=args.future_data)
    if base is not None:  # a run's: the time column and steps of other data are its own
        flags = other_data(base, flags)
    data = dataclasses.replace(base or DataConfig(dataset="", task="forecast"), **flags)
    if args.calendar not in (None, "auto", "none"):  # unknown names fail before reading
        resolve(args.calendar, "h")
    panel = load_panel(data)
    if base is not None:
        check_steps(panel, base, "the run")
    if data.id_col is None and panel.id_col is not None:  # found by its name: the run keeps it
        data = dataclasses.replace(data, id_col=panel.id_col)
    if base is None and data.path is not None:  # the columns and steps found: the run keeps them
        data = dataclasses.replace(data, time_col=panel.time_col, targets=panel.targets,
                                   freq=panel.freq or data.freq)
    if args.calendar is not None or base is None:
        data = dataclasses.replace(data, calendar=resolve(args.calendar or "none", panel.freq))
    return panel, data


def _run_config(args, panel, data, holdout: bool = False):
    """The ``RunConfig`` the arguments ask for; ``holdout``: for a backtest, whose data-driven
    defaults may only look before the first origin."""
    import dataclasses

    from ..config import TrainConfig
    from ..forecasting.defaults import data_defaults, horizon_note
    from ..pipeline import make_config  # imports torch, after the data is valid

    data = dataclasses.replace(
        data,
        strategy=args.strategy,
        scale=not args.no_scale,
        log=args.log,
        stride=args.stride,
        valid_frac=args.valid_frac,
        test_frac=args.test_frac,
        intervals=getattr(args, "intervals", None) or "none",
    )
    # A backtest's defaults see only the data before its first origin.
    data, input_len = data_defaults(
        panel, data, args.season, args.horizon, "none" if args.model == "auto" else args.diff,
        args.input_len, args.folds if holdout else 0, getattr(args, "step", None), args.model)
    if args.horizon is None and data.path is not None and data.horizon < data.season:
        print(horizon_note(panel, data, args.folds if holdout else 0,
                           getattr(args, "step", None)), file=sys.stderr)
    model = {
        k: getattr(args, k)
        for k in ("hidden_size", "num_layers", "quantiles", "likelihood")
        if getattr(args, k, None) is not None
    }
    train_keys = {f.name for f in dataclasses.fields(TrainConfig)}
    train = {
        k: getattr(args, k)
        for k in (*TRAINING, "seed", *RUNTIME)
        if k in train_keys and getattr(args, k) is not None
    }
    return make_config(args.model, data, input_len, model, train)


def _default_model(args) -> None:
    """No --model: ``auto``, the search that needs no settings (said, as it takes a while);
    no flag the model chooses itself or does not read."""
    if args.model is None:
        args.model = "auto"
        print(f"no --model given: auto, a search within --budget {args.budget or BUDGET:g} s",
              file=sys.stderr)
    if args.model == "auto":
        refuse_for_auto(args)
    else:
        refuse_unread(args)


def cmd_train(args) -> int:
    _one_blas_thread()
    if args.resume is None and not (args.data or args.dataset):
        raise ValueError("train needs one of --data/--dataset (or --resume RUN_DIR)")
    if args.resume is None:
        _default_model(args)
    from .. import distributed
    from ..workflows import train

    if args.model == "auto" and int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise ValueError(AUTO_ALONE)
    distributed.init_from_env()  # under torchrun: join the process group
    if args.resume is not None:
        out, config, panel = args.resume, None, None
    else:
        panel, data = _panel_and_data(args)
        config = _run_config(args, panel, data)
        out = args.out or f"runs/{args.model}"
    search = search_config(args) if args.resume is None else None
    try:
        metrics = train(config, out, panel, resume=args.resume is not None, search=search)
    except KeyboardInterrupt:
        raise KeyboardInterrupt(f"interrupted; continue with: seqcast train --resume {out}") from None
    main = distributed.context().main
    distributed.shutdown()  # every rank has written what it writes: leave together
    if not main:
        return 0
    from ..config import RunConfig

    config = RunConfig.load(f"{out}/config.json")
    valid = metrics.get("valid")
    for note in metrics.get("warnings", []):  # a shorter window, or a baseline instead
        print(note, file=sys.stderr)
    if "search" in metrics:
        from ..report import print_search

        print_search(metrics["search"])
        print(f"auto: run written to {out}", file=sys.stderr)
        _conformal_note(out)
        return 0
    score = (
        f"validation MAE {valid['mae_mean']:.6g} over {valid['origins']} origins, "
        if valid and "mae_mean" in valid else ""
    )
    print(
        f"{config.model.name}: {score}{metrics['epochs']} epochs in {_seconds(metrics['seconds'])} s;"
        f" run written to {out}",
        file=sys.stderr,
    )
    if valid and valid.get("baselines"):
        from ..forecasting.guard import comparison

        line, warning = comparison(valid, config.model.name)
        print(line, file=sys.stderr)
        if warning:
            print(warning, file=sys.stderr)
    _conformal_note(out)
    return 0


def _conformal_note(out) -> None:
    """Which interval levels a conformal run can give, said when it is trained rather than
    when a forecast asks for more."""
    import json
    import math
    from pathlib import Path

    path = Path(out) / "calibration.json"
    if not path.is_file():
        return
    n = len(json.loads(path.read_text()).get("scores", []))
    top = math.floor(100 * n / (n + 1) + 1e-9)
    print(f"conformal intervals from {n} validation windows: --level up to {top}", file=sys.stderr)


def cmd_forecast(args) -> int:
    _one_blas_thread()
    from ..workflows import forecast

    data = {k: getattr(args, k) for k in ("time_col", "id_col", "fill", "freq", "sheet")
            if getattr(args, k)}
    if args.target:
        data["targets"] = tuple(args.target)
    if args.data or args.dataset:
        data.update(path=args.data, dataset=args.dataset or "")
    data.update({k: getattr(args, k) for k in COVARIATE_FLAGS if getattr(args, k) is not None})
    if args.future_data:
        data["future_path"] = args.future_data
    if args.calendar is not None:
        data["calendar"] = args.calendar
    if args.samples and args.level:
        raise ValueError("choose --level (interval columns) or --samples (sample paths), not both")
    frame = forecast(args.run, data, args.horizon, args.output, args.plot, args.level, args.samples,
                     args.nonnegative)
    if args.output is None:
        frame.to_csv(sys.stdout, index=False)
    return 0


def cmd_backtest(args) -> int:
    _one_blas_thread()
    import dataclasses

    from ..backtest import BASELINES
    from ..report import print_backtest
    from ..workflows import backtest

    baselines = tuple(b for b in args.baselines.split(",") if b and b != "none")
    for b in baselines:
        if b not in BASELINES:
            raise ValueError(f"unknown baseline {b!r}; valid: {', '.join(BASELINES)}, none")
    if args.run is not None:
        from ..forecasting.auto import AutoConfig
        from ..runs import load_run

        run = load_run(args.run)
        config = dataclasses.replace(run.config, train=runtime_flags(args, run.config.train))
        search = AutoConfig.of_run(run, args.run)  # its search settings, or its seeds
        # The run's own data settings (columns, covariates) unless a flag overrides them.
        panel, data = _panel_and_data(args, config.data)
        config = dataclasses.replace(config, data=data)
    else:
        if not (args.data or args.dataset):
            raise ValueError("backtest needs RUN_DIR, or --data FILE or --dataset NAME")
        _default_model(args)
        panel, data = _panel_and_data(args)
        config = _run_config(args, panel, data, holdout=True)
        search = search_config(args)
    order = None
    if args.arima_order is not None:
        o = args.arima_order
        season = config.data.season if len(o) == 6 and config.data.season > 1 else 0
        order = (tuple(o[:3]), (*o[3:], season) if season else (0, 0, 0, 0))
    result = backtest(config, args.folds, args.step, baselines, args.json, panel, order,
                      search=search, levels=args.level, forecasts_path=args.forecasts,
                      nonnegative=args.nonnegative)
    print_backtest(result, config)
    for note in result.warnings:
        print(note, file=sys.stderr)
    for scores in result.models.values():
        for note in scores.get("warnings", []):
            print(note, file=sys.stderr)
    if result.search.get("chosen"):
        from ..report import print_search

        print_search(result.search)
    return 0


def _seconds(value: float) -> str:
    """Seconds with a digit that is not zero: a closed-form fit takes milliseconds."""
    return f"{value:.1f}" if value >= 0.1 else f"{value:.2g}"
