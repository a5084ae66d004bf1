"""Long-memory benchmarks of Bai, Kolter and Koltun 2018 ("An Empirical Evaluation of Generic
Convolutional and Recurrent Networks for Sequence Modeling"), as their reference code builds
them. Pure numpy; randomness from an explicit ``np.random.Generator``.
"""

from __future__ import annotations

import numpy as np


def adding_problem(n: int, length: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two channels: values ~ U[0, 1) and a mask with ones at two random distinct steps;
    the target is the sum of the two marked values. Predicting 1 always scores MSE ~0.167.

    Returns:
        x (n, length, 2) float32, y (n, 1) float32.

    Example:
        >>> x, y = adding_problem(4, 600, np.random.default_rng(0)); x.shape, y.shape
        ((4, 600, 2), (4, 1))
    """
    if n < 1 or length < 2:
        raise ValueError(f"adding_problem needs n >= 1 and length >= 2, got {n}, {length}")
    values = rng.random((n, length))
    marks = np.argsort(rng.random((n, length)), axis=1)[:, :2]  # two distinct steps per row
    mask = np.zeros((n, length))
    np.put_along_axis(mask, marks, 1.0, axis=1)
    x = np.stack([values, mask], axis=-1).astype(np.float32)
    y = np.take_along_axis(values, marks, axis=1).sum(1, keepdims=True).astype(np.float32)
    return x, y


def copy_memory(n: int, length: int, rng: np.random.Generator, memory: int = 10
                ) -> tuple[np.ndarray, np.ndarray]:
    """``memory`` digits in 1..8, ``length - 1`` blanks (0), then ``memory + 1`` markers (9);
    the model must output blanks (class 0) and, after the first marker, repeat the digits.
    A memoryless model scores cross-entropy ``memory * ln 8 / (length + 2 memory)``.

    Returns:
        x (n, length + 2 memory, 1) float32 digits, y (n, length + 2 memory) int64 classes 0..9.

    Example:
        >>> x, y = copy_memory(2, 1000, np.random.default_rng(0)); x.shape, y.shape
        ((2, 1020, 1), (2, 1020))
    """
    if n < 1 or length < 1 or memory < 1:
        raise ValueError(f"copy_memory needs n, length, memory >= 1, got {n}, {length}, {memory}")
    digits = rng.integers(1, 9, size=(n, memory))
    x = np.concatenate([digits, np.zeros((n, length - 1)), np.full((n, memory + 1), 9)], axis=1)
    y = np.concatenate([np.zeros((n, memory + length)), digits], axis=1)
    return x[..., None].astype(np.float32), y.astype(np.int64)
