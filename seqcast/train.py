"""Training as plain functions: ``fit`` a model on tensors that live on the device.

Batches are index slices of a per-epoch permutation drawn from an explicit generator, so a
fixed seed gives identical runs on CPU and nothing touches the caller's RNG state.
"""

from __future__ import annotations

import copy
import math
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor, nn

from .config import TrainConfig
from .seeding import seeded

Metric = Callable[[Tensor, Tensor], Tensor]


@dataclass
class History:
    """Per-epoch records: ``loss``, ``val_loss``, ``val_<metric>``, ``seconds``."""

    records: dict[str, list[float]] = field(default_factory=dict)
    best_epoch: int | None = None

    def add(self, **values: float) -> None:
        for k, v in values.items():
            self.records.setdefault(k, []).append(float(v))

    def __getitem__(self, key: str) -> list[float]:
        return self.records[key]

    def last(self, key: str) -> float:
        return self.records[key][-1]


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` picks CUDA when available; ``cuda`` without a GPU is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name not in ("cpu", "cuda") and not name.startswith("cuda:"):
        raise ValueError(f"unknown device {name!r}; valid devices: auto, cpu, cuda")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} requested but no CUDA GPU is available")
    return torch.device(name)


def _tensor(a, device: torch.device) -> Tensor:
    if not isinstance(a, Tensor):
        a = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))
    return a.to(device=device, dtype=torch.float32)


@torch.no_grad()
def evaluate(
    model: nn.Module, x, y, metrics: Mapping[str, Metric] | None = None, batch_size: int = 4096
) -> dict[str, float]:
    """Loss (MSE) and ``metrics`` of ``model`` on (x, y), in eval mode."""
    device = next(model.parameters(), torch.empty(0)).device
    x, y = _tensor(x, device), _tensor(y, device)
    was_training = model.training
    model.eval()
    pred = torch.cat([model(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])
    model.train(was_training)
    out = {"loss": nn.functional.mse_loss(pred, y).item()}
    for name, fn in (metrics or {}).items():
        out[name] = float(fn(y, pred))
    return out


def fit(
    model: nn.Module,
    train: tuple,
    valid: tuple | None = None,
    config: TrainConfig = TrainConfig(),
    metrics: Mapping[str, Metric] | None = None,
    progress: bool | None = None,
    description: str = "training",
) -> History:
    """Train ``model`` with Adam on MSE; returns the per-epoch ``History``.

    Args:
        train: (x (N, T, C), y (N, H) or (N, T', H)), arrays or tensors.
        valid: the same for validation, evaluated after every epoch (optional).
        metrics: extra validation metrics, e.g. ``{"last_time_step_mse": fn}``.
        progress: live display; ``None`` shows it only when stderr is a terminal.

    Example:
        >>> history = fit(model, (task.train.x, task.train.y), (task.valid.x, task.valid.y))
    """
    device = resolve_device(config.device)
    model.to(device)
    x, y = _tensor(train[0], device), _tensor(train[1], device)
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(f"train inputs and targets must be non-empty and aligned: {len(x)} vs {len(y)}")
    history = History()
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        return history  # nothing to learn (e.g. the naive baseline)
    optimizer = torch.optim.Adam(params, lr=config.lr, eps=config.adam_eps)
    generator = torch.Generator().manual_seed(config.seed)
    best, best_loss, waited = None, math.inf, 0
    n, bs = len(x), config.batch_size
    show = sys.stderr.isatty() if progress is None else progress
    with seeded(config.seed), _Progress(show, config.epochs, description) as bar:
        for epoch in range(config.epochs):
            start = time.perf_counter()
            model.train()
            order = torch.randperm(n, generator=generator).to(device)
            total = torch.zeros((), device=device)  # summed on device: no sync per step
            for i in range(0, n, bs):
                idx = order[i : i + bs]
                loss = nn.functional.mse_loss(model(x[idx]), y[idx])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if config.clip_value is not None:
                    nn.utils.clip_grad_value_(params, config.clip_value)
                if config.clip_norm is not None:
                    nn.utils.clip_grad_norm_(params, config.clip_norm)
                optimizer.step()
                total += loss.detach() * len(idx)
            record = {"loss": (total / n).item()}
            if valid is not None:
                scores = evaluate(model, valid[0], valid[1], metrics)
                record.update({f"val_{k}": v for k, v in scores.items()})
            record["seconds"] = time.perf_counter() - start
            history.add(**record)
            bar.update(epoch, record)
            if config.patience is not None and valid is not None:
                if record["val_loss"] < best_loss:
                    best_loss, waited, history.best_epoch = record["val_loss"], 0, epoch
                    best = copy.deepcopy(model.state_dict())
                else:
                    waited += 1
                    if waited > config.patience:
                        break
    if best is not None:
        model.load_state_dict(best)
    return history


class _Progress:
    """A rich progress bar over epochs, or nothing when not shown."""

    def __init__(self, show: bool, epochs: int, description: str):
        self.show, self.epochs, self.description = show, epochs, description

    def __enter__(self):
        if self.show:
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            self.bar = Progress(
                TextColumn("{task.description}"), BarColumn(), TextColumn("epoch {task.completed}/{task.total}"),
                TextColumn("{task.fields[info]}"), TimeRemainingColumn(), transient=True,
            )
            self.bar.__enter__()
            self.task = self.bar.add_task(self.description, total=self.epochs, info="")
        return self

    def update(self, epoch: int, record: dict[str, float]) -> None:
        if self.show:
            info = " ".join(f"{k}={v:.4g}" for k, v in record.items() if k != "seconds")
            self.bar.update(self.task, completed=epoch + 1, info=info)

    def __exit__(self, *exc):
        if self.show:
            self.bar.__exit__(*exc)
        return False
