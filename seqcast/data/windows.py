"""Windows and targets for each forecasting arrangement (pure numpy)."""

from __future__ import annotations

import numpy as np


def seq2seq_targets(series: np.ndarray, input_len: int, horizon: int) -> np.ndarray:
    """Targets for forecasting ``horizon`` steps at every input step.

    ``Y[:, t, k-1] = series[:, t+k, 0]`` for k = 1..horizon and t = 0..input_len-1.

    Args:
        series: (B, T, 1) with T >= input_len + horizon.

    Returns:
        (B, input_len, horizon) float32.
    """
    if series.ndim != 3 or series.shape[-1] != 1:
        raise ValueError(f"series must have shape (B, T, 1), got {series.shape}")
    if series.shape[1] < input_len + horizon:
        raise ValueError(
            f"series of length {series.shape[1]} is too short for input_len {input_len}"
            f" + horizon {horizon}"
        )
    # A strided view: window k starts at k and has input_len steps. (B, input_len, horizon)
    steps = [series[:, k : k + input_len, 0] for k in range(1, horizon + 1)]
    return np.stack(steps, axis=-1).astype(np.float32)


def split_input_target(series: np.ndarray, input_len: int, horizon: int):
    """Split (B, T, 1) into inputs (B, input_len, 1) and the next ``horizon`` values (B, horizon)."""
    if series.shape[1] < input_len + horizon:
        raise ValueError(
            f"series of length {series.shape[1]} is too short for input_len {input_len}"
            f" + horizon {horizon}"
        )
    x = series[:, :input_len]
    y = series[:, input_len : input_len + horizon, 0]
    return x, y
