"""Error metrics (pure functions of ``y_true`` and ``y_pred``, tensors or arrays).

Shapes: (B, H) for seq2vec forecasts, (B, T, H) for seq2seq; H is the horizon axis.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor


def _pair(y_true, y_pred) -> tuple[Tensor, Tensor]:
    y_true, y_pred = torch.as_tensor(y_true), torch.as_tensor(y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"shape mismatch: y_true {tuple(y_true.shape)} vs y_pred {tuple(y_pred.shape)}")
    return y_true, y_pred.to(y_true.dtype)


def mse(y_true, y_pred) -> Tensor:
    """Mean squared error over every element."""
    y_true, y_pred = _pair(y_true, y_pred)
    return (y_pred - y_true).square().mean()


def mae(y_true, y_pred) -> Tensor:
    """Mean absolute error over every element."""
    y_true, y_pred = _pair(y_true, y_pred)
    return (y_pred - y_true).abs().mean()


def last_time_step_mse(y_true, y_pred) -> Tensor:
    """MSE of the forecasts made at the last input step: seq2seq (B, T, H) -> y[:, -1]."""
    y_true, y_pred = _pair(y_true, y_pred)
    if y_true.dim() != 3:
        raise ValueError(f"last_time_step_mse expects (B, T, H), got {tuple(y_true.shape)}")
    return mse(y_true[:, -1], y_pred[:, -1])


def per_step_mse(y_true, y_pred) -> Tensor:
    """MSE for each horizon step (last axis): (H,)."""
    y_true, y_pred = _pair(y_true, y_pred)
    return (y_pred - y_true).square().flatten(0, -2).mean(0)


def per_step_mae(y_true, y_pred) -> Tensor:
    """MAE for each horizon step (last axis): (H,)."""
    y_true, y_pred = _pair(y_true, y_pred)
    return (y_pred - y_true).abs().flatten(0, -2).mean(0)


METRICS = {
    "mse": mse,
    "mae": mae,
    "last_time_step_mse": last_time_step_mse,
}


def get_metric(name: str):
    if name not in METRICS:
        raise ValueError(f"unknown metric {name!r}; valid metrics: {', '.join(METRICS)}")
    return METRICS[name]


def horizon_scores(errors: np.ndarray, scales: np.ndarray) -> dict:
    """MAE, RMSE and MASE per horizon step (numpy, float64) for forecast errors (N, H).

    MASE divides each row's absolute errors by its series' ``scales`` (N,) (``mase_scale``).
    """
    errors = np.asarray(errors, dtype=np.float64)
    mae = np.abs(errors).mean(0)
    return {
        "mae": mae.tolist(),
        "rmse": np.sqrt(np.square(errors).mean(0)).tolist(),
        "mase": (np.abs(errors) / np.asarray(scales)[:, None]).mean(0).tolist(),
        "mae_mean": float(mae.mean()),
    }


def mase_scale(train: np.ndarray, season: int) -> float:
    """In-sample MAE of the seasonal naive forecast (lag ``season``, or 1) on ``train``."""
    m = season if season > 1 and len(train) > 2 * season else 1
    scale = float(np.abs(train[m:] - train[:-m]).mean()) if len(train) > m else 0.0
    return scale if scale > 0 else 1.0
