"""Interval calibration on known noise, and interval scores on the six bundled series.

    python -m benchmarks.intervals --part coverage --json coverage.json
    python -m benchmarks.intervals --part series --json series.json

coverage: 24 AR(1) series (phi 0.6, N(0, 1) noise, 400 steps) and 24 random walks; every
method is trained on the first half of each series, early-stopped (and, for conformal,
calibrated) on the next quarter, and scored on every origin of the last quarter (2,352
origins, horizon 3). The random walks are differenced (lag 1), so their intervals come from
integrated sample paths.

series: backtests at level 80 (5 folds, the default) on co2, elec_equip, sunspots, nile,
elnino and us_gdp. Settings fixed in advance, the same for every series: GRU with the
pipeline's defaults, direct strategy, the dataset's horizon and season, the CLI's default
input length max(3 season, 2 horizon, 12), differencing chosen by the ``auto`` tests on the
data before the first origin only, and split-conformal intervals calibrated on the
validation windows inside that part. A normal head (same settings) is reported beside it.
``--methods auto``: the networks' search (``--model auto --networks-only``) with conformal
intervals instead; ``--methods auto_full``: ``--model auto`` with every kind of candidate.
``--series macro``: statsmodels' macrodata's eleven other quarterly series (us_gdp's
horizon and season); ``--series pmdarima``: six of pmdarima's example
series (``benchmarks.real_series.PMDARIMA``), which no choice was made on. ``--holdout K`` drops
each series' last K horizons first.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from seqcast.backtest import backtest, origins_of  # noqa: E402
from seqcast.config import DataConfig  # noqa: E402
from seqcast.data.datasets import REAL_DATASETS, load_dataset  # noqa: E402
from seqcast.data.io import Panel, Series  # noqa: E402
from seqcast.forecasting.auto import AutoConfig  # noqa: E402
from seqcast.forecasting.candidates import head_panel  # noqa: E402
from seqcast.pipeline import fit_forecaster, make_config  # noqa: E402
from seqcast.workflows import resolve_diff  # noqa: E402

METHODS = {
    "quantile": ({"quantiles": (0.025, 0.1, 0.5, 0.9, 0.975)}, {}),
    "normal": ({"likelihood": "normal"}, {}),
    "studentt": ({"likelihood": "studentt"}, {}),
    "conformal": ({}, {"intervals": "conformal"}),
    # --model auto --networks-only: network settings chosen on validation origins inside the
    # data before the first origin, the chosen members' median calibrated by conformal
    "auto": ({}, {"intervals": "conformal"}),
    # --model auto as the CLI runs it (every kind of candidate), with its intervals
    "auto_full": ({}, {}),
}
DATASETS = ("co2", "elec_equip", "sunspots", "nile", "elnino", "us_gdp")


def synthetic(n_series=24, length=400, phi=0.6, walk=False, seed=0) -> Panel:
    """10 + x_t with x_t = phi x_{t-1} + e_t (or a random walk), e_t ~ N(0, 1)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n_series):
        e, x = rng.standard_normal(length), np.zeros(length)
        for t in range(1, length):
            x[t] = (1.0 if walk else phi) * x[t - 1] + e[t]
        out.append(Series(f"s{i}", pd.RangeIndex(length), 10.0 + x))
    return Panel("walk" if walk else "ar1", None, tuple(out))


def coverage(models=("linear", "gru")) -> list[dict]:
    rows = []
    cases = [(m, meth, "direct", False) for m in models for meth in METHODS]
    cases += [(m, "normal", "iterative", False) for m in models]
    cases += [(m, meth, "direct", True) for m in models for meth in ("normal", "quantile")]
    for model, method, strategy, walk in cases:
        head, data_kw = METHODS[method]
        data = DataConfig(dataset="", task="forecast", horizon=3, strategy=strategy,
                          valid_frac=0.25, test_frac=0.25, diff=(1,) if walk else (), **data_kw)
        cfg = make_config(model, data, 10, head)
        start = time.process_time()
        _, history, metrics = fit_forecaster(synthetic(walk=walk), cfg, progress=False)
        test = metrics["test"]
        row = {"model": model, "method": method, "strategy": strategy,
               "series": "random walk, diff 1" if walk else "AR(1)", "origins": test["origins"],
               "epochs": len(history.records.get("loss", [])),
               **{f"coverage_{lv}": test["intervals"][lv]["coverage"] for lv in ("80", "95")},
               "crps": test["crps"], "cpu_s": time.process_time() - start}
        print(json.dumps(row), flush=True)
        rows.append(row)
    return rows


def bundled():
    for name in DATASETS:
        meta = REAL_DATASETS[name]
        yield name, load_dataset(name), meta.horizon, meta.season


def series(methods=("conformal", "normal"), folds: int = 5, seeds: int = 1,
           holdout: int = 0, budget: float = 60.0, which=bundled) -> list[dict]:
    """``seeds`` > 1: the GRU is the median of that many seeds (calibrated as one model);
    ``holdout``: drop each series' last ``holdout`` horizons first (development runs that
    never see the reported folds)."""
    rows = []
    for name, panel, horizon, season in which():
        panel = head_panel(panel, {s.id: len(s) - holdout * horizon for s in panel})
        first = origins_of(len(panel.series[0]), folds, horizon, horizon)[0]
        head = head_panel(panel, {s.id: first for s in panel})
        diff = resolve_diff(head, season, 0.2)  # the auto tests on data before the first origin
        input_len = max(3 * season, 2 * horizon, 12)
        for i, method in enumerate(methods):
            model, data_kw = METHODS[method]
            data = DataConfig(dataset=name, task="forecast", horizon=horizon, season=season,
                              diff=diff, **data_kw)
            baselines = ("seasonal_naive", "arima") if i == 0 else ()
            if method.startswith("auto"):  # the search chooses window and differencing
                net = "auto"
                cfg = make_config("auto", dataclasses.replace(data, diff=()))
                search = AutoConfig(budget=budget, classical=method != "auto")
            else:
                net = "gru"
                cfg = make_config("gru", data, input_len, model)
                search = AutoConfig(ensemble=seeds) if seeds > 1 else None
            try:
                result = backtest(panel, cfg, folds=folds, baselines=baselines, levels=(80,),
                                  search=search)
            except ValueError as e:  # a holdout can leave a series too short for the folds
                print(f"{name} {method}: skipped: {e}", flush=True)
                continue
            for model_name, s in result.models.items():
                mine = model_name == net
                row = {"dataset": name, "model": model_name, "method": method if mine
                       else "own", "diff": list(diff), "input_len": input_len,
                       "seeds": seeds if mine and net == "gru" else 1,
                       **({"chosen": [m["name"] for m in result.search["chosen"]]}
                          if mine and net == "auto" else {}),
                       **({"calibration": result.search.get("calibration_origins",
                                                            result.search.get("calibration"))}
                          if mine and net == "auto" else {}),
                       **s["intervals"]["80"], "crps": s["crps"], "mae": s["mae_mean"],
                       "seconds": s["seconds"]}
                print(json.dumps(row), flush=True)
                rows.append(row)
    return rows


def _series(name: str):
    from benchmarks.real_series import SERIES

    return bundled if name == "bundled" else SERIES[name]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--part", choices=["coverage", "series"], required=True)
    p.add_argument("--methods", default="conformal,normal",
                   help="series: the GRU's interval methods (" + ", ".join(METHODS) + ")")
    p.add_argument("--seeds", type=int, default=1, help="series: the GRU's seeds (median)")
    p.add_argument("--budget", type=float, default=60.0, help="series: auto's seconds")
    p.add_argument("--series", choices=("bundled", "macro", "pmdarima"), default="bundled",
                   help="series: the six bundled series, macrodata's eleven other ones, or six"
                        " of pmdarima's example series")
    p.add_argument("--holdout", type=int, default=0,
                   help="series: drop each series' last HOLDOUT horizons first")
    p.add_argument("--json", help="write the rows here")
    args = p.parse_args()
    rows = coverage() if args.part == "coverage" else series(
        tuple(args.methods.split(",")), seeds=args.seeds, holdout=args.holdout,
        budget=args.budget, which=_series(args.series))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
