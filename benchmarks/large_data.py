"""Train one epoch on a float32 file larger than memory budgets, reading windows lazily.

    python benchmarks/large_data.py [--gb 2] [--model gru] [--stride 2000] [--dir /tmp]

Writes a .npy file of ``--gb`` GB of series (chunk by chunk, never whole in memory), then in
a fresh process trains one epoch over its windows with ``ArrayWindows(NpyFile(...))`` and
reports the peak resident memory of that process (ru_maxrss) beside its size after imports.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROW = 1 << 20  # steps per series


def write_file(path: Path, gb: float) -> tuple[int, int]:
    rows = max(1, int(gb * (1 << 30) / (ROW * 4)))
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(
            f, {"descr": "<f4", "fortran_order": False, "shape": (rows, ROW)}
        )
        t = np.arange(ROW, dtype=np.float64)
        rng = np.random.default_rng(0)
        for _ in range(rows):
            period = rng.uniform(20, 200)
            row = np.sin(2 * np.pi * t / period) + 0.1 * rng.standard_normal(ROW)
            row.astype(np.float32).tofile(f)
    return rows, ROW


def train_child(path: str, model_name: str, stride: int) -> dict:
    def rss_mb() -> float:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    from seqcast.config import ModelConfig, TrainConfig
    from seqcast.data.lazy import ArrayWindows, NpyFile
    from seqcast.models import build_model
    from seqcast.train import fit

    after_imports = rss_mb()
    source = NpyFile(path)
    windows = ArrayWindows(source, input_len=50, horizon=10, stride=stride)
    model = build_model(ModelConfig(name=model_name, input_len=50, horizon=10))
    start = time.perf_counter()
    fit(model, windows, config=TrainConfig(epochs=1, batch_size=256, device="cpu"), progress=False)
    return {"windows": len(windows), "epoch_s": time.perf_counter() - start,
            "rss_after_imports_mb": after_imports, "peak_rss_mb": rss_mb()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gb", type=float, default=2.0)
    ap.add_argument("--model", default="gru")
    ap.add_argument("--stride", type=int, default=2000)
    ap.add_argument("--dir", default="/tmp")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(train_child(args.child, args.model, args.stride)))
        return
    path = Path(args.dir) / "seqcast_large.npy"
    rows, cols = write_file(path, args.gb)
    size_gb = path.stat().st_size / (1 << 30)
    out = subprocess.run([sys.executable, __file__, "--child", str(path), "--model", args.model,
                          "--stride", str(args.stride)], capture_output=True, text=True, check=True)
    result = json.loads(out.stdout)
    print(f"file {size_gb:.2f} GiB ({rows} series x {cols} steps), model {args.model}, "
          f"{result['windows']} windows, one epoch {result['epoch_s']:.1f} s, "
          f"peak RSS {result['peak_rss_mb']:.0f} MB (after imports {result['rss_after_imports_mb']:.0f} MB)")
    path.unlink()


if __name__ == "__main__":
    main()
