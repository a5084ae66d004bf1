"""Audio WaveNet speed and memory on the CPU: the training step on one-second windows and
sampling through the mu-law head, each beside its reference measured in the same run.

The model is the default of ``seqcast audio train`` (2 blocks x dilations 1..512, 32
channels, receptive field 2,048, 256 mu-law classes) on 16 kHz windows of one second.
- training: forward, loss, backward and Adam on ``--batch`` windows, with the native WaveNet
  stack (the default), the same with speaker conditioning (three speakers, the batch's
  windows taking them in turn: each layer's gates get the projected embedding through the
  stack's per-row biases), and with plain PyTorch's ``F.conv1d`` layers
  (``set_backend("torch")``); samples per second of window, and the peak resident memory
  each step adds (each in its own process, from ``ru_maxrss``). The conditioned and
  unconditioned steps are also timed alternately in one process (median of each): on a
  shared machine that comparison is steadier than two processes run one after the other.
- generation: samples per second of one stream through the C loop (mu-law head, softmax
  sampling and feedback in one call) and through the eager per-sample steps; the real-time
  factor at 16 kHz is 16,000 / (samples per second).

    python benchmarks/audio_speed.py [--steps 20] [--batch 1] [--samples 32000] [--json FILE]

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


SIDES = ("native", "conditioned", "torch")
SPEAKERS = ("a", "b", "c")


def _model(backend: str):
    from seqcast.audio.config import AudioConfig
    from seqcast.audio.model import AudioModel
    from seqcast.nn.recurrent import set_backend
    from seqcast.seeding import seeded

    with seeded(0):
        model = AudioModel(AudioConfig(speakers=SPEAKERS if backend == "conditioned" else ()))
    return set_backend(model, "torch" if backend == "torch" else "auto")


def train_once(backend: str, steps: int, batch: int = 1) -> dict:
    """In this process: seconds per one-second training window, and the peak memory added."""
    torch.set_num_threads(1)
    model = _model(backend)
    width = RATE
    gen = torch.Generator().manual_seed(0)
    x = 0.1 * torch.randn(batch, width, 1, generator=gen)
    y = torch.randint(0, 256, (batch, width), generator=gen)
    speakers = torch.arange(batch) % len(SPEAKERS) if backend == "conditioned" else None
    step = _step(model, x, y, speakers)  # the optimizer's first construction imports modules
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    step()  # warm-up: kernels built or loaded, Adam state made
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.process_time()
    for _ in range(steps):
        step()
    cpu = (time.process_time() - start) / steps / batch
    return {"backend": backend, "batch": batch, "seconds_per_window": cpu,
            "samples_per_second": width / cpu, "peak_mb_added": (peak - base) / 1024}


def _step(model, x, y, speakers):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    field = model.receptive_field

    def step():
        logits = model(x, speakers)[:, field - 1:]
        loss = F.cross_entropy(logits.reshape(-1, 256), y[:, field - 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def conditioning_cost(steps: int, batch: int = 1) -> dict:
    """Median samples/s of the unconditioned and the conditioned training step, timed
    alternately in this process (the order swapped every round)."""
    import statistics

    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(0)
    x = 0.1 * torch.randn(batch, RATE, 1, generator=gen)
    y = torch.randint(0, 256, (batch, RATE), generator=gen)
    runs = {"native": _step(_model("native"), x, y, None),
            "conditioned": _step(_model("conditioned"), x, y,
                                 torch.arange(batch) % len(SPEAKERS))}
    times = {name: [] for name in runs}
    for run in runs.values():
        run()  # warm-up
    for i in range(steps):
        for name in (list(runs) if i % 2 else list(runs)[::-1]):
            start = time.process_time()
            runs[name]()
            times[name].append(time.process_time() - start)
    rate = {name: batch * RATE / statistics.median(t) for name, t in times.items()}
    return {"batch": batch, "steps": steps, "native_samples_per_second": rate["native"],
            "conditioned_samples_per_second": rate["conditioned"],
            "conditioned_over_native": rate["conditioned"] / rate["native"]}


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
    parser.add_argument("--batch", type=int, default=1, help="training windows per step")
    parser.add_argument("--samples", type=int, default=32000, help="generated samples (native)")
    parser.add_argument("--only", nargs="+", choices=SIDES, default=list(SIDES),
                        help="training sides to measure")
    parser.add_argument("--no-generation", action="store_true")
    parser.add_argument("--json")
    parser.add_argument("--one", choices=SIDES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:  # a child: one training measurement in a fresh process
        print(json.dumps(train_once(args.one, args.steps, args.batch)))
        return
    result = {"training": {}}
    for backend in args.only:
        done = subprocess.run([sys.executable, __file__, "--one", backend, "--steps",
                               str(args.steps), "--batch", str(args.batch)],
                              capture_output=True, text=True, check=True)
        result["training"][backend] = json.loads(done.stdout.strip().splitlines()[-1])
    t = result["training"]
    rate = {name: r["samples_per_second"] for name, r in t.items()}
    if "native" in rate and "torch" in rate:
        t["native_over_torch"] = rate["native"] / rate["torch"]
    if "native" in rate and "conditioned" in rate:
        t["conditioned_over_native"] = rate["conditioned"] / rate["native"]
        result["conditioning"] = conditioning_cost(args.steps, args.batch)
    for name, r in t.items():
        if isinstance(r, dict):
            print(f"training, {name:11}: {r['samples_per_second']:,.0f} samples/s "
                  f"({r['seconds_per_window']:.3f} s CPU per 1-s window), peak memory "
                  f"+{r['peak_mb_added']:.0f} MB")
    for ratio in ("native_over_torch", "conditioned_over_native"):
        if ratio in t:
            print(f"training: {ratio.replace('_over_', ' / ')} = {t[ratio]:.2f}")
    if "conditioning" in result:
        c = result["conditioning"]
        print(f"training, alternating in one process: native {c['native_samples_per_second']:,.0f}"
              f", conditioned {c['conditioned_samples_per_second']:,.0f} samples/s (median); "
              f"conditioned / native = {c['conditioned_over_native']:.3f}")
    if args.no_generation:
        return _write(args.json, result)
    result["generation"] = generation(args.samples)
    g = result["generation"]
    print(f"generation: native {g['native_samples_per_second']:,.0f} samples/s (real-time factor "
          f"{g['real_time_factor_native']:.3f}), eager {g['eager_samples_per_second']:,.0f} "
          f"samples/s ({g['real_time_factor_eager']:.2f}); native / eager = "
          f"{g['native_over_eager']:.1f}")
    _write(args.json, result)


def _write(path: str | None, result: dict) -> None:
    if path:
        with open(path, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
