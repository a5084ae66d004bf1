"""Training defaults for single models, chosen on data that never scores a backtest.

    OMP_NUM_THREADS=1 python benchmarks/defaults.py --models linear,lstm --json defaults.json

Series: four synthetic ones (AR(2), random walk, seasonal with trend, a 150-point AR(1)
record with horizon 10, each with noise) and
the TRAINING PARTS ONLY of the bundled real series: everything before the first origin of
the 5-fold backtest of ``benchmarks/real_series.py``. Inside each part, the last
``SELECT`` horizons are selection origins (one step apart); the model is fitted on what
comes before them (with its own early-stopping split) and scored there by MASE (the mean
over ``--seeds`` training seeds). Each
setting changes one thing from the reference (the defaults before this benchmark); a
setting's score is the geometric mean over series of its MASE divided by the reference's
MASE on the same origins, in the same run.
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

from seqcast.config import DataConfig  # noqa: E402
from seqcast.data.datasets import REAL_DATASETS, load_dataset  # noqa: E402
from seqcast.data.io import Panel, Series, from_frame  # noqa: E402
from seqcast.forecasting.defaults import data_defaults, default_input_len  # noqa: E402
from seqcast.metrics import mase_scale  # noqa: E402
from seqcast.pipeline import fit_forecaster, make_config  # noqa: E402

SELECT = 3  # horizons of selection origins at the end of each training part
REFERENCE = {"lr": 3e-3, "patience": 20, "lr_schedule": "none", "weight_decay": 0.0,
             "min_epochs": 0}
SETTINGS = {  # name -> (train overrides, input_len rule)
    "reference": ({}, None),  # "input A|B|C": input_len max(A, B, C) of season s, horizon h
    "plateau": ({"lr_schedule": "plateau"}, None),
    "cosine": ({"lr_schedule": "cosine"}, None),
    "patience 10": ({"patience": 10}, None),
    "weight decay 1e-3": ({"weight_decay": 1e-3}, None),
    "min_epochs 10": ({"min_epochs": 10}, None),
    "min_epochs 5": ({"min_epochs": 5}, None),
    "lr 1e-3": ({"lr": 1e-3}, None),
    "cosine + min_epochs 10": ({"lr_schedule": "cosine", "min_epochs": 10}, None),
    "plateau + patience 40": ({"lr_schedule": "plateau", "patience": 40}, None),
    "input 2s|h|8": ({}, lambda s, h: max(2 * s, h, 8)),
    "input 4s|3h|24": ({}, lambda s, h: max(4 * s, 3 * h, 24)),
}


def synthetic(n: int = 300, seed: int = 0) -> dict:
    """name -> (Panel, season, horizon) of the three synthetic series."""
    rng = np.random.default_rng(seed)
    ar = np.zeros(n)
    for t in range(2, n):
        ar[t] = 0.6 * ar[t - 1] - 0.3 * ar[t - 2] + rng.normal()
    walk = rng.normal(0, 1, n).cumsum()
    t = np.arange(n)
    seas = 0.05 * t + 3 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 0.5, n)
    out = {}
    heart = np.zeros(180)  # a 150-point record (and 3 horizons to select on): AR(1), level
    for t in range(1, 180):
        heart[t] = 0.9 * heart[t - 1] + rng.normal()
    heart = 70 + 3 * heart + rng.normal(0, 1, 180)
    for name, values, season, h in (("ar2", ar, 1, 6), ("walk", walk, 1, 6),
                                    ("seasonal", seas, 12, 12), ("heart", heart, 1, 10)):
        frame = pd.DataFrame({"date": pd.date_range("2000-01-01", periods=len(values), freq="MS"),
                              "y": values})
        out[name] = (from_frame(frame, name, time_col="date"), season, h)
    return out


def bundled() -> dict:
    """The bundled series cut before their first backtest origin (5 folds, step = horizon)."""
    out = {}
    for name, meta in REAL_DATASETS.items():
        panel = load_dataset(name)
        s = panel.series[0]
        first = len(s) - 5 * meta.horizon
        head = Series(s.id, s.index[:first], s.values[:first])
        out[name] = (Panel(name, panel.freq, (head,)), meta.season, meta.horizon)
    return out


def score(panel, season, horizon, model, train, rule) -> float:
    """MASE on the last ``SELECT`` horizons of ``panel`` (origins one step apart), fitted on
    what comes before them."""
    s = panel.series[0]
    first = len(s) - SELECT * horizon
    fit_part = Panel(panel.source, panel.freq,
                     (Series(s.id, s.index[:first], s.values[:first]),))
    data = DataConfig(dataset="", path=panel.source, task="forecast")
    data, input_len = data_defaults(fit_part, data, season, horizon)
    if rule is not None:  # never past what the series holds (default_input_len's room)
        room = default_input_len(1, horizon, len(fit_part.series[0]), sum(data.diff), 0.2,
                                 preferred=10**9)
        input_len = min(rule(season, horizon), room)
    config = make_config(model, data, input_len, train={**REFERENCE, **train})
    forecaster, history, _ = fit_forecaster(fit_part, config, progress=False)
    origins = range(first, len(s) - horizon + 1)
    pred = forecaster.forecast_arrays([s.values[:o] for o in origins], [s.id] * len(origins))
    truth = np.stack([s.values[o : o + horizon] for o in origins])
    return float(np.mean(np.abs(pred - truth)) / mase_scale(s.values[:first], season))


def naive_scores(series: dict) -> dict:
    """MASE of seasonal naive (naive without a season) on each series' selection origins."""
    from seqcast.models.baselines import seasonal_naive_forecast

    out = {}
    for k, (panel, season, horizon) in series.items():
        x = panel.series[0].values
        first = len(x) - SELECT * horizon
        origins = range(first, len(x) - horizon + 1)
        pred = np.stack([seasonal_naive_forecast(x[:o], season, horizon) for o in origins])
        truth = np.stack([x[o : o + horizon] for o in origins])
        out[k] = float(np.mean(np.abs(pred - truth)) / mase_scale(x[:first], season))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="linear,lstm")
    parser.add_argument("--settings", default=",".join(SETTINGS))
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--seeds", type=int, default=3, help="training seeds per series")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    series = {**synthetic(), **bundled()}
    results: dict = {"seasonal_naive": naive_scores(series)}
    print("seasonal naive", json.dumps({k: round(v, 3) for k, v in results["seasonal_naive"].items()}))
    for model in args.models.split(","):
        for name in args.settings.split(","):
            train, rule = SETTINGS[name]
            start = time.process_time()
            row = {k: float(np.mean([score(p, s, h, model, {**train, "epochs": args.epochs,
                                                             "seed": 42 + seed}, rule)
                                     for seed in range(args.seeds)]))
                   for k, (p, s, h) in series.items()}
            row["cpu_seconds"] = time.process_time() - start
            results.setdefault(model, {})[name] = row
            print(model, name, json.dumps({k: round(v, 3) for k, v in row.items()}), flush=True)
    for model, rows in results.items():
        if model == "seasonal_naive":
            continue
        ref = rows.get("reference")
        print(f"\n{model}: geometric mean of MASE / reference MASE over {len(series)} series")
        for name, row in rows.items():
            if ref:
                ratio = math.exp(np.mean([math.log(row[k] / ref[k]) for k in series]))
                row["ratio"] = ratio
                print(f"  {name:24s} {ratio:.3f}   cpu {row['cpu_seconds']:.0f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
