"""Guard rails: a fitted model's validation scores beside naive and seasonal naive.

A network that loses to the last value (or the last season) on the validation origins is
worse than useless to its user; the CLI prints both side by side and warns.
"""

from __future__ import annotations

import numpy as np

from ..metrics import horizon_scores, mase_scale
from ..models.baselines import naive_forecast, seasonal_naive_forecast


def baseline_scores(forecaster, panel, splits: dict) -> dict:
    """MAE and MASE (means over the horizon) of naive and seasonal naive, from the same
    validation origins that score ``forecaster``: ``{"naive": {...}, "seasonal_naive": {...}}``.

    Args:
        splits: series id -> (end of training part, end of validation part).
    """
    H, season = forecaster.config.data.horizon, forecaster.config.data.season
    rows: dict[str, list] = {"naive": [], "seasonal_naive": []}
    truth, scales = [], []
    for s in panel:
        n_train, n_valid = splits[s.id]
        for o in range(max(n_train, forecaster.min_history), n_valid - H + 1):
            rows["naive"].append(naive_forecast(s.values[:o], H))
            rows["seasonal_naive"].append(seasonal_naive_forecast(s.values[:o], season, H))
            truth.append(s.values[o : o + H])
            scales.append(mase_scale(s.values[:n_train], season))
    if not truth:
        return {}
    out = {}
    for name, pred in rows.items():
        sc = horizon_scores(np.stack(pred) - np.stack(truth), np.array(scales))
        out[name] = {"mae_mean": sc["mae_mean"], "mase_mean": float(np.mean(sc["mase"]))}
    return out


def comparison(valid: dict, name: str) -> tuple[str, str | None]:
    """A line with ``name``'s validation MAE beside the baselines', and a warning when it is
    worse than seasonal naive (``None`` otherwise)."""
    base = valid.get("baselines", {})
    parts = [f"{name} {valid['mae_mean']:.6g}"] + [f"{b} {s['mae_mean']:.6g}" for b, s in base.items()]
    line = "validation MAE: " + ", ".join(parts)
    snaive = base.get("seasonal_naive")
    if snaive is not None and valid["mae_mean"] > snaive["mae_mean"]:
        ratio = valid["mae_mean"] / snaive["mae_mean"]
        return line, (f"warning: {name} is worse than seasonal naive on the validation origins"
                      f" ({ratio:.2f}x its MAE); try --model auto, which falls back to a baseline")
    return line, None
