"""``seqcast bench``: training and inference speed of the chapter's models.

Every figure is a ratio against a reference measured in the same run, because shared
machines are noisy: the same architecture with the same initial weights, trained by the
plain PyTorch loop a user would write (``DataLoader`` over ``TensorDataset``, eager mode,
default Adam, torch.nn's own kernels for stock cells and a Python loop for custom cells).
"""

from __future__ import annotations

import copy
import resource
import statistics
import time
from collections.abc import Sequence

import torch
from torch import nn

from .backends import BackendUnavailable
from .backends.native import library
from .config import TrainConfig
from .data.datasets import chapter15
from .experiments.runner import aligned_targets
from .experiments.table import select
from .models import build_model
from .nn.recurrent import set_backend
from .seeding import seeded
from .train import evaluate, fit, resolve_device


def _reference_epoch(model: nn.Module, x, y, lr: float, device: torch.device) -> None:
    data = torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
    loader = torch.utils.data.DataLoader(data, batch_size=32, shuffle=True)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    for xb, yb in loader:
        xb, yb = xb.to(device), yb.to(device)
        loss = nn.functional.mse_loss(model(xb), yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


@torch.no_grad()
def _reference_validation(model: nn.Module, x, y, device: torch.device) -> None:
    data = torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
    model.eval()
    for xb, yb in torch.utils.data.DataLoader(data, batch_size=32):
        nn.functional.mse_loss(model(xb.to(device)), yb.to(device)).item()


def _timed(device: torch.device, fn, *args) -> float:
    """Wall seconds of ``fn(*args)``, synchronising the GPU around it."""
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    fn(*args)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


@torch.no_grad()
def _latency(model: nn.Module, x: torch.Tensor, device: torch.device, repeats: int) -> float:
    model.eval()
    times = [_timed(device, model, x) for _ in range(repeats)]
    return statistics.median(times)


def _peak_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # whole process, KiB on Linux


@torch.no_grad()
def naive_generate(model: nn.Module, history: torch.Tensor, steps: int) -> torch.Tensor:
    """Each sample: run the whole network over the last receptive field, keep the last output.

    history (B, T, 1) -> samples (B, steps). The slow reference for cached generation.
    """
    field, x, out = model.receptive_field, history, []
    for _ in range(steps):
        nxt = model(x[:, -field:])[:, -1, :1]  # (B, 1)
        out.append(nxt)
        x = torch.cat([x, nxt.unsqueeze(-1)], dim=1)
    return torch.cat(out, dim=1)


@torch.no_grad()
def generation(device: str = "auto", batches: Sequence[int] = (1, 64), steps: int | None = None,
               naive_steps: int = 3) -> dict:
    """WaveNet (3 x 10 layers, 64 channels) samples per second: cached queues vs naive
    re-convolution of the receptive field for every sample.

    ``cached_samples_per_s`` is ``generate``'s default path. On a GPU the figures of each
    path are given too: plain eager steps (``eager_samples_per_s``), CUDA-graph replay
    (``graph_samples_per_s``, the default at PyTorch's "highest" float32 matmul precision)
    and, with Triton, the fused kernel with TF32 products (``kernel_tf32_samples_per_s``,
    what ``generate`` uses under ``torch.set_float32_matmul_precision("high")``).
    ``steps`` defaults to 4,096 on a GPU and 200 on a CPU.
    """
    from .models import WaveNet

    dev = resolve_device(device)
    with seeded(0):
        model = WaveNet(channels=64, blocks=3, layers_per_block=10).to(dev).eval()
    field = model.receptive_field
    steps = steps or (4096 if dev.type == "cuda" else 200)
    out = {"receptive_field": field, "layers": 30, "channels": 64, "steps": steps}
    for batch in batches:
        history = torch.randn(batch, field, 1, device=dev)
        model.generate(history, 2)  # warm-up (and CUDA-graph capture on a GPU)
        naive_rate = naive_steps * batch / _timed(dev, naive_generate, model, history, naive_steps)
        cached_rate = steps * batch / _timed(dev, model.generate, history, steps)
        row = {"naive_samples_per_s": naive_rate, "cached_samples_per_s": cached_rate,
               "ratio": cached_rate / naive_rate}
        if dev.type == "cuda":
            row["graph_samples_per_s"] = steps * batch / _timed(
                dev, lambda h=history: model.generate(h, steps, fused=False))
            row["eager_samples_per_s"] = 256 * batch / _timed(
                dev, lambda h=history: model.generate(h, 256, fused=False, cuda_graph=False))
            before = torch.get_float32_matmul_precision()
            torch.set_float32_matmul_precision("high")
            try:
                model.generate(history, 2, backend="triton")  # compiles the kernel
                row["kernel_tf32_samples_per_s"] = steps * batch / _timed(
                    dev, lambda h=history: model.generate(h, steps, backend="triton"))
            except BackendUnavailable:
                pass  # no Triton, or a model it cannot run
            finally:
                torch.set_float32_matmul_precision(before)
        out[f"batch_{batch}"] = row
    return out


def bench(ids: Sequence[str] | None = None, device: str = "auto", repeats: int = 2,
          on_row=None) -> dict:
    """Seconds per epoch and per validation pass, ours vs the plain reference, per row.

    Returns ``{"rows": [...], "device": ..., "torch": ..., "threads": ..., "c_kernels": ...}``
    (``c_kernels``: whether the LSTMs' C kernels could be built here); each row holds
    ``ours_s_per_epoch``, ``reference_s_per_epoch``, ``ratio`` (ours / reference; below 1
    is faster), the validation-pass figures, one-series latency, batch throughput and
    ``peak_mb``.
    """
    dev = resolve_device(device)
    rows, seen = [], set()
    for exp in select(ids):
        key = (exp.task, exp.model, exp.lr)
        if exp.model.name == "naive" or key in seen:
            continue  # nothing to train, or the same model as an earlier row
        seen.add(key)
        task = chapter15(exp.task)
        with seeded(0):
            ours = build_model(exp.model).to(dev)
        reference = set_backend(copy.deepcopy(ours), "torch")
        train_y = aligned_targets(ours, task.train)
        valid_y = aligned_targets(ours, task.valid)
        x, vx = task.train.x, task.valid.x
        if dev.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
        # ours: fits of two epochs; the first carries the one-time costs (CUDA-graph capture,
        # TorchScript compilation), the second is the steady state compared with the reference
        config = TrainConfig(epochs=2, lr=exp.lr, device=str(dev))  # threads: the caller's
        ours_t, ours_first, ref_t, ours_v, ref_v = [], [], [], [], []
        for _ in range(repeats):  # interleaved, so drifting load hits both alike
            ref_t.append(_timed(dev, _reference_epoch, reference, x, train_y, exp.lr, dev))
            first, steady = fit(ours, (x, train_y), None, config, None, False)["seconds"]
            ours_t.append(steady)
            ours_first.append(first)
            ref_v.append(_timed(dev, _reference_validation, reference, vx, valid_y, dev))
            ours_v.append(_timed(dev, evaluate, ours, vx, valid_y))
        one = torch.from_numpy(vx[:1]).to(dev)
        batch = torch.from_numpy(vx).to(dev)
        row = {
            "id": exp.id,
            "ours_s_per_epoch": min(ours_t),
            "reference_s_per_epoch": min(ref_t),
            "ratio": min(ours_t) / min(ref_t),
            "ours_s_first_epoch": min(ours_first),
            "ours_s_per_validation": min(ours_v),
            "reference_s_per_validation": min(ref_v),
            "validation_ratio": min(ours_v) / min(ref_v),
            "latency_ms_one_series": 1e3 * _latency(ours, one, dev, 50),
            "reference_latency_ms_one_series": 1e3 * _latency(reference, one, dev, 50),
            "throughput_series_per_s": len(vx) / _latency(ours, batch, dev, 5),
            "peak_mb": _peak_mb(dev),
        }
        rows.append(row)
        if on_row is not None:
            on_row(row)
    return {"rows": rows, "device": str(dev), "torch": torch.__version__,
            "threads": torch.get_num_threads(), "c_kernels": library() is not None}
