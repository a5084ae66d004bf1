"""``reproduce --suite long``: LSTM, GRU and WaveNet on the adding problem and copy memory
(Bai, Kolter and Koltun 2018), with the paper's figures beside ours.

The paper trains on a GPU at T=600 (adding) and T=1000 (copy memory); the defaults here are
sized to finish in about 15 minutes on 2 CPU cores, so they use shorter sequences and far
fewer updates. ``paper`` is the paper's figure at the paper's length, shown for reference.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..config import ModelConfig
from ..data.long_tasks import adding_problem, copy_memory
from ..models import build_model
from ..seeding import seeded

# Paper, table 1 / figures 3-4: adding T=600 MSE, copy memory T=1000 cross-entropy.
PAPER = {
    ("adding", "lstm"): 0.164, ("adding", "gru"): 5.3e-5, ("adding", "wavenet"): 5.8e-5,
    ("copy_memory", "lstm"): 0.0204, ("copy_memory", "gru"): 0.0197,
    ("copy_memory", "wavenet"): 3.5e-5,
}
PAPER_LENGTH = {"adding": 600, "copy_memory": 1000}
LONG_TASKS, LONG_MODELS = ("adding", "copy_memory"), ("lstm", "gru", "wavenet")


@dataclass(frozen=True)
class LongSizes:
    """What one run of the suite trains: sequence length, data, updates, model widths."""

    length: int = 60
    n_train: int = 8000
    n_valid: int = 1000
    steps: int = 1000
    batch_size: int = 32
    lr: float = 2e-3
    clip_norm: float = 1.0
    hidden_size: int = 32  # LSTM and GRU units
    channels: int = 24  # WaveNet residual/skip channels


@dataclass
class LongResult:
    task: str
    model: str
    value: float  # validation MSE (adding) or cross-entropy (copy memory)
    baseline: float  # the memoryless figure: what "learned nothing" scores
    seconds: float
    parameters: int

    @property
    def paper(self) -> float:
        return PAPER[(self.task, self.model)]


def _data(task: str, sizes: LongSizes, seed: int):
    rng = np.random.default_rng(seed)
    make = adding_problem if task == "adding" else copy_memory
    train, valid = make(sizes.n_train, sizes.length, rng), make(sizes.n_valid, sizes.length, rng)
    return [tuple(torch.from_numpy(a) for a in pair) for pair in (train, valid)]


def _config(task: str, model: str, sizes: LongSizes, seq_len: int) -> ModelConfig:
    adding = task == "adding"
    common = dict(input_size=2 if adding else 1, horizon=1 if adding else 10,
                  output="last" if adding else "sequence")
    if model == "wavenet":  # one block whose receptive field 2^L + 1 covers the sequence
        layers = math.ceil(math.log2(seq_len))
        return ModelConfig(name="wavenet", filters=sizes.channels, blocks=1,
                           layers_per_block=layers, **common)
    return ModelConfig(name=model, hidden_size=sizes.hidden_size, num_layers=1, **common)


def _loss(task: str, pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    if task == "adding":
        return F.mse_loss(pred, y)
    return F.cross_entropy(pred.flatten(0, 1), y.flatten())  # logits (B, T, 10), classes (B, T)


def run_long(task: str, model_name: str, sizes: LongSizes = LongSizes(), seed: int = 0
             ) -> LongResult:
    """Train ``model_name`` on ``task`` for ``sizes.steps`` Adam updates; validation figure.

    Example:
        >>> run_long("adding", "wavenet", LongSizes(length=50, steps=100)).value  # doctest: +SKIP
    """
    if task not in LONG_TASKS:
        raise ValueError(f"unknown long task {task!r}; valid: {', '.join(LONG_TASKS)}")
    if model_name not in LONG_MODELS:
        raise ValueError(
            f"unknown long-suite model {model_name!r}; valid: {', '.join(LONG_MODELS)}")
    (x, y), (vx, vy) = _data(task, sizes, seed)
    with seeded(seed):
        model = build_model(_config(task, model_name, sizes, x.shape[1]))
    params = list(model.parameters())
    optimizer = torch.optim.Adam(params, lr=sizes.lr)
    generator = torch.Generator().manual_seed(seed)
    start = time.perf_counter()
    with seeded(seed):
        for _ in range(sizes.steps):
            idx = torch.randint(len(x), (sizes.batch_size,), generator=generator)
            loss = _loss(task, model(x[idx]), y[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, sizes.clip_norm)
            optimizer.step()
    seconds = time.perf_counter() - start
    model.eval()
    with torch.no_grad():
        chunks = [(vx[i : i + 250], vy[i : i + 250]) for i in range(0, len(vx), 250)]
        value = sum(_loss(task, model(a), b).item() * len(a) for a, b in chunks) / len(vx)
    # memoryless: predict E[sum] = 1 (variance of a sum of two U(0,1) is 1/6), or blanks
    # then a uniform guess over the 8 digits at the 10 recall steps
    baseline = 1 / 6 if task == "adding" else 10 * math.log(8) / (sizes.length + 20)
    return LongResult(task, model_name, value, baseline, seconds, sum(p.numel() for p in params))


def run_long_suite(sizes: LongSizes = LongSizes(), seed: int = 0, on_result=None
                   ) -> list[LongResult]:
    """Every task x model of the suite, in order; ``on_result`` is called after each."""
    results = []
    for task in LONG_TASKS:
        for model in LONG_MODELS:
            results.append(run_long(task, model, sizes, seed))
            if on_result is not None:
                on_result(results[-1])
    return results


def write_long(results: list[LongResult], sizes: LongSizes, out) -> None:
    """``out/long.json``: the sizes used and one row per task x model."""
    import dataclasses
    import json
    from pathlib import Path

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows = [dict(dataclasses.asdict(r), paper=r.paper, paper_length=PAPER_LENGTH[r.task])
            for r in results]
    payload = {"sizes": dataclasses.asdict(sizes), "rows": rows, "torch": torch.__version__}
    (out / "long.json").write_text(json.dumps(payload, indent=2) + "\n")
