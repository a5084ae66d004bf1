"""WaveNet generation speed: naive re-convolution vs cached queues (Paine et al. 2016).

The paper's 30-layer WaveNet (3 blocks x dilations 1..512, 64 channels, receptive field
3,070 samples). Naive generation re-runs the network over the last receptive field for every
new sample; cached generation keeps one queue per dilated layer and does O(layers) work.
Both continue the same history and must produce the same samples.

    python benchmarks/wavenet_generation.py [--batch 1 64] [--naive-steps 4] [--steps 300]

(from the repository root, with seqcast installed or ``PYTHONPATH=.``)
"""

from __future__ import annotations

import argparse
import time

import torch

from seqcast.bench import naive_generate
from seqcast.models import WaveNet


def _rate(fn, steps: int, batch: int, device: torch.device) -> tuple[float, torch.Tensor]:
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    out = fn(steps)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return steps * batch / (time.perf_counter() - start), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 64])
    parser.add_argument("--steps", type=int, default=300, help="cached samples per stream")
    parser.add_argument("--naive-steps", type=int, default=4, help="naive samples per stream")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(0)
    model = WaveNet(channels=64, blocks=3, layers_per_block=10).to(device).eval()
    field = model.receptive_field
    print(f"WaveNet 3 x 10 layers, 64 channels, receptive field {field}, device {device}, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"{'batch':>5} {'naive samples/s':>16} {'cached samples/s':>17} {'ratio':>7}"
          f" {'max diff':>9}")
    for batch in args.batch:
        history = torch.randn(batch, field, 1, device=device) * 0.1
        model.generate(history, 2)  # warm-up (allocator, kernels)
        naive, a = _rate(lambda n, h=history: naive_generate(model, h, n), args.naive_steps,
                         batch, device)
        cached, b = _rate(lambda n, h=history: model.generate(h, n), args.steps, batch, device)
        diff = (a - b[:, : a.shape[1]]).abs().max().item()
        print(f"{batch:>5} {naive:>16.1f} {cached:>17.1f} {cached / naive:>6.0f}x {diff:>9.1e}")


if __name__ == "__main__":
    main()
