"""The baselines' usual intervals, for scoring beside the network's.

Naive and seasonal naive: normal intervals from their in-sample residuals on the training
part, widening with the horizon as their forecast-error variance does (Hyndman &
Athanasopoulos, *Forecasting: Principles and Practice*, 3rd ed., table 5.2): naive
sigma_h = sigma sqrt(h); seasonal naive sigma_h = sigma sqrt(k + 1), k = floor((h - 1) / m).
ARIMA: statsmodels' own Gaussian prediction intervals (``ARIMA.forecast_distribution``).
"""

from __future__ import annotations

import numpy as np


def naive_std(train: np.ndarray, horizon: int) -> np.ndarray:
    """Standard deviation (H,) of the naive forecast's error h steps ahead."""
    sigma = np.std(np.diff(np.asarray(train, dtype=np.float64)))
    return sigma * np.sqrt(np.arange(1, horizon + 1))


def seasonal_naive_std(train: np.ndarray, season: int, horizon: int) -> np.ndarray:
    """Standard deviation (H,) of the seasonal naive forecast's error h steps ahead."""
    train = np.asarray(train, dtype=np.float64)
    m = season if len(train) > season else 1
    sigma = np.std(train[m:] - train[:-m])
    k = (np.arange(1, horizon + 1) - 1) // m
    return sigma * np.sqrt(k + 1)


def crps_levels(forecaster):
    """Levels for a forecaster's CRPS: the 0.05..0.95 grid, for a quantile head the part of it
    inside its range (its own levels if none is), for conformal intervals the part its
    calibration windows can give (the 0.05 and 0.95 quantiles need 9), so that models
    compare alike."""
    from .scores import CRPS_GRID

    if hasattr(forecaster, "gives"):  # conformal: a level needs enough calibration windows
        return tuple(q for q in CRPS_GRID if forecaster.gives(100 * abs(2 * q - 1)))
    cfg = forecaster.config.model
    if cfg.quantiles and not hasattr(forecaster, "calibration"):
        lo, hi = cfg.quantiles[0] - 1e-9, cfg.quantiles[-1] + 1e-9
        inside = tuple(q for q in CRPS_GRID if lo <= q <= hi)
        return inside or cfg.quantiles
    return CRPS_GRID
