"""Named datasets. ``chapter15(task)`` gives the chapter's train/valid/test splits."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .synthetic import chapter_series
from .windows import seq2seq_targets, split_input_target

CHAPTER15_TASKS = ("one_step", "ten_step", "seq2seq")
N_SERIES, INPUT_LEN, SEED = 10000, 50, 42
SPLITS = {"train": slice(0, 7000), "valid": slice(7000, 9000), "test": slice(9000, 10000)}


@dataclass(frozen=True)
class Split:
    """Inputs ``x`` (B, T, C) and targets ``y`` (B, H) or (B, T', H)."""

    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.x)


@dataclass(frozen=True)
class Task:
    """A supervised task: three time-ordered splits plus its shape."""

    name: str
    train: Split
    valid: Split
    test: Split
    input_len: int
    horizon: int


@lru_cache(maxsize=4)
def _series(n_steps: int) -> np.ndarray:
    series = chapter_series(N_SERIES, n_steps, SEED)
    series.flags.writeable = False  # shared by every caller of the cache
    return series


def chapter15(task: str) -> Task:
    """The chapter's data for ``task`` in ``one_step``, ``ten_step``, ``seq2seq``.

    one_step: x (B, 50, 1), y (B, 1); ten_step: y (B, 10); seq2seq: y (B, 50, 10) with
    ``y[:, t, k-1] = series[t+k]``. Train/valid/test are series 0-7000/7000-9000/9000-10000.

    Example:
        >>> chapter15("one_step").train.x.shape
        (7000, 50, 1)
    """
    if task not in CHAPTER15_TASKS:
        raise ValueError(f"unknown task {task!r}; valid tasks: {', '.join(CHAPTER15_TASKS)}")
    horizon = 1 if task == "one_step" else 10
    series = _series(INPUT_LEN + horizon)
    if task == "seq2seq":
        x, y = series[:, :INPUT_LEN], seq2seq_targets(series, INPUT_LEN, horizon)
    else:
        x, y = split_input_target(series, INPUT_LEN, horizon)
    parts = {k: Split(np.ascontiguousarray(x[s]), np.ascontiguousarray(y[s])) for k, s in SPLITS.items()}
    return Task(task, parts["train"], parts["valid"], parts["test"], INPUT_LEN, horizon)
