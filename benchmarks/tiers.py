"""CPU time of each implementation of the recurrent operation on the chapter's models.

For every ``seqcast bench`` row with recurrent layers: the row's model, a batch of 32 of its
training series, every ``Recurrent`` layer set to one implementation ("tier": native,
script, torch, loop, python; a tier that cannot run a row's layers is left out). Timed per
call: a training pass (forward, MSE, backward; no optimizer step) and an inference pass
(forward in eval mode under ``torch.no_grad``). Rounds alternate the tiers (in a new order each round)
so that other jobs' load hits them alike; best of the rounds, in ``time.process_time``.
Ratios are to the reference implementation (``python``, the cell's own step in a Python
loop) measured in the same run. ``auto`` is what ``backend="auto"`` picks with the C kernels
and without them (``SEQCAST_NATIVE=0`` or no compiler). ``--recurrent-dropout P`` sets it
on every layer: then only the step loops (loop, python) can run the layers.

    OMP_NUM_THREADS=1 PYTHONPATH=$PWD python3 benchmarks/tiers.py --json tiers.json
"""

from __future__ import annotations

import argparse
import copy
import json
import time

import torch
from torch import nn

from seqcast.backends import BackendUnavailable
from seqcast.data.datasets import chapter15
from seqcast.experiments.runner import aligned_targets
from seqcast.experiments.table import select
from seqcast.models import build_model
from seqcast.nn import Recurrent
from seqcast.seeding import seeded

TIERS = ("native", "script", "torch", "loop", "python")


def _layers(model: nn.Module) -> list[Recurrent]:
    return [m for m in model.modules() if isinstance(m, Recurrent)]


def _with_tier(model: nn.Module, tier: str, recurrent_dropout: float) -> nn.Module:
    model = copy.deepcopy(model)
    for layer in _layers(model):
        layer.backend, layer.recurrent_dropout = tier, recurrent_dropout
    return model


def _auto(model: nn.Module, x: torch.Tensor) -> tuple[str, str]:
    """What "auto" runs for the first recurrent layer, with and without the C kernels."""
    layer = _layers(model)[0]
    feed = torch.zeros(x.shape[0], x.shape[1], layer.cell.input_size)
    names = layer.backends(feed)
    return names[0], next(n for n in names if n != "native")


def _train(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> None:
    model.zero_grad(set_to_none=True)
    nn.functional.mse_loss(model(x), y).backward()


def _infer(model: nn.Module, x: torch.Tensor) -> None:
    with torch.no_grad():
        model(x)


def _per_call(fn, calls: int, *args) -> float:
    start = time.process_time()
    for _ in range(calls):
        fn(*args)
    return (time.process_time() - start) / calls * 1e6


def measure(rows=None, rounds: int = 7, calls: int = 10, batch: int = 32,
            recurrent_dropout: float = 0.0) -> list[dict]:
    out, seen = [], set()
    for exp in select(rows):
        key = (exp.task, exp.model)
        if exp.model.name == "naive" or key in seen:
            continue
        seen.add(key)
        task = chapter15(exp.task)
        with seeded(0):
            base = build_model(exp.model)
        if not _layers(base):
            continue
        x = torch.from_numpy(task.train.x[:batch])
        y = torch.from_numpy(aligned_targets(base, task.train)[:batch])
        models = {}
        for tier in TIERS:
            model = _with_tier(base, tier, recurrent_dropout).train()
            try:
                nn.functional.mse_loss(model(x), y).backward()
            except BackendUnavailable:
                continue
            models[tier] = (model, copy.deepcopy(model).eval())
        for model, frozen in models.values():  # warm-up: TorchScript's compiles, profiling
            for _ in range(3):
                _train(model, x, y)
                _infer(frozen, x)
        times = {tier: {"train": [], "infer": []} for tier in models}
        order = list(models)
        for r in range(rounds):
            for tier in order[r % len(order):] + order[:r % len(order)]:
                model, frozen = models[tier]
                times[tier]["train"].append(_per_call(_train, calls, model, x, y))
                times[tier]["infer"].append(_per_call(_infer, calls, frozen, x))
        best = {tier: {k: min(v) for k, v in t.items()} for tier, t in times.items()}
        ref = best["python"]
        auto_c, auto_no_c = _auto(_with_tier(base, "auto", recurrent_dropout), x)
        row = {"id": exp.id + (f" rd={recurrent_dropout}" if recurrent_dropout else ""),
               "cell": type(_layers(base)[0].cell).__name__, "auto": auto_c,
               "auto_without_c": auto_no_c, "tiers": {}}
        for tier, b in best.items():
            row["tiers"][tier] = {"train_us": b["train"], "infer_us": b["infer"],
                                  "train_ratio": b["train"] / ref["train"],
                                  "infer_ratio": b["infer"] / ref["infer"]}
        out.append(row)
        cells = "  ".join(f"{t} {v['train_us']:.0f}/{v['infer_us']:.0f} "
                          f"({v['train_ratio']:.2f}/{v['infer_ratio']:.2f})"
                          for t, v in row["tiers"].items())
        print(f"{row['id']} [{row['cell']}; auto {auto_c}, without C {auto_no_c}]: {cells}",
              flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=None, help="comma-separated bench rows")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=10, help="calls per timing")
    parser.add_argument("--recurrent-dropout", type=float, default=0.0,
                        help="on every layer (then only the step loops can run them)")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print("row [cell; auto's choice]: tier train/infer us per call (ratio to python)")
    rows = measure(args.only.split(",") if args.only else None, args.rounds, args.calls,
                   recurrent_dropout=args.recurrent_dropout)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"torch": torch.__version__, "threads": 1, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
