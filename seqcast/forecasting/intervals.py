"""Quantiles and sample paths of a network with a distribution head, on the original scale.

Levels are central intervals in percent: level L spans the quantiles 0.5 -/+ L/200. A head
gives, per horizon step, K quantiles or a distribution's parameters in the transformed
(differenced, scaled) space. Scaling alone is a monotone map, so quantiles of a direct or
seq2seq model on an undifferenced series invert exactly. Otherwise (differencing, or the
iterative strategy) quantiles of the steps do not add up: we draw sample paths in the
transformed space (the iterative strategy feeds each sampled value back, as DeepAR does),
invert every path through the differencing, and take quantiles over the paths.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

SAMPLES = 1000  # paths drawn per forecast when quantiles come from sample paths
POINT_ONLY = ("gives point forecasts only; train it with --quantiles, --likelihood, or"
              " --intervals conformal for intervals")


def level_quantiles(levels: Sequence[float]) -> list[float]:
    """Central-interval levels in percent -> increasing quantiles, e.g. (80,) -> [0.1, 0.9]."""
    import numbers

    if isinstance(levels, str | bytes) or not all(
            isinstance(v, numbers.Real) and not isinstance(v, bool) for v in levels):
        raise ValueError(f"interval levels must be numbers in percent, like (80, 95); got"
                         f" {levels!r}")
    for level in levels:
        if not 0.0 < level < 100.0:
            raise ValueError(f"interval levels must lie in (0, 100), got {level:g}")
        if level < 1.0:  # a probability where a percentage is meant
            raise ValueError(f"interval levels are percentages: {level:g} is a {level:g}%"
                             f" interval; for {100 * level:g}% give {100 * level:g}")
    lows = [0.5 - level / 200 for level in levels]
    return sorted({round(q, 10) for q in lows + [1 - q for q in lows]})


def has_head(model_cfg) -> bool:
    return bool(model_cfg.quantiles) or model_cfg.likelihood != "none"


def check_quantiles(model_cfg, quantiles: Sequence[float]) -> None:
    """A quantile head gives only quantiles between its lowest and highest level."""
    if not has_head(model_cfg):
        if model_cfg.name == "auto":  # its members give points; conformal bands wrap them
            raise ValueError("model 'auto' gives point forecasts only; run it with"
                             " --intervals conformal for intervals")
        raise ValueError(f"model {model_cfg.name!r} {POINT_ONLY}")
    have = model_cfg.quantiles
    if have and any(q < have[0] - 1e-9 or q > have[-1] + 1e-9 for q in quantiles):
        levels = ", ".join(f"{q:g}" for q in quantiles if q < have[0] or q > have[-1])
        raise ValueError(f"quantile(s) {levels} lie outside the model's quantiles"
                         f" {','.join(f'{q:g}' for q in have)}; retrain with wider --quantiles")


def param_quantiles(params: np.ndarray, model_cfg, quantiles: Sequence[float]) -> np.ndarray:
    """Quantiles (..., H, Q) of each step's distribution from head outputs (..., H, K)."""
    q = np.asarray(quantiles, dtype=np.float64)
    if model_cfg.quantiles:  # linear between the head's levels
        have = np.asarray(model_cfg.quantiles)
        j = np.clip(np.searchsorted(have, q, side="right") - 1, 0, max(len(have) - 2, 0))
        if len(have) == 1:
            return np.repeat(params, len(q), axis=-1)
        w = np.clip((q - have[j]) / (have[j + 1] - have[j]), 0.0, 1.0)
        return params[..., j] * (1 - w) + params[..., j + 1] * w
    mu, sigma = params[..., :1], params[..., 1:2]
    if model_cfg.likelihood == "normal":
        return mu + sigma * stats.norm.ppf(q)
    return mu + sigma * stats.t.ppf(q, params[..., 2:3])


def draw(params: np.ndarray, model_cfg, rng: np.random.Generator, samples: int) -> np.ndarray:
    """Independent draws (N, S, H) from each step's distribution, params (N, H, K)."""
    n, h = params.shape[:2]
    if model_cfg.quantiles:
        # Inverse-CDF sampling through the head's quantile function, linear between its
        # levels and continued linearly beyond them (clipped at 0.5% and 99.5%).
        have = np.asarray(model_cfg.quantiles)
        u = rng.uniform(0.005, 0.995, size=(n, samples, h))
        if len(have) == 1:
            return np.broadcast_to(params[:, None, :, 0], u.shape).copy()
        j = np.clip(np.searchsorted(have, u, side="right") - 1, 0, len(have) - 2)
        p = params[:, None, :, :]  # (N, 1, H, K)
        lo = np.take_along_axis(np.broadcast_to(p, (n, samples, h, len(have))), j[..., None], -1)
        hi = np.take_along_axis(np.broadcast_to(p, (n, samples, h, len(have))), j[..., None] + 1, -1)
        w = (u - have[j]) / (have[j + 1] - have[j])
        return lo[..., 0] + w * (hi[..., 0] - lo[..., 0])
    mu, sigma = params[:, None, :, 0], params[:, None, :, 1]
    if model_cfg.likelihood == "normal":
        eps = rng.standard_normal((n, samples, h))
    else:
        eps = rng.standard_t(np.broadcast_to(params[:, None, :, 2], (n, samples, h)))
    return mu + sigma * eps


def exact(forecaster) -> bool:
    """Whether quantiles invert without sampling: no differencing, not iterative."""
    return forecaster.config.data.strategy != "iterative" and all(
        t.span == 0 for t in forecaster.transforms.values()
    )


def forecast_frame(forecaster, panel, horizon: int | None, levels: Sequence[float]):
    """``id,time,forecast`` plus ``lo-L,hi-L`` per level for every series of ``panel``, from
    any forecaster (a network, an ensemble, a classical model, conformal bands)."""
    from ..data.io import check_length
    from ..data.load import as_panel
    from ..pipeline import future_index

    panel = as_panel(panel, forecaster.config.data)
    horizon = forecaster.config.data.horizon if horizon is None else horizon
    check_length(panel, forecaster.min_history, "input_len + differencing")
    histories, ids = [s.values for s in panel], [s.id for s in panel]
    covs = panel_covariates_of(forecaster, panel, horizon)
    point = forecaster.forecast_arrays(histories, ids, horizon, covs)
    qs = level_quantiles(levels) if levels else []
    bands = forecaster.forecast_quantiles(histories, ids, qs, horizon, covs) if qs else None
    frames = []
    for i, s in enumerate(panel):
        cols = {"id": s.id, "time": future_index(s.index, panel.freq, horizon), "forecast": point[i]}
        for level in levels:
            lo, hi = qs.index(round(0.5 - level / 200, 10)), qs.index(round(0.5 + level / 200, 10))
            cols[f"lo-{level:g}"], cols[f"hi-{level:g}"] = bands[i, :, lo], bands[i, :, hi]
        frames.append(pd.DataFrame(cols))
    return pd.concat(frames, ignore_index=True)


def samples_frame(forecaster, panel, horizon: int | None, samples: int) -> pd.DataFrame:
    """Sample paths in long format: ``id,time,sample,value``."""
    from ..data.io import check_length
    from ..data.load import as_panel
    from ..pipeline import future_index

    panel = as_panel(panel, forecaster.config.data)
    horizon = forecaster.config.data.horizon if horizon is None else horizon
    check_length(panel, forecaster.min_history, "input_len + differencing")
    if not hasattr(forecaster, "forecast_samples"):
        raise ValueError("this ensemble gives quantiles, not sample paths; use --level")
    covs = panel_covariates_of(forecaster, panel, horizon)
    paths = forecaster.forecast_samples([s.values for s in panel], [s.id for s in panel],
                                        samples, horizon, **({} if covs is None else
                                                             {"covariates": covs}))
    frames = []
    for s, p in zip(panel, paths, strict=True):
        times = future_index(s.index, panel.freq, horizon)
        frames.append(pd.DataFrame({
            "id": s.id, "time": np.tile(times, len(p)),
            "sample": np.repeat(np.arange(len(p)), horizon), "value": p.ravel(),
        }))
    return pd.concat(frames, ignore_index=True)


def panel_covariates_of(forecaster, panel, horizon: int):
    """Each series' covariates ``horizon`` steps past its end when ``forecaster``'s data
    config names covariates, else ``None``."""
    from ..data.covariate_io import panel_covariates

    return panel_covariates(panel, forecaster.config.data, horizon)


def _horizon(forecaster, horizon: int | None) -> int:
    data = forecaster.config.data
    horizon = data.horizon if horizon is None else horizon
    from ..config import check_horizon

    check_horizon(horizon, data.horizon, data.strategy)
    return horizon


def _next_row(z: np.ndarray, ahead, k: int) -> np.ndarray:
    """The input row (B, 1, C) fed back after step k: the value z (B,) and, beside it, that
    step's covariate channels ``ahead[:, k]`` (as ``seqcast.forecast.rollout`` feeds them)."""
    row = z[:, None, None].astype(np.float32)
    return row if ahead is None else np.concatenate([row, ahead[:, k : k + 1]], axis=2)


def head_rollout(forecaster, x: np.ndarray, horizon: int, ahead=None) -> np.ndarray:
    """Head outputs (N, horizon, K) for inputs x (N, L, C) in the transformed space; the
    iterative strategy feeds back each step's median beside its covariate channels
    ``ahead`` (N, horizon, C - 1), when the model reads covariates."""
    from ..forecast import predict

    cfg = forecaster.config.model
    if forecaster.config.data.strategy != "iterative":
        out = predict(forecaster.model, x).numpy()
        out = out[:, -1] if out.ndim == 4 else out  # seq2seq: the last input step's forecast
        return out[:, :horizon].astype(np.float64)
    steps = []
    for _ in range(horizon):
        p = predict(forecaster.model, x)[:, 0].numpy().astype(np.float64)  # (N, K)
        steps.append(p)
        nxt = param_quantiles(p[:, None], cfg, [0.5])[:, 0, 0]  # (N,)
        x = np.concatenate([x[:, 1:], _next_row(nxt, ahead, len(steps) - 1)], axis=1)
    return np.stack(steps, axis=1)


def sample_z(forecaster, x: np.ndarray, horizon: int, samples: int, rng, ahead=None
             ) -> np.ndarray:
    """Sample paths (N, S, horizon) in the transformed space from inputs x (N, L, C); the
    iterative strategy feeds every sampled value back into its own path, beside that step's
    covariate channels ``ahead`` (N, horizon, C - 1) when the model reads covariates."""
    from ..forecast import predict

    cfg = forecaster.config.model
    if forecaster.config.data.strategy != "iterative":
        return draw(head_rollout(forecaster, x, horizon), cfg, rng, samples)
    xs, steps = np.repeat(x, samples, axis=0), []  # (N*S, L, C)
    ahead = None if ahead is None else np.repeat(ahead, samples, axis=0)  # (N*S, horizon, C-1)
    for _ in range(horizon):
        p = predict(forecaster.model, xs)[:, :1].numpy().astype(np.float64)  # (N*S, 1, K)
        z = draw(p, cfg, rng, 1)[:, 0, 0]  # (N*S,)
        steps.append(z)
        xs = np.concatenate([xs[:, 1:], _next_row(z, ahead, len(steps) - 1)], axis=1)
    return np.stack(steps, axis=1).reshape(len(x), samples, horizon)


def sample_paths(forecaster, histories, ids, samples: int = SAMPLES, horizon: int | None = None,
                 covariates=None):
    """Sample paths (N, S, H) on the original scale, each inverted through its series'
    differencing and scaling. Seeded by the run's seed, so repeated calls agree.
    ``covariates``: one ``Covariates`` per history for a model that reads them."""
    from ..train import cpu_threads

    check_quantiles(forecaster.config.model, [])
    if samples < 1:
        raise ValueError(f"samples must be >= 1, got {samples}")
    horizon = _horizon(forecaster, horizon)
    rng = np.random.default_rng(forecaster.config.train.seed)
    x, ahead = forecaster.network_inputs(histories, ids, horizon, covariates)
    with cpu_threads(forecaster.config.train.num_threads):
        z = sample_z(forecaster, x, horizon, samples, rng, ahead)
    out = np.empty_like(z)
    for i, (h, sid) in enumerate(zip(histories, ids, strict=True)):
        h = np.asarray(h, dtype=np.float64)
        out[i] = forecaster._transform(sid).inverse(z[i], np.broadcast_to(h, (samples, len(h))))
    return out


def quantiles_of(forecaster, histories, ids, quantiles, horizon: int | None = None,
                 covariates=None):
    """Quantiles (N, H, Q) on the original scale: exact where the transforms allow, else over
    ``SAMPLES`` integrated sample paths."""
    from ..train import cpu_threads

    cfg = forecaster.config.model
    check_quantiles(cfg, quantiles)
    horizon = _horizon(forecaster, horizon)
    q = np.asarray(quantiles, dtype=np.float64)
    if not exact(forecaster):
        paths = sample_paths(forecaster, histories, ids, SAMPLES, horizon, covariates)
        return np.moveaxis(np.quantile(paths, q, axis=1), 0, -1)
    x, ahead = forecaster.network_inputs(histories, ids, horizon, covariates)
    with cpu_threads(forecaster.config.train.num_threads):
        zq = param_quantiles(head_rollout(forecaster, x, horizon, ahead), cfg, q)  # (N, H, Q)
    # no differencing: the inverse is the monotone map z * std + mean (then exp, for log)
    return np.stack([forecaster._transform(sid).inverse(zi.T, h).T
                     for zi, h, sid in zip(zq, histories, ids, strict=True)])
