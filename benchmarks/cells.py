"""Epoch time of each recurrent cell on the chapter's seq2seq task, as ratios to nn.GRU.

Every variant trains the same model (2 recurrent layers of 20 units + Dense(10) per step,
batch 32, 7000 series of 50 steps) with ``seqcast.fit``; variants take turns epoch by epoch
so load from other processes hits them alike. The first round includes TorchScript's
compile and warm-up and is reported on its own. Wall-clock and CPU seconds are both
reported; on a shared machine the CPU-time ratios are the ones to trust.

    python -m benchmarks.cells --rounds 3 --threads 1    (from the repository root)
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from seqcast import ModelConfig, TrainConfig, build_model, chapter15, fit, seeded
from seqcast.nn import Recurrent

# name -> (model name, how the unroller runs it)
VARIANTS = {
    "gru (fused nn.GRU kernel)": ("gru", "fused"),
    "gru (seqcast default: BPTT kernel)": ("gru", "auto"),
    "simple rnn (seqcast default: BPTT kernel)": ("rnn", "auto"),
    "lstm (fused nn.LSTM kernel)": ("lstm", "fused"),
    "simple rnn (fused nn.RNN kernel)": ("rnn", "fused"),
    "gru (TorchScript loop)": ("gru", "script"),
    "layer-norm rnn (TorchScript loop)": ("ln_rnn", "script"),
    "peephole lstm (TorchScript loop)": ("peephole_lstm", "script"),
    "layer-norm rnn (Python loop)": ("ln_rnn", "eager"),
    "peephole lstm (Python loop)": ("peephole_lstm", "eager"),
}


def build(name: str, mode: str) -> torch.nn.Module:
    with seeded(0):
        model = build_model(ModelConfig(name=name, horizon=10, output="sequence"))
    for layer in model.modules():
        if isinstance(layer, Recurrent):  # "torch" = torch's fused kernels for stock cells
            layer.backend = {"fused": "torch", "auto": "auto", "script": "loop",
                             "eager": "python"}[mode]
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="epochs per variant, first = warm-up")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default torch's)")
    parser.add_argument("--series", type=int, default=7000, help="training series per epoch")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    task = chapter15("seq2seq")
    train = (task.train.x[: args.series], task.train.y[: args.series])
    models = {label: build(*spec) for label, spec in VARIANTS.items()}
    wall: dict[str, list[float]] = {label: [] for label in VARIANTS}
    cpu: dict[str, list[float]] = {label: [] for label in VARIANTS}
    config = TrainConfig(epochs=1, batch_size=32, device="cpu")
    for round_ in range(args.rounds):
        for label, model in models.items():
            start = time.process_time()  # CPU time: robust to other processes' load
            history = fit(model, train, config=config, progress=False)
            cpu[label].append(time.process_time() - start)
            wall[label].append(history.last("seconds"))
            print(f"round {round_} {label}: {wall[label][-1]:.2f} s wall, "
                  f"{cpu[label][-1]:.2f} s CPU", flush=True)
    steady_wall = {k: statistics.median(v[1:] or v) for k, v in wall.items()}
    steady_cpu = {k: statistics.median(v[1:] or v) for k, v in cpu.items()}
    ref = "gru (fused nn.GRU kernel)"
    print(f"\ntorch {torch.__version__}, {torch.get_num_threads()} thread(s), {args.series} "
          f"series x 50 steps, batch 32, median of {max(args.rounds - 1, 1)} epoch(s)")
    header = ("1st epoch", "epoch", "/ GRU", "CPU s", "/ GRU")
    print(f"{'variant':36s} " + " ".join(f"{h:>9s}" for h in header))
    for k in VARIANTS:
        row = (wall[k][0], steady_wall[k], steady_wall[k] / steady_wall[ref], steady_cpu[k],
               steady_cpu[k] / steady_cpu[ref])
        print(f"{k:36s} " + " ".join(f"{v:9.2f}" for v in row))

if __name__ == "__main__":
    main()
