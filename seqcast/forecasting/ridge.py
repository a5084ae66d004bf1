"""The linear model fitted in closed form: ridge regression on the windows, penalty chosen
on the validation windows.

A direct linear autoregression (the ``linear`` family: the last ``input_len`` transformed
values -> ``horizon`` values) is a least-squares problem; solving it exactly is faster and
at least as good as gradient descent. The result is an ordinary ``Forecaster`` whose
``linear`` model holds the solved weights, so it saves, loads and forecasts as any run.
"""

from __future__ import annotations

import numpy as np
import torch

from ..data.io import Panel, check_length, check_positive
from ..data.sliding import sliding_windows
from ..data.transforms import SeriesTransform, split_points

PENALTIES = (1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0)  # relative to the mean input energy


def windows(panel: Panel, config):
    """Transforms fitted on each training part and the (x, y) windows of every series.

    Returns:
        (transforms, splits, (x (N, L), y (N, H)) train, same for valid).
    """
    data, L, H = config.data, config.model.input_len, config.data.horizon
    span = sum(data.diff)
    check_length(panel, L + span + H + 1, "input_len + differencing + horizon + 1")
    if data.log:
        check_positive(panel)
    transforms, splits, parts = {}, {}, {"train": [], "valid": []}
    for s in panel:
        n_train, n_valid = split_points(len(s), data.valid_frac, data.test_frac)
        tf = SeriesTransform.fit(s.values[:n_train], data.diff, data.scale, data.log)
        z = tf.forward(s.values)  # z[j] is the value at original step j + span
        transforms[s.id], splits[s.id] = tf, (n_train, n_valid)
        parts["train"].append(sliding_windows(z, L, H, data.stride, "direct", 0, n_train - span))
        parts["valid"].append(sliding_windows(z, L, H, 1, "direct", n_train - span, n_valid - span))
    train, valid = (tuple(np.concatenate(a)[..., 0] if i == 0 else np.concatenate(a)
                          for i, a in enumerate(zip(*parts[k], strict=True)))
                    for k in ("train", "valid"))
    return transforms, splits, train, valid


def solve(x: np.ndarray, y: np.ndarray, penalty: float) -> tuple[np.ndarray, np.ndarray]:
    """Ridge weights (H, L) and intercept (H,) for x (N, L) -> y (N, H); the intercept is
    not penalised (the data are centred first)."""
    x, y = x.astype(np.float64), y.astype(np.float64)
    mx, my = x.mean(0), y.mean(0)
    xc, yc = x - mx, y - my
    gram = xc.T @ xc
    lam = penalty * max(np.trace(gram) / len(gram), 1e-12)  # scale-free penalty
    w = np.linalg.solve(gram + lam * np.eye(len(gram)), xc.T @ yc)  # (L, H)
    return w.T, my - mx @ w


def fit_ridge(panel: Panel, config, penalties=PENALTIES):
    """Fit ``config`` (model ``linear``, strategy ``direct``) by ridge regression.

    The penalty with the lowest validation MSE (transformed scale) is kept, then the weights
    are solved again on the training and validation windows together.

    Returns:
        (Forecaster, chosen penalty).
    """
    from ..pipeline import Forecaster, build_forecaster_model

    if config.model.name != "linear" or config.data.strategy != "direct":
        raise ValueError("ridge fits the linear model with strategy direct only")
    transforms, _, (xt, yt), (xv, yv) = windows(panel, config)
    if len(xt) < 2:
        raise ValueError(f"{panel.source}: too few training windows for a ridge fit")
    best = penalties[0]
    if len(xv):
        errs = [np.mean((xv @ w.T + b - yv) ** 2) for w, b in (solve(xt, yt, p) for p in penalties)]
        best = penalties[int(np.argmin(errs))]
    w, b = solve(np.concatenate([xt, xv]), np.concatenate([yt, yv]), best)
    model = build_forecaster_model(config)
    with torch.no_grad():
        model.dense.weight.copy_(torch.as_tensor(w, dtype=torch.float32))
        model.dense.bias.copy_(torch.as_tensor(b, dtype=torch.float32))
    model.eval()
    return Forecaster(config, model, transforms), best
