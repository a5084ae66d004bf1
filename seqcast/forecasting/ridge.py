"""The linear model fitted in closed form: ridge regression on the windows, penalty chosen
on the validation windows.

A direct linear autoregression (the ``linear`` family: the last ``input_len`` transformed
values -> ``horizon`` values) is a least-squares problem; solving it exactly is faster and
at least as good as gradient descent. The result is an ordinary ``Forecaster`` whose
``linear`` model holds the solved weights, so it saves, loads and forecasts as any run.

With covariates (past, future-known, calendar, numeric static), the regression also reads
their channels at the last ``1 + differencing`` input steps: those hold the future values
over the horizon and, for a differenced target, the ones its differences span (the layout
of ``seqcast.data.covariates``). The linear model's weights on the earlier steps' covariate
channels are zero. Categorical static columns (embedded by the networks) are not read.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from ..data.covariate_io import training_covariates
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
    splits = {s.id: split_points(len(s), data.valid_frac, data.test_frac) for s in panel}
    covs, scaler = training_covariates(panel, data, splits)
    transforms, parts = {}, {"train": [], "valid": []}
    for s in panel:
        n_train, n_valid = splits[s.id]
        tf = SeriesTransform.fit(s.values[:n_train], data.diff, data.scale, data.log)
        z = tf.forward(s.values)  # z[j] is the value at original step j + span
        feats = None if scaler is None else scaler.features(covs[s.id], len(s), H)[span:]
        transforms[s.id] = tf
        parts["train"].append(sliding_windows(z, L, H, data.stride, "direct", 0, n_train - span,
                                              feats))
        parts["valid"].append(sliding_windows(z, L, H, 1, "direct", n_train - span,
                                              n_valid - span, feats))
    train, valid = (tuple(np.concatenate(a) for a in zip(*parts[k], strict=True))
                    for k in ("train", "valid"))
    return transforms, splits, scaler, train, valid


def _features(x: np.ndarray, k: int) -> np.ndarray:
    """The regression's inputs from windows x (N, L, C): every target value, and the
    covariate channels of the last ``k`` steps."""
    return np.concatenate([x[:, :, 0], x[:, -k:, 1:].reshape(len(x), k * (x.shape[2] - 1))],
                          axis=1)


def _weights(w: np.ndarray, L: int, C: int, k: int) -> np.ndarray:
    """The linear model's weights (H, L * C) from the regression's (H, L + k * (C - 1))."""
    full = np.zeros((len(w), L, C))
    full[:, :, 0] = w[:, :L]
    full[:, L - k:, 1:] = w[:, L:].reshape(len(w), k, C - 1)
    return full.reshape(len(w), L * C)


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
    if config.data.static_covariates:
        raise ValueError("ridge does not read static covariates")
    transforms, _, scaler, (xt, yt), (xv, yv) = windows(panel, config)
    L, C = xt.shape[1], xt.shape[2]
    k = min(L, 1 + sum(config.data.diff))
    xt, xv = _features(xt, k), _features(xv, k)
    if len(xt) < 2:
        raise ValueError(f"{panel.source}: too few training windows for a ridge fit")
    best = penalties[0]
    if len(xv):
        errs = [np.mean((xv @ w.T + b - yv) ** 2) for w, b in (solve(xt, yt, p) for p in penalties)]
        best = penalties[int(np.argmin(errs))]
    w, b = solve(np.concatenate([xt, xv]), np.concatenate([yt, yv]), best)
    if scaler is not None:  # the network's input channels: target and covariates
        config = dataclasses.replace(config, model=dataclasses.replace(
            config.model, input_size=scaler.input_size(config.data.horizon)))
    model = build_forecaster_model(config, scaler)
    with torch.no_grad():
        model.dense.weight.copy_(torch.as_tensor(_weights(w, L, C, k), dtype=torch.float32))
        model.dense.bias.copy_(torch.as_tensor(b, dtype=torch.float32))
    model.eval()
    return Forecaster(config, model, transforms, scaler), best
