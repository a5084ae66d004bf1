"""Fast in-process forecasts: arrays in the data's units in, arrays in them out.

``Forecaster.forecast_arrays`` is written for clarity: one ``SeriesTransform`` call per
series, validation of every history. ``Predictor`` does the same arithmetic once per batch:
each series' scaling statistics stacked in arrays, differencing and its inverse on the whole
batch in numpy (float64), the network under ``torch.inference_mode`` on its fastest kernels
(the C kernels on a CPU), in chunks of rows that keep a recurrent layer's per-step state in
the CPU's caches, spread over ``torch.get_num_threads()`` threads. Results equal
``forecast_arrays``'s (tests/test_predict.py). Covariates, given as the exported graph takes
them, become the network's channels through the graph's own module
(``graph_inputs.CovariateChannels``), so both paths share that arithmetic. A run with a
quantile or distribution head forecasts each step's median (fed back along the path by the
iterative strategy), read from the head by the exported graph's module
(``head_graph.StepQuantiles``).

Example:
    >>> load_run("runs/co2").predict(co2_values[-48:])  # doctest: +SKIP
    array([...])  # (horizon,)
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import torch

from ..config import check_horizon
from .graph_inputs import CovariateChannels, check_inputs, input_shapes
from .head_graph import StepQuantiles
from .intervals import has_head

# Rows per network call: 10,000 GRU series went through ~2.3x faster in chunks of 1,024
# than in one call (0.14 s vs 0.31 s, default GRU, one thread, shared machine), since a
# chunk's per-step gates stay in cache.
CHUNK = 1024


class Predictor:
    """A ``Forecaster``'s forecasts without the per-series work (built once, then reused).

    Args:
        forecaster: a ``seqcast.pipeline.Forecaster`` (its model is shared, not copied).
    """

    def __init__(self, forecaster):
        tfs = forecaster.transforms
        lags, logs = {t.lags for t in tfs.values()}, {t.log for t in tfs.values()}
        if len(lags) != 1 or len(logs) != 1:
            raise ValueError(f"series are transformed differently: lags {sorted(lags)},"
                             f" log {sorted(logs)}")
        self.lags, self.log = lags.pop(), logs.pop()
        self.ids = list(tfs)
        self.index = {k: i for i, k in enumerate(self.ids)}
        self.mean = np.array([t.mean for t in tfs.values()])  # (S,)
        self.std = np.array([t.std for t in tfs.values()])
        self.model, self.transforms = forecaster.model, tfs
        data, cfg = forecaster.config.data, forecaster.config.model
        self.strategy, self.horizon, self.input_len = data.strategy, data.horizon, cfg.input_len
        self.history_len = cfg.input_len + sum(self.lags)
        self.forecaster, self.covariates, self.median = forecaster, None, None
        if has_head(cfg):  # a quantile or distribution head: each step's median, as forecast_arrays
            self.median = StepQuantiles(cfg, [0.5])
        if forecaster.covariate_scaler is not None:  # the exported graph's module, in torch
            self.covariates = CovariateChannels(
                forecaster.covariate_scaler, tuple(input_shapes(forecaster, 1)),
                self.history_len, cfg.input_len, cfg.horizon)

    def rows(self, series, n: int) -> np.ndarray:
        """Row indices into the statistics: from ids (str), positions (int) or None (one series)."""
        return series_rows(self.ids, self.index, series, n)

    def predict(self, history, series=None, horizon: int | None = None,
                covariates: dict | None = None) -> np.ndarray:
        """Forecasts after each history, in the data's units.

        Args:
            history: (B, T) or (T,) numbers, T >= ``history_len``; only the last
                ``history_len`` values of each row are read.
            series: which series each row is: ids, positions in the run's series, or None
                when the run holds one series.
            horizon: steps (default: the run's; more only with the iterative strategy).
            covariates: for a run with covariates, its inputs by name as the exported graph
                takes them (``seqcast.forecasting.graph_inputs``), each aligned with
                ``history`` (row i is the step of ``history[:, i]``; ``future`` and
                ``calendar`` run ``future_steps`` beyond), without the batch dimension for
                a 1-D history.

        Returns:
            (B, horizon) float64, or (horizon,) for a 1-D history.
        """
        h, single = as_history(history, self.history_len, self.log)
        horizon = self._horizon(horizon)
        rows = self.rows(series, len(h))
        mean, std = self.mean[rows][:, None], self.std[rows][:, None]  # (B, 1)
        window = h[:, -self.history_len :]
        levels = [np.log(window) if self.log else window]  # levels[k]: differenced by lags[:k]
        for lag in self.lags:
            levels.append(levels[-1][:, lag:] - levels[-1][:, :-lag])
        x = torch.from_numpy(((levels[-1] - mean) / std).astype(np.float32)[:, :, None])
        ahead = None
        if self.covariates is not None or covariates is not None:
            x, ahead = self._with_covariates(x, covariates, h.shape[1], horizon, single)
        training = self.model.training  # a model still in training mode is left so
        if training:
            self.model.eval()
        try:
            if len(x) <= CHUNK:  # one call, nothing to split (a few microseconds count here)
                with torch.inference_mode():
                    z = self._network(x, horizon, ahead).numpy()
            else:
                z = self._chunked(x, horizon, ahead)
        finally:
            if training:
                self.model.train()
        d = z.astype(np.float64) * std + mean
        for lag, level in zip(reversed(self.lags), reversed(levels[:-1])):
            d = undifference(d, level, lag)
        if self.log:
            d = np.exp(d)
        return d[0] if single else d

    def _with_covariates(self, x, given, rows: int, horizon: int, single: bool):
        """(B, L, 1) scaled targets -> (B, L, 1 + C) with the covariate channels, and the
        channels of the steps after the window for an iterative rollout (else None)."""
        if self.covariates is None:
            raise ValueError("this model reads no covariates; call predict without covariates=")
        shapes = input_shapes(self.forecaster, horizon)
        inputs = check_inputs(self.forecaster.covariate_scaler, shapes, given, len(x), rows,
                              self.history_len, single)
        extra = horizon if self.strategy == "iterative" else 0
        with torch.inference_mode():
            window, ahead = self.covariates(inputs, extra)
        return torch.cat([x, window], dim=2), ahead

    def _horizon(self, horizon: int | None) -> int:
        if horizon is None:
            return self.horizon
        check_horizon(horizon, self.horizon, self.strategy)  # a whole number >= 1, trained
        return horizon

    def _chunked(self, x: torch.Tensor, horizon: int, ahead=None) -> np.ndarray:
        """``_network`` over chunks of rows, on torch's thread count (the C kernels release
        the GIL, so chunks run side by side)."""

        def run(i):
            with torch.inference_mode():
                return self._network(x[i : i + CHUNK], horizon,
                                     None if ahead is None else ahead[i : i + CHUNK])

        chunks = range(0, len(x), CHUNK)
        threads = min(torch.get_num_threads(), len(chunks))
        if threads > 1:
            with ThreadPoolExecutor(threads) as pool:
                return torch.cat(list(pool.map(run, chunks))).numpy()
        return torch.cat([run(c) for c in chunks]).numpy()

    def _network(self, x: torch.Tensor, horizon: int, ahead=None) -> torch.Tensor:
        """(B, L, C) scaled inputs -> (B, horizon) scaled forecasts, by the strategy;
        ``ahead`` (B, horizon, C - 1): covariate channels fed beside each rollout step."""
        if self.strategy != "iterative":
            return self._step(x)[:, :horizon]
        steps = []
        for k in range(horizon):  # feed each forecast back, keeping a window of L steps
            nxt = self._step(x)[:, :1]  # (B, 1)
            steps.append(nxt)
            row = nxt.unsqueeze(-1) if ahead is None else torch.cat(
                [nxt.unsqueeze(-1), ahead[:, k : k + 1]], dim=2)
            x = torch.cat([x[:, 1:], row], dim=1)
        return torch.cat(steps, dim=1)

    def _step(self, x: torch.Tensor) -> torch.Tensor:
        """(B, L, C) -> (B, H') scaled forecasts of the network's horizon (a sequence model's
        at the last input step; a head's per-step median)."""
        out = self.model(x)
        if self.median is None:
            return out[:, -1] if out.dim() == 3 else out
        params = out[:, -1] if out.dim() == 4 else out  # (B, H', K)
        return self.median(params.to(torch.float64))[..., 0].to(x.dtype)


def as_history(history, need: int, positive: bool = False) -> tuple[np.ndarray, bool]:
    """``history`` (B, T) or (T,) as float64 (B, T) and whether it was 1-D; one-line errors
    for anything else, and for a value that is not a finite number (``positive``: not > 0,
    for a run trained on logarithms) among the last ``need`` steps of a row (the steps a
    forecast reads)."""
    try:
        h = np.asarray(history, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"history must hold numbers, got {np.asarray(history).dtype}") from None
    single = h.ndim == 1
    h = h[None] if single else h
    if h.ndim != 2 or h.shape[1] < need:
        raise ValueError(f"history must be (batch, T >= {need}) or (T,),"
                         f" got shape {np.shape(history)}")
    window = h[:, h.shape[1] - need:]
    if not np.isfinite(window).all():
        r, t = np.argwhere(~np.isfinite(window))[0]
        where = f"step {h.shape[1] - need + t}" + ("" if single else f" of row {r}")
        raise ValueError(f"history has {h[r, h.shape[1] - need + t]} at {where}: the last"
                         f" {need} steps of each row are read and must be finite numbers")
    if positive and not (window > 0).all():
        r, t = np.argwhere(~(window > 0))[0]
        where = f"step {h.shape[1] - need + t}" + ("" if single else f" of row {r}")
        raise ValueError(f"history has {h[r, h.shape[1] - need + t]:g} at {where}: the run"
                         f" models logarithms, so the last {need} steps of each row must be > 0")
    return h, single


def series_rows(ids: list, index: dict, series, n: int) -> np.ndarray:
    """Positions in ``ids`` (``index``: id -> position) of ``n`` rows given as ids (str),
    positions (int) or None (a run of one series); one-line errors otherwise."""
    if series is None:
        if len(ids) != 1:
            raise ValueError(f"the run holds {len(ids)} series; pass series= (ids or"
                             " positions in the run's series ids)")
        return np.zeros(n, dtype=np.int64)
    if isinstance(series, str):
        series = [series]
    arr = np.asarray(series)
    if arr.dtype.kind in "iu":
        if arr.shape != (n,) or arr.min(initial=0) < 0 or arr.max(initial=0) >= len(ids):
            raise ValueError(f"series must be {n} positions in 0..{len(ids) - 1}")
        return arr.astype(np.int64)
    try:
        idx = np.fromiter((index[s] for s in arr.tolist()), np.int64, len(arr))
    except KeyError as exc:
        raise ValueError(f"series {exc.args[0]!r} was not in the training data;"
                         f" known series: {', '.join(map(str, ids[:10]))}") from None
    if len(idx) != n:
        raise ValueError(f"series has {len(idx)} entries for {n} histories")
    return idx


def undifference(d: np.ndarray, level: np.ndarray, lag: int) -> np.ndarray:
    """``seqcast.data.transforms.undifference`` for a batch in a few array operations.

    d (B, H) after level (B, T) -> (B, H). Laid out as blocks of ``lag`` steps, the recursion
    ``out[t] = out[t - lag] + d[t]`` is a cumulative sum over blocks that starts from the
    last ``lag`` values of ``level``: the same additions in the same order, so the same
    results, without a Python step per horizon step (~40 us of a one-series forecast).
    """
    B, H = d.shape
    k = -(-H // lag)  # blocks of lag steps that hold the horizon
    blocks = np.zeros((B, (k + 1) * lag))
    blocks[:, :lag] = level[:, -lag:]
    blocks[:, lag : lag + H] = d
    full = np.cumsum(blocks.reshape(B, k + 1, lag), axis=1).reshape(B, -1)
    return full[:, lag : lag + H]


def predictor(forecaster) -> Predictor:
    """The forecaster's ``Predictor``, built on first use and kept with it."""
    fast = forecaster.__dict__.get("_predictor")
    if fast is None or fast.model is not forecaster.model or fast.transforms is not forecaster.transforms:
        fast = forecaster.__dict__["_predictor"] = Predictor(forecaster)
    return fast


def forecast_frame(forecaster, panel, horizon: int | None = None) -> pd.DataFrame:
    """Columns ``id``, ``time``, ``forecast`` after every series of ``panel``, in one batch."""
    from ..data.io import check_length
    from ..data.load import as_panel
    from ..pipeline import future_index

    fast = predictor(forecaster)
    horizon = fast._horizon(horizon)
    panel = as_panel(panel, forecaster.config.data)  # a DataFrame: read whole, in time order
    check_length(panel, fast.history_len, "input_len + differencing")
    series: Sequence = panel.series
    history = np.stack([s.values[-fast.history_len :] for s in series])
    if forecaster.config.data.log and not (history > 0).all():  # name the series and time
        r, t = np.argwhere(~(history > 0))[0]
        s = series[r]
        raise ValueError(f"{panel.source}: series {s.id!r} has {history[r, t]:g} at"
                         f" {s.index[len(s) - fast.history_len + t]}: the run models logarithms,"
                         f" so its last {fast.history_len} values must be > 0")
    pred = fast.predict(history, [s.id for s in series], horizon)
    times, cache = [], {}
    for s in series:  # series that end together share their future timestamps
        key = s.index[-1]
        if key not in cache:
            cache[key] = future_index(s.index, panel.freq, horizon)
        times.append(cache[key])
    return pd.DataFrame({
        "id": np.repeat([s.id for s in series], horizon),
        "time": np.concatenate([np.asarray(t) for t in times]),
        "forecast": pred.reshape(-1),
    })
