"""Synthetic series: the chapter's mixture of two sines plus noise.

Pure numpy. Randomness comes from an explicit generator; numpy's global state is never
touched, yet ``chapter_series(..., seed=42)`` returns exactly the arrays that
``np.random.seed(42); generate_time_series(...)`` gives in the book, because
``np.random.RandomState`` is the legacy global generator's algorithm (MT19937).
"""

from __future__ import annotations

import numpy as np


def generate_time_series(batch_size: int, n_steps: int, rng: np.random.RandomState) -> np.ndarray:
    """Mixture of two sines with random frequencies and offsets, plus uniform noise.

    x(t) = 0.5 sin((t - o1)(10 + 10 f1)) + 0.2 sin((t - o2)(20 + 20 f2)) + 0.1 (u - 0.5)
    with t = linspace(0, 1, n_steps). The draws happen in the book's order: one
    ``rand(4, batch, 1)`` for (f1, f2, o1, o2), then one ``rand(batch, n_steps)`` for u.

    Args:
        batch_size: number of series B.
        n_steps: length T of each series.
        rng: a ``np.random.RandomState`` (legacy stream, for the book's exact values).

    Returns:
        float32 array (B, T, 1).

    Example:
        >>> generate_time_series(2, 5, np.random.RandomState(0)).shape
        (2, 5, 1)
    """
    if batch_size < 1 or n_steps < 1:
        raise ValueError(f"batch_size and n_steps must be >= 1, got {batch_size}, {n_steps}")
    freq1, freq2, offsets1, offsets2 = rng.rand(4, batch_size, 1)
    time = np.linspace(0, 1, n_steps)
    series = 0.5 * np.sin((time - offsets1) * (freq1 * 10 + 10))
    series += 0.2 * np.sin((time - offsets2) * (freq2 * 20 + 20))
    series += 0.1 * (rng.rand(batch_size, n_steps) - 0.5)
    return series[..., np.newaxis].astype(np.float32)


def chapter_series(n_series: int = 10000, n_steps: int = 51, seed: int = 42) -> np.ndarray:
    """The chapter's data set: ``n_series`` series of ``n_steps`` from ``seed``. (B, T, 1)."""
    return generate_time_series(n_series, n_steps, np.random.RandomState(seed))
