"""Training as plain functions: ``fit`` a model on data that lives on the device.

Batches are index slices of a per-epoch permutation drawn from an explicit generator, so a
fixed seed gives identical runs on CPU and nothing touches the caller's RNG state. With a
checkpoint path, ``fit`` saves everything needed to continue exactly (weights, optimizer,
RNG states, position in the epoch, history) and ``resume=True`` picks it up: on CPU the
final weights are bit-identical to an uninterrupted run. Inside a ``torch.distributed``
process group each global batch is split across the ranks and gradients are averaged.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from . import distributed
from .checkpoint import load_checkpoint, save_checkpoint
from .config import TrainConfig
from .devices import cpu_threads, resolve_device  # noqa: F401  (importable from here too)
from .progress import EpochProgress
from .seeding import seeded
from .steps import GraphedStep, adam, lr_scheduler, make_step, step_schedule

Metric = Callable[[Tensor, Tensor], Tensor]


class TrainingDiverged(ValueError):
    """The training loss became NaN or infinite."""


@dataclasses.dataclass
class History:
    """Per-epoch records: ``loss``, ``val_loss``, ``val_<metric>``, ``seconds``."""

    records: dict[str, list[float]] = dataclasses.field(default_factory=dict)
    best_epoch: int | None = None

    def add(self, **values: float) -> None:
        for k, v in values.items():
            self.records.setdefault(k, []).append(float(v))

    def __getitem__(self, key: str) -> list[float]:
        return self.records[key]

    def last(self, key: str) -> float:
        return self.records[key][-1]


def _tensor(a, device: torch.device) -> Tensor:
    if not isinstance(a, Tensor):
        a = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))
    return a.to(device=device, dtype=torch.float32)


class _Data:
    """Training data: tensors on the device, or a lazy source with ``get(indices)``."""

    def __init__(self, data, device: torch.device):
        self.device = device
        if hasattr(data, "get") and hasattr(data, "__len__"):
            self.source, self.n = data, len(data)
            self.target_size = int(np.prod(data.get(np.array([0]))[1].shape[1:]))
            return
        self.source = None
        self.x, self.y = _tensor(data[0], device), _tensor(data[1], device)
        if len(self.x) != len(self.y) or len(self.x) == 0:
            raise ValueError(
                f"inputs and targets must be non-empty and aligned: {len(self.x)} vs {len(self.y)}"
            )
        self.n, self.target_size = len(self.x), int(np.prod(self.y.shape[1:]))

    def take(self, idx: Tensor) -> tuple[Tensor, Tensor]:
        if self.source is None:  # index_select: a row copy each, cheaper than advanced indexing
            return self.x.index_select(0, idx), self.y.index_select(0, idx)
        x, y = self.source.get(idx.cpu().numpy())
        return _tensor(x, self.device), _tensor(y, self.device)


@torch.no_grad()
def evaluate(
    model: nn.Module, x, y=None, metrics: Mapping[str, Metric] | None = None, batch_size: int = 512,
    loss_sum=None,
) -> dict[str, float]:
    """Loss (MSE, or ``loss_sum`` per target value) and ``metrics`` of ``model`` on (x, y), or
    on a lazy source ``x``, in eval mode."""
    device = next(model.parameters(), torch.empty(0)).device
    data = _Data(x if y is None else (x, y), device)
    was_training = model.training
    model.eval()
    preds, targets = [], []
    for i in range(0, data.n, batch_size):
        xb, yb = data.take(torch.arange(i, min(i + batch_size, data.n), device=device))
        preds.append(model(xb))
        targets.append(yb)
    model.train(was_training)
    pred, y = torch.cat(preds), torch.cat(targets)
    if loss_sum is None:
        out = {"loss": nn.functional.mse_loss(pred, y).item()}
    else:
        out = {"loss": loss_sum(pred, y).item() / y.numel()}
    for name, fn in (metrics or {}).items():
        out[name] = float(fn(y, pred))
    return out


def fit(
    model: nn.Module,
    train,
    valid=None,
    config: TrainConfig = TrainConfig(),
    metrics: Mapping[str, Metric] | None = None,
    progress: bool | None = None,
    description: str = "training",
    checkpoint: str | Path | None = None,
    resume: bool = False,
    on_epoch: Callable[[int, dict], None] | None = None,
    loss_sum=None,
) -> History:
    """Train ``model`` with Adam on MSE (or ``loss_sum``); returns the per-epoch ``History``.

    Args:
        train: (x (N, T, C), y (N, H) or (N, T', H)), arrays or tensors, or a lazy source
            with ``__len__`` and ``get(indices) -> (x, y)`` (e.g. ``ArrayWindows``).
        valid: the same for validation, evaluated after every epoch (optional).
        metrics: extra validation metrics, e.g. ``{"last_time_step_mse": fn}``.
        progress: live display; ``None`` shows it only when stderr is a terminal.
        checkpoint: file written atomically at every epoch end and, with
            ``config.checkpoint_every``, every that many steps.
        resume: continue from ``checkpoint`` instead of starting afresh.
        on_epoch: called with (epoch, record) after every epoch; it may raise to stop
            training (a search prunes unpromising trials this way), or return True to end
            it after this epoch with the weights early stopping keeps (a refit that has run
            out of time). In one process only: ranks would stop apart.
        loss_sum: ``(pred, y) -> summed loss`` for models with a distribution head
            (``seqcast.forecasting.losses.loss_for``); None trains on MSE.

    Example:
        >>> history = fit(model, (task.train.x, task.train.y), (task.valid.x, task.valid.y))
    """
    ctx = distributed.context()
    device = resolve_device(config.device)
    if device.type == "cuda" and ctx.world > 1:
        device = torch.device("cuda", torch.cuda.current_device())
    model.to(device)
    data = _Data(train, device)
    history = History()
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        return history  # nothing to learn (e.g. the naive baseline)
    if config.batch_size < ctx.world:
        raise ValueError(f"batch_size {config.batch_size} is smaller than the {ctx.world} ranks")
    optimizer = adam(params, config, device)
    scheduler = lr_scheduler(optimizer, config)
    generator = torch.Generator().manual_seed(config.seed)
    loop = _LoopState()
    saved = None
    if resume:
        if checkpoint is None:
            raise ValueError("resume needs a checkpoint path")
        saved = load_checkpoint(checkpoint)
        loop.restore(saved, model, optimizer, generator, history, config)
        if scheduler is not None and saved.get("scheduler") is not None:
            scheduler.load_state_dict(saved["scheduler"])
    net = model
    if ctx.world > 1:
        net = nn.parallel.DistributedDataParallel(
            nn.SyncBatchNorm.convert_sync_batchnorm(model) if device.type == "cuda" else model
        )

    def save(epoch: int, step: int, gen_state: Tensor, total: Tensor) -> None:
        if checkpoint is not None and ctx.main:
            save_checkpoint(checkpoint, {**loop.payload(
                epoch, step, gen_state, total.item(), model, optimizer, history, config),
                "scheduler": None if scheduler is None else scheduler.state_dict()})

    n, bs, step_count = data.n, config.batch_size, 0
    step = make_step(net, data.take, data.target_size, params, optimizer, config, ctx.world, device,
                     loss_sum)
    # A captured graph replays the rate it was captured with: a schedule runs eagerly.
    if (config.cuda_graph and device.type == "cuda" and data.source is None and ctx.world == 1
            and scheduler is None):
        step = GraphedStep(step, optimizer, bs, device)
    show = (sys.stderr.isatty() if progress is None else progress) and ctx.main
    with seeded(config.seed), cpu_threads(config.num_threads), \
            EpochProgress(show, config.epochs, description) as bar:
        if saved is not None:
            torch.set_rng_state(saved["torch_rng"])  # dropout continues where it stopped
        for epoch in range(loop.epoch, config.epochs):
            start = time.perf_counter()
            net.train()
            gen_state = generator.get_state()  # a mid-epoch resume redraws this permutation
            order = torch.randperm(n, generator=generator).to(device)
            total = torch.tensor(loop.total if epoch == loop.epoch else 0.0, device=device)
            first = loop.step if epoch == loop.epoch else 0
            for s, i in enumerate(range(first * bs, n, bs), start=first):
                idx = order[i : i + bs]
                total += step(idx[ctx.rank :: ctx.world], len(idx))
                step_count += 1
                if config.checkpoint_every and step_count % config.checkpoint_every == 0:
                    _check_finite(total, epoch, checkpoint)
                    save(epoch, s + 1, gen_state, total)
            total = distributed.all_reduce_sum(total)
            _check_finite(total, epoch, checkpoint)
            record = {"loss": total.item() / (n * data.target_size)}
            if valid is not None:
                scores = evaluate(model, *((valid,) if hasattr(valid, "get") else valid),
                                  metrics=metrics, loss_sum=loss_sum)
                record.update({f"val_{k}": v for k, v in scores.items()})
            record["seconds"] = time.perf_counter() - start
            history.add(**record)
            bar.update(epoch, record)
            halt = on_epoch is not None and bool(on_epoch(epoch, record))
            stop = loop.early_stop(record, config, model, history, epoch, valid is not None)
            step_schedule(scheduler, record)
            save(epoch + 1, 0, generator.get_state(), torch.zeros(()))
            if stop or halt:
                break
    distributed.barrier()
    if loop.best is not None:
        model.load_state_dict(loop.best)
    return history


def _check_finite(total: Tensor, epoch: int, checkpoint) -> None:
    if not torch.isfinite(total):
        kept = f"; the last good checkpoint is kept at {checkpoint}" if checkpoint else ""
        raise TrainingDiverged(f"training loss became {total.item()} in epoch {epoch + 1}{kept}")


class _LoopState:
    """Where the loop stands: epoch, step within it, early-stopping bookkeeping."""

    def __init__(self):
        self.epoch, self.step, self.total = 0, 0, 0.0
        self.best, self.best_loss, self.waited = None, math.inf, 0

    def early_stop(self, record, config, model, history, epoch, has_valid) -> bool:
        if config.patience is None or not has_valid or epoch + 1 < config.min_epochs:
            return False
        if record["val_loss"] < self.best_loss:
            self.best_loss, self.waited, history.best_epoch = record["val_loss"], 0, epoch
            self.best = copy.deepcopy(model.state_dict())
            return False
        self.waited += 1
        return self.waited > config.patience

    def payload(self, epoch, step, gen_state, total, model, optimizer, history, config) -> dict:
        return {
            "epoch": epoch, "step": step, "total": total,
            "model": model.state_dict(), "optimizer": optimizer.state_dict(),
            "generator": gen_state, "torch_rng": torch.get_rng_state(),
            "history": history.records, "best_epoch": history.best_epoch,
            "best": self.best, "best_loss": self.best_loss, "waited": self.waited,
            "train_config": dataclasses.asdict(config),
        }

    def restore(self, saved, model, optimizer, generator, history, config) -> None:
        before = saved.get("train_config", {})
        for key in ("batch_size", "seed", "lr"):
            if before.get(key) != getattr(config, key):
                raise ValueError(
                    f"cannot resume: checkpoint was trained with {key}={before.get(key)}, "
                    f"not {getattr(config, key)}"
                )
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        generator.set_state(saved["generator"])
        history.records = {k: list(v) for k, v in saved["history"].items()}
        history.best_epoch = saved["best_epoch"]
        self.epoch, self.step, self.total = saved["epoch"], saved["step"], saved["total"]
        self.best, self.best_loss, self.waited = saved["best"], saved["best_loss"], saved["waited"]
