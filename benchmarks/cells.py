"""Epoch time of each recurrent cell on the chapter's seq2seq task, as ratios to nn.GRU.

Every variant trains the same model (2 recurrent layers of 20 units + Dense(10) per step,
batch 32, 7000 series of 50 steps) with ``seqcast.fit``; variants take turns epoch by epoch
so load from other processes hits them alike. The first round includes TorchScript's
compile and warm-up and is reported on its own.

    python -m benchmarks.cells --rounds 3 --threads 1    (from the repository root)
"""

from __future__ import annotations

import argparse
import statistics

import torch

from seqcast import ModelConfig, TrainConfig, build_model, chapter15, fit, seeded
from seqcast.nn import Recurrent

# name -> (model name, how the unroller runs it)
VARIANTS = {
    "gru (fused nn.GRU kernel)": ("gru", "fused"),
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
        if isinstance(layer, Recurrent):
            if mode != "fused":
                layer.cell.fused = None  # a stock cell then runs its step in the loop too
            layer.compile = mode != "eager"
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="epochs per variant (first = warm-up)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--series", type=int, default=7000, help="training series per epoch")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    task = chapter15("seq2seq")
    train = (task.train.x[: args.series], task.train.y[: args.series])
    models = {label: build(*spec) for label, spec in VARIANTS.items()}
    seconds: dict[str, list[float]] = {label: [] for label in VARIANTS}
    config = TrainConfig(epochs=1, batch_size=32, device="cpu")
    for round_ in range(args.rounds):
        for label, model in models.items():
            history = fit(model, train, config=config, progress=False)
            seconds[label].append(history.last("seconds"))
            print(f"round {round_} {label}: {seconds[label][-1]:.2f} s", flush=True)
    steady = {k: statistics.median(v[1:] or v) for k, v in seconds.items()}
    ref = steady["gru (fused nn.GRU kernel)"]
    print(f"\ntorch {torch.__version__}, {torch.get_num_threads()} thread(s), "
          f"{args.series} series x 50 steps, batch 32, median of {max(args.rounds - 1, 1)} epoch(s)")
    print(f"{'variant':38s} {'first epoch s':>13s} {'epoch s':>8s} {'/ nn.GRU':>9s}")
    for label in VARIANTS:
        print(f"{label:38s} {seconds[label][0]:13.2f} {steady[label]:8.2f} {steady[label] / ref:9.2f}")


if __name__ == "__main__":
    main()
