"""Sliding windows over one long series for each forecasting strategy (pure numpy)."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

TARGETS = ("direct", "seq2seq")


def sliding_windows(
    z: np.ndarray,
    input_len: int,
    horizon: int,
    stride: int = 1,
    targets: str = "direct",
    start: int = 0,
    end: int | None = None,
    features: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Windows of ``z`` whose forecast steps all lie in ``[start, end)``.

    Window i reads ``z[o - input_len : o]`` and forecasts ``z[o : o + horizon]`` from the
    origin ``o``; origins step by ``stride`` and the last one is as late as ``end`` allows.

    Args:
        z: (T,) one series.
        targets: "direct" -> y (N, horizon); "seq2seq" -> y (N, input_len, horizon) with
            ``y[:, t, k-1] = z[o - input_len + t + k]`` (a forecast at every input step).
        features: (T, C) extra input channels aligned with ``z`` (covariates), appended.

    Returns:
        x (N, input_len, 1 + C) and y, float32; N may be 0.
    """
    if targets not in TARGETS:
        raise ValueError(f"unknown targets {targets!r}; valid: {', '.join(TARGETS)}")
    if input_len < 1 or horizon < 1 or stride < 1:
        raise ValueError(
            f"input_len, horizon and stride must be >= 1, got {input_len}, {horizon}, {stride}"
        )
    z = np.asarray(z, dtype=np.float32)
    end = len(z) if end is None else min(end, len(z))
    first, last = max(start, input_len), end - horizon
    channels = 1 + (0 if features is None else features.shape[1])
    if last < first:
        return np.zeros((0, input_len, channels), np.float32), np.zeros(
            (0, horizon) if targets == "direct" else (0, input_len, horizon), np.float32
        )
    # Origins counted back from the latest one, so the newest data is always used.
    origins = np.arange(last, first - 1, -stride)[::-1]
    span = sliding_window_view(z, input_len + horizon)[origins - input_len]  # (N, L + H)
    x = span[:, :input_len, None]
    if features is not None:  # (N, L, C) windows of the same steps
        windows = sliding_window_view(np.asarray(features, np.float32), input_len, axis=0)
        x = np.concatenate([x, windows[origins - input_len].transpose(0, 2, 1)], axis=2)
    if targets == "direct":
        y = span[:, input_len:]
    else:  # (N, L, H): the H values after each input step
        y = sliding_window_view(span[:, 1:], horizon, axis=1)[:, :input_len]
    return np.ascontiguousarray(x), np.ascontiguousarray(y)
