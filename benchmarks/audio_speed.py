"""Audio WaveNet speed and memory on the CPU: the training step on one-second windows and
sampling through the mu-law head, each beside its reference measured in the same run.

The model is the default of ``seqcast audio train`` (2 blocks x dilations 1..512, 32
channels, receptive field 2,048, 256 mu-law classes) on 16 kHz windows of one second.
- training: forward, loss, backward and Adam on one window, with the native WaveNet stack
  (the default) and with plain PyTorch's ``F.conv1d`` layers (``set_backend("torch")``);
  samples per second of window, and the peak resident memory each step adds (each in its
  own process, from ``ru_maxrss``).
- generation: samples per second of one stream through the C loop (mu-law head, softmax
  sampling and feedback in one call) and through the eager per-sample steps; the real-time
  factor at 16 kHz is 16,000 / (samples per second).

    python benchmarks/audio_speed.py [--steps 20] [--samples 32000] [--json FILE]

(from the repository root, with seqcast installed or ``PYTHONPATH=.``; one thread)
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

RATE = 16000


def _model(backend: str):
    from seqcast.audio.config import AudioConfig
    from seqcast.audio.model import AudioModel
    from seqcast.nn.recurrent import set_backend
    from seqcast.seeding import seeded

    with seeded(0):
        model = AudioModel(AudioConfig())
    return set_backend(model, "torch" if backend == "torch" else "auto")


def train_once(backend: str, steps: int) -> dict:
    """In this process: seconds per one-second training window, and the peak memory added."""
    torch.set_num_threads(1)
    model = _model(backend)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    field, width = model.receptive_field, RATE
    gen = torch.Generator().manual_seed(0)
    x = 0.1 * torch.randn(1, width, 1, generator=gen)
    y = torch.randint(0, 256, (1, width), generator=gen)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    def step():
        logits = model(x)[:, field - 1:]
        loss = F.cross_entropy(logits.reshape(-1, 256), y[:, field - 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    step()  # warm-up: kernels built or loaded, Adam state made
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.process_time()
    for _ in range(steps):
        step()
    cpu = (time.process_time() - start) / steps
    return {"backend": backend, "seconds_per_window": cpu, "samples_per_second": width / cpu,
            "peak_mb_added": (peak - base) / 1024}


def generation(samples: int) -> dict:
    """Samples per second of one stream: the C loop and the eager steps (fewer samples)."""
    torch.set_num_threads(1)
    net = _model("auto").wavenet.eval()
    history = torch.zeros(1, 1, 1)
    rates = {}
    for name, n in (("native", samples), ("python", max(samples // 20, 200))):
        net.generate(history, 100, backend=name)  # warm-up: the kernels loaded, memory touched
        start = time.process_time()
        net.generate(history, n, generator=torch.Generator().manual_seed(0), backend=name)
        rates[name] = n / (time.process_time() - start)
    rates["eager"] = rates.pop("python")
    return {"native_samples_per_second": rates["native"], "eager_samples_per_second": rates["eager"],
            "native_over_eager": rates["native"] / rates["eager"],
            "real_time_factor_native": RATE / rates["native"],
            "real_time_factor_eager": RATE / rates["eager"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20, help="timed training windows per side")
    parser.add_argument("--samples", type=int, default=32000, help="generated samples (native)")
    parser.add_argument("--json")
    parser.add_argument("--one", choices=["native", "torch"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:  # a child: one training measurement in a fresh process
        print(json.dumps(train_once(args.one, args.steps)))
        return
    result = {"training": {}}
    for backend in ("native", "torch"):
        done = subprocess.run([sys.executable, __file__, "--one", backend, "--steps",
                               str(args.steps)], capture_output=True, text=True, check=True)
        result["training"][backend] = json.loads(done.stdout.strip().splitlines()[-1])
    t = result["training"]
    t["native_over_torch"] = t["native"]["samples_per_second"] / t["torch"]["samples_per_second"]
    result["generation"] = generation(args.samples)
    for name, r in t.items():
        if isinstance(r, dict):
            print(f"training, {name:6}: {r['samples_per_second']:,.0f} samples/s "
                  f"({r['seconds_per_window']:.3f} s CPU per 1-s window), peak memory "
                  f"+{r['peak_mb_added']:.0f} MB")
    print(f"training: native / torch = {t['native_over_torch']:.2f}")
    g = result["generation"]
    print(f"generation: native {g['native_samples_per_second']:,.0f} samples/s (real-time factor "
          f"{g['real_time_factor_native']:.3f}), eager {g['eager_samples_per_second']:,.0f} "
          f"samples/s ({g['real_time_factor_eager']:.2f}); native / eager = "
          f"{g['native_over_eager']:.1f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
