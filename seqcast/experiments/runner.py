"""``reproduce``: train the chapter's rows, compare with the book, write results and figures."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..config import TrainConfig
from ..data.datasets import chapter15
from ..forecast import predict, rollout
from ..metrics import get_metric, mse
from ..models import build_model
from ..nn.conv import align_targets
from ..seeding import seeded
from ..train import History, evaluate, fit, resolve_device
from .table import Experiment, select


@dataclass
class RowResult:
    """Measured figures of one row: one value per seed, training seconds per seed."""

    experiment: Experiment
    values: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    history: History | None = None  # of the first seed, for the learning curves
    example: dict[str, np.ndarray] | None = None  # one validation series and its forecast

    @property
    def value(self) -> float:
        return float(statistics.median(self.values))

    @property
    def ratio(self) -> float | None:
        book = self.experiment.book
        return self.value / book if book else None


def aligned_targets(model, split):
    """Seq2seq targets cropped/downsampled to the steps the model's outputs answer to (conv
    front ends shorten sequences; models say how through ``alignment(input_len)``)."""
    if split.y.ndim == 3 and hasattr(model, "alignment"):
        return align_targets(split.y, model.alignment(split.x.shape[1]))
    return split.y


def run_row(exp: Experiment, seed: int, epochs: int, device: str = "auto", progress=None, cache=None):
    """Train (or reuse) the row's model for ``seed`` and measure its validation figure.

    Returns (value, training seconds, history, example) where example holds one validation
    series (``x``), its target (``y``) and our forecast (``pred``).
    """
    key = (exp.task, exp.model, exp.lr, seed, epochs, device)
    if cache is not None and key in cache:
        model, history, seconds = cache[key]
    else:
        task = chapter15(exp.task)
        with seeded(seed):
            model = build_model(exp.model)
        metrics = {} if exp.metric == "mse" else {exp.metric: get_metric(exp.metric)}
        config = TrainConfig(epochs=epochs, lr=exp.lr, seed=seed, device=device, num_threads=1)
        start = time.perf_counter()
        train_y, valid_y = aligned_targets(model, task.train), aligned_targets(model, task.valid)
        history = fit(model, (task.train.x, train_y), (task.valid.x, valid_y), config,
                      metrics, progress=progress, description=f"{exp.id} seed {seed}")
        seconds = time.perf_counter() - start
        if cache is not None:
            cache[key] = (model, history, seconds)
    if exp.strategy == "iterative":
        ten = chapter15("ten_step")
        x, y = ten.valid.x, ten.valid.y
        pred = rollout(model, x, y.shape[1])
        value = float(mse(torch.from_numpy(y), pred))
    else:
        valid = chapter15(exp.task).valid
        x, y = valid.x, aligned_targets(model, valid)
        scores = evaluate(model, x, y, {exp.metric: get_metric(exp.metric)})
        value = scores[exp.metric]
        pred = predict(model, x[:1])
    example = {"x": np.asarray(x[0, :, 0]), "y": np.asarray(y[0]), "pred": np.asarray(pred[0])}
    return value, seconds, history, example


def reproduce(
    ids: Sequence[str] | None = None,
    epochs: int = 20,
    seeds: int = 1,
    device: str = "auto",
    out: str | Path | None = None,
    progress: bool | None = None,
    on_row: Callable[[RowResult], None] | None = None,
) -> list[RowResult]:
    """Train each selected row with seeds 0..seeds-1; optionally write results to ``out``.

    Example:
        >>> rows = reproduce(["linear_1"], epochs=20, seeds=3)
        >>> rows[0].value, rows[0].experiment.book  # doctest: +SKIP
    """
    if epochs < 1 or seeds < 1:
        raise ValueError(f"epochs and seeds must be >= 1, got {epochs} and {seeds}")
    experiments = select(ids)
    device_name = str(resolve_device(device))
    cache: dict = {}
    results = []
    for exp in experiments:
        row = RowResult(exp)
        for seed in range(seeds):
            value, seconds, history, example = run_row(exp, seed, epochs, device_name, progress, cache)
            row.values.append(value)
            row.seconds.append(seconds)
            if seed == 0:
                row.history, row.example = history, example
        results.append(row)
        if on_row is not None:
            on_row(row)
    if out is not None:
        write_results(results, Path(out), epochs, device_name)
    return results


def write_results(results: list[RowResult], out: Path, epochs: int, device: str) -> None:
    """``out/results.json`` plus learning-curve and forecast figures."""
    from .. import __version__
    from ..plot import forecast_figure, learning_curves_figure

    out.mkdir(parents=True, exist_ok=True)
    rows = [
        {
            "id": r.experiment.id,
            "model": r.experiment.description,
            "metric": r.experiment.metric,
            "value": r.value,
            "values": r.values,
            "book": r.experiment.book,
            "ratio": r.ratio,
            "seconds": float(statistics.median(r.seconds)),
            "epochs": epochs if r.history and r.history.records else 0,
            "device": device,
        }
        for r in results
    ]
    payload = {"rows": rows, "torch": torch.__version__, "seqcast": __version__}
    tmp = out / "results.json.tmp"
    tmp.write_text(json.dumps(payload, indent=2) + "\n")
    tmp.replace(out / "results.json")
    curves = {r.experiment.id: r.history for r in results if r.history and r.history.records}
    if curves:
        learning_curves_figure(curves).savefig(out / "learning_curves.png", dpi=100)
    for r in results:
        if r.example is not None:
            fig = forecast_figure(r.example, title=f"{r.experiment.id}: {r.experiment.description}")
            fig.savefig(out / f"forecast_{r.experiment.id}.png", dpi=100)
