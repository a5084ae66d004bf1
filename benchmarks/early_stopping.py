"""Early stopping on short series: the validation part's size and ``min_epochs``.

    OMP_NUM_THREADS=1 python benchmarks/early_stopping.py --seeds 3

Series like a 150-point heart-rate record (AR(1) around a level, noise, no season,
horizon 10): the model is fitted on the first 150 points (its own early-stopping split
inside them) and scored by MASE on the origins of the next 30 points, beside naive. Three
ways to stop: the plain 20% split, the split grown to ``MIN_VALID_WINDOWS`` origins, and
that plus ``min_epochs``. Reports the epoch whose weights were kept, the epochs run and the
MASE, as means over series seeds, all in the same run.
"""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from seqcast.config import DataConfig  # noqa: E402
from seqcast.data.io import Panel, Series, from_frame  # noqa: E402
from seqcast.forecasting import guard  # noqa: E402
from seqcast.forecasting.defaults import data_defaults  # noqa: E402
from seqcast.pipeline import fit_forecaster, make_config  # noqa: E402

FIT, AFTER, H = 150, 30, 10


def series(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.zeros(FIT + AFTER)
    for t in range(1, len(x)):
        x[t] = 0.9 * x[t - 1] + rng.normal()
    return 70 + 3 * x + rng.normal(0, 1, len(x))


def run(values: np.ndarray, model: str, min_valid: int, min_epochs: int) -> dict:
    frame = pd.DataFrame({"time": pd.date_range("2020-01-01", periods=len(values), freq="min"),
                          "bpm": values})
    full = from_frame(frame, "heart", time_col="time")
    s = full.series[0]
    head = Panel("heart", full.freq, (Series(s.id, s.index[:FIT], s.values[:FIT]),))
    data, L = data_defaults(head, DataConfig(dataset="", path="heart", task="forecast"), 1, H)
    guard.MIN_VALID_WINDOWS = min_valid  # 0: the plain valid_frac split
    cfg = make_config(model, data, L, train={"min_epochs": min_epochs})
    forecaster, history, _ = fit_forecaster(head, cfg, progress=False)
    origins = range(FIT, len(values) - H + 1)
    pred = forecaster.forecast_arrays([values[:o] for o in origins], [s.id] * len(origins))
    truth = np.stack([values[o : o + H] for o in origins])
    naive = np.stack([np.repeat(values[o - 1], H) for o in origins])
    scale = np.mean(np.abs(np.diff(values[:FIT])))
    return {"best_epoch": (history.best_epoch or 0) + 1, "epochs": len(history["loss"]),
            "mase": np.mean(np.abs(pred - truth)) / scale,
            "naive": np.mean(np.abs(naive - truth)) / scale}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--models", default="gru")
    args = parser.parse_args()
    default = guard.MIN_VALID_WINDOWS
    ways = {"20% split": (0, 0), f"{default} origins": (default, 0),
            f"{default} origins, min_epochs 10": (default, 10)}
    print("model | stopping | kept epoch | epochs run | MASE | naive MASE")
    for model in args.models.split(","):
        for name, (min_valid, min_epochs) in ways.items():
            rows = [run(series(k), model, min_valid, min_epochs) for k in range(args.seeds)]
            mean = {k: np.mean([r[k] for r in rows]) for k in rows[0]}
            print(f"{model} | {name} | {mean['best_epoch']:.1f} | {mean['epochs']:.1f} |"
                  f" {mean['mase']:.3f} | {mean['naive']:.3f}", flush=True)


if __name__ == "__main__":
    main()
