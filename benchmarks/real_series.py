"""`--model auto` on the bundled real series, beside ARIMA, seasonal naive and single networks.

    OMP_NUM_THREADS=1 python benchmarks/real_series.py --budget 60 --json real_series.json

Every row is a rolling-origin backtest (5 folds, one origin per horizon, each model fitted
on the data before the first origin) with default settings only: the data, its horizon and
season, nothing tuned per series. The single networks (linear, lstm, gru) take the CLI's
defaults (differencing by the tests, a window that fits the series); "best network" is the
best of them on the backtest origins themselves, which favours that reference. Then three
checks: an AR(3) series (auto vs the true coefficients), a 144-point monthly series with
horizon 12 and 3 folds backtested with every model's defaults, and a random walk (auto vs
the last value).

    python benchmarks/real_series.py --series macro --skip-checks --json macro.json

runs the same comparison on the eleven other quarterly series of statsmodels' macrodata
(us_gdp's horizon and season), which no choice in ``auto`` was made on at first (later
development runs used them). ``--series pmdarima`` takes six of pmdarima's example series
(airline passengers, wine sales, woollen yarn, Australian residents, beer, lynx), which
no choice was made on. ``--holdout K``
drops each series' last K horizons first: development runs on the folds before the
reported ones.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from seqcast.backtest import backtest  # noqa: E402
from seqcast.config import DataConfig  # noqa: E402
from seqcast.data.datasets import REAL_DATASETS, load_dataset  # noqa: E402
from seqcast.data.io import from_frame  # noqa: E402
from seqcast.forecasting.auto import AutoConfig  # noqa: E402
from seqcast.forecasting.defaults import default_input_len, resolve_diff  # noqa: E402
from seqcast.pipeline import make_config  # noqa: E402

NETWORKS = ("linear", "lstm", "gru")


def mase(result, name: str) -> float:
    return float(np.mean(result.models[name]["mase"]))


def defaults_config(name: str, panel, horizon: int, season: int, folds: int):
    """What `seqcast backtest --model NAME` builds with no other flags."""
    cut = (folds - 1) * horizon + horizon
    diff = resolve_diff(panel, season, 0.2, cut)
    data = DataConfig(dataset=panel.source, horizon=horizon, season=season, diff=diff)
    shortest = min(len(s) for s in panel) - cut
    return make_config(name, data, default_input_len(season, horizon, shortest, sum(diff)))


def holdout_panel(panel, steps: int):
    """``panel`` without its last ``steps`` steps: development runs on the data before the
    reported folds, so that what is learnt from them never saw those folds."""
    from seqcast.forecasting.candidates import head_panel

    return head_panel(panel, {s.id: len(s) - steps for s in panel}) if steps else panel


MACRO_HORIZON, MACRO_SEASON = 8, 4  # us_gdp's


def bundled():
    """(name, panel, horizon, season) of the six bundled real series."""
    for name, meta in REAL_DATASETS.items():
        yield name, load_dataset(name), meta.horizon, meta.season


def macro():
    """(name, panel, horizon, season) of the other eleven quarterly US series of statsmodels'
    macrodata (1959-2009, 203 quarters; real GDP is the bundled us_gdp), with us_gdp's
    horizon and season: series that no choice in ``auto`` was ever made on."""
    import statsmodels.api as sm

    d = sm.datasets.macrodata.load_pandas().data
    for col in d.columns:
        if col not in ("year", "quarter", "realgdp"):
            yield col, panel_of(d[col].to_numpy(dtype=float), "QS-JAN", col), \
                MACRO_HORIZON, MACRO_SEASON


# pmdarima's example series: (loader, pandas frequency, horizon, season), fixed in advance
PMDARIMA = {"airpassengers": ("load_airpassengers", "MS", 12, 12),
            "wineind": ("load_wineind", "MS", 12, 12),
            "woolyrnq": ("load_woolyrnq", "QS-JAN", 8, 4),
            "austres": ("load_austres", "QS-JAN", 8, 4),
            "ausbeer": ("load_ausbeer", "QS-JAN", 8, 4),
            "lynx": ("load_lynx", "YS-JAN", 8, 1)}


def pmdarima_series():
    """(name, panel, horizon, season) of six real series shipped with pmdarima (``pip install
    pmdarima``): monthly airline passengers and Australian wine sales, quarterly woollen
    yarn, Australian residents and beer production, and annual lynx trappings. No setting of
    seqcast was chosen on them."""
    import pmdarima.datasets as d

    for name, (loader, freq, horizon, season) in PMDARIMA.items():
        values = getattr(d, loader)(as_series=True).to_numpy(dtype=float)
        values = values[~np.isnan(values)]  # ausbeer ends with an empty quarter
        yield name, panel_of(values, freq, name), horizon, season


SERIES = {"bundled": bundled, "macro": macro, "pmdarima": pmdarima_series}


def real_series(budget: float, folds: int, only, holdout: int = 0, networks=NETWORKS,
                series=bundled) -> dict:
    rows = {}
    for name, panel, horizon, season in series():
        if only and name not in only:
            continue
        panel = holdout_panel(panel, holdout * horizon)
        data = DataConfig(dataset=name, horizon=horizon, season=season)
        t0 = time.perf_counter()
        try:
            res = backtest(panel, make_config("auto", data), folds,
                           search=AutoConfig(budget=budget))
        except ValueError as e:  # a holdout can leave a series too short for the folds
            print(f"{name}: skipped: {e}", flush=True)
            continue
        row = {m: mase(res, m) for m in ("auto", "naive", "seasonal_naive", "arima")}
        row["auto_mae"] = res.models["auto"]["mae_mean"]
        row["arima_mae"] = res.models["arima"]["mae_mean"]
        row["search_seconds"] = res.search["search_seconds"]
        row["chosen"] = [m["name"] for m in res.search["chosen"]]
        for net in networks:
            r = backtest(panel, defaults_config(net, panel, horizon, season, folds),
                         folds, baselines=())
            row[net] = mase(r, net)
        if networks:
            row["best_network"] = min(networks, key=lambda n: row[n])
        row["seconds"] = time.perf_counter() - t0
        row["horizon"] = horizon
        rows[name] = row
        print(f"{name}: " + json.dumps(row), flush=True)
    return rows


def geo(values) -> float:
    return float(math.exp(np.mean(np.log(values))))


def panel_of(values, freq: str, name: str):
    t = pd.date_range("1949-01-01", periods=len(values), freq=freq)
    return from_frame(pd.DataFrame({"time": t, name: values}), name, "time", [name])


def ar_check(budget: float, seed: int = 0) -> dict:
    """AR(3) with unit noise, 800 steps; 40 origins one step apart, horizon 3."""
    rng = np.random.default_rng(seed)
    phi = np.array([0.5, -0.3, 0.2])
    x = np.zeros(900)
    for t in range(3, 900):
        x[t] = phi @ x[t - 3 : t][::-1] + rng.normal()
    x = x[100:] + 10.0
    H, folds = 3, 40
    panel = panel_of(x, "D", "ar3")
    data = DataConfig(dataset="ar3", horizon=H, season=1)
    res = backtest(panel, make_config("auto", data), folds, step=1, baselines=(),
                   search=AutoConfig(budget=budget))
    origins = [len(x) - H - k for k in reversed(range(folds))]
    oracle, truth = [], []
    for o in origins:  # conditional mean with the true coefficients
        hist = list(x[:o] - 10.0)
        for _ in range(H):
            hist.append(phi @ np.array(hist[-3:][::-1]))
        oracle.append(np.array(hist[-H:]) + 10.0)
        truth.append(x[o : o + H])
    oracle_mse = float(np.mean((np.stack(oracle) - np.stack(truth)) ** 2))
    auto_mse = float(np.mean(np.square(res.models["auto"]["rmse"])))
    return {"auto_mse": auto_mse, "oracle_mse": oracle_mse, "ratio": auto_mse / oracle_mse,
            "chosen": [m["name"] for m in res.search["chosen"]]}


def short_monthly_check(budget: float, seed: int = 1) -> dict:
    """144 months, multiplicative trend and season (the airline series' shape), horizon 12,
    3 folds, every model with its CLI defaults."""
    from seqcast.models import MODELS

    rng = np.random.default_rng(seed)
    t = np.arange(144)
    x = np.exp(4.8 + 0.01 * t + 0.15 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 0.03, 144).cumsum() * 0.3)
    panel = panel_of(x, "MS", "monthly144")
    out = {}
    for name in ("auto", *MODELS):
        try:
            if name == "auto":
                data = DataConfig(dataset="monthly144", horizon=12, season=12)
                r = backtest(panel, make_config("auto", data), 3, baselines=("arima",),
                             search=AutoConfig(budget=budget))
            else:
                r = backtest(panel, defaults_config(name, panel, 12, 12, 3), 3, baselines=())
            key = name + ("_model" if name in ("naive", "seasonal_naive") else "")
            out[name] = {"mase": mase(r, key)}
            if name == "auto":
                out["arima"] = {"mase": mase(r, "arima")}
        except ValueError as e:
            out[name] = {"error": str(e)}
        print(f"monthly144 {name}: {out[name]}", flush=True)
    return out


def random_walk_check(budget: float, seed: int = 2) -> dict:
    """A Gaussian random walk of 400 steps, horizon 10, 10 folds: naive is the best forecast."""
    x = 100 + np.random.default_rng(seed).normal(size=400).cumsum()
    panel = panel_of(x, "D", "walk")
    data = DataConfig(dataset="walk", horizon=10, season=1)
    r = backtest(panel, make_config("auto", data), 10, baselines=("naive",),
                 search=AutoConfig(budget=budget))
    return {"auto": mase(r, "auto"), "naive": mase(r, "naive"),
            "ratio": mase(r, "auto") / mase(r, "naive"),
            "chosen": [m["name"] for m in r.search["chosen"]]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--budget", type=float, default=60.0, help="auto's seconds per series")
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--only", nargs="*", help="datasets (default: all six)")
    p.add_argument("--skip-checks", action="store_true")
    p.add_argument("--holdout", type=int, default=0,
                   help="drop each series' last HOLDOUT horizons first (development runs)")
    p.add_argument("--no-networks", action="store_true", help="skip the single networks")
    p.add_argument("--series", choices=tuple(SERIES), default="bundled",
                   help="the six bundled series, macrodata's eleven other quarterly series, or"
                        " six of pmdarima's example series")
    p.add_argument("--json", help="write every number here")
    args = p.parse_args()
    out = {"budget": args.budget, "folds": args.folds,
           "holdout": args.holdout,
           "series": real_series(args.budget, args.folds, args.only, args.holdout,
                                 () if args.no_networks else NETWORKS,
                                 SERIES[args.series])}
    s = out["series"]
    print("\n| dataset (h) | auto | ARIMA | seasonal naive | best network | auto / ARIMA"
          " | auto / best network | search s |")
    print("|---|---|---|---|---|---|---|---|")
    for name, r in s.items():
        bn = r[r["best_network"]] if "best_network" in r else float("nan")
        print(f"| {name} ({r['horizon']}) | {r['auto']:.3f} | {r['arima']:.3f}"
              f" | {r['seasonal_naive']:.3f} | {bn:.3f} ({r.get('best_network', '-')}) |"
              f" {r['auto'] / r['arima']:.2f} | {r['auto'] / bn:.2f} | {r['search_seconds']:.0f} |")
    if s:
        g = {k: geo([r[k] for r in s.values()]) for k in ("auto", "arima", "seasonal_naive")}
        g["best_network"] = geo([r[r["best_network"]] if "best_network" in r else float("nan")
                                 for r in s.values()])
        out["geomean"] = g
        print(f"| geometric mean | {g['auto']:.3f} | {g['arima']:.3f} | {g['seasonal_naive']:.3f}"
              f" | {g['best_network']:.3f} | {g['auto'] / g['arima']:.2f} |"
              f" {g['auto'] / g['best_network']:.2f} | |")
        out["worst_auto_over_arima"] = max(r["auto"] / r["arima"] for r in s.values())
        out["budget_overrun"] = max(r["search_seconds"] / args.budget for r in s.values())
        print(f"worst auto/ARIMA {out['worst_auto_over_arima']:.2f};"
              f" largest search time / budget {out['budget_overrun']:.2f}")
    if not args.skip_checks:
        out["ar3"] = ar_check(args.budget)
        print("AR(3):", out["ar3"], flush=True)
        out["random_walk"] = random_walk_check(args.budget)
        print("random walk:", out["random_walk"], flush=True)
        out["monthly144"] = short_monthly_check(args.budget)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
