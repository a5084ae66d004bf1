"""The candidates a search chooses from, fitted and scored the same way.

A candidate is a plain JSON-ready description (``kind`` and ``params``): a baseline, an ETS
model, a ridge autoregression or a network configuration. ``fit_candidate`` fits it on a
panel; ``score`` forecasts from given origins and returns the mean MASE over origins and
horizon steps (each series' scale from its data before its first origin).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from ..config import DataConfig
from ..data.io import Panel, Series
from ..metrics import mase_scale

KINDS = ("naive", "seasonal_naive", "ets", "theta", "arima", "ridge", "network")


@dataclass(frozen=True)
class Candidate:
    """``kind`` in ``KINDS``; ``params``: ``input_len``, ``diff``, ``scale``, ``log``, ``strategy``,
    ``family``, ``model`` and ``train`` overrides, or ``ets`` (the ETS kind); ``theta``
    and the baselines take none."""

    kind: str
    params: dict = field(default_factory=dict)

    @property
    def group(self) -> str:
        """Members of one group are near copies; an ensemble takes the best of each."""
        return self.params["family"] if self.kind == "network" else self.kind

    @property
    def name(self) -> str:
        p = self.params
        if self.kind == "ets":
            return f"ets:{p['ets']}"
        if self.kind in ("naive", "seasonal_naive", "theta", "arima"):
            return self.kind
        diff = ",".join(map(str, p["diff"])) or "none"
        head = "ridge" if self.kind == "ridge" else p["family"]
        extra = "".join(f" {k}={v:g}" if isinstance(v, float) else f" {k}={v}"
                        for k, v in {**p.get("model", {}), **p.get("train", {})}.items()
                        if k not in ("epochs", "patience", "seed", "num_threads", "device",
                                     "precision", "cuda_graph"))
        strategy = "" if p.get("strategy", "direct") == "direct" else f" {p['strategy']}"
        return f"{head} L={p['input_len']}{' log' if p.get('log') else ''} diff={diff}" \
               f"{'' if p['scale'] else ' unscaled'}{strategy}{extra}"


def head_panel(panel: Panel, first: dict[str, int]) -> Panel:
    """Each series (and its covariates) cut before its ``first[id]`` step."""
    return Panel(panel.source, panel.freq, tuple(
        Series(s.id, s.index[: first[s.id]], s.values[: first[s.id]],
               None if s.covariates is None else s.covariates.head(first[s.id], 0))
        for s in panel))


def without_covariates(data: DataConfig) -> DataConfig:
    """``data`` naming no covariates: for the candidates that read the target only."""
    return dataclasses.replace(data, past_covariates=(), future_covariates=(),
                               static_covariates=(), calendar=(), future_path=None)


def fit_candidate(panel: Panel, data: DataConfig, c: Candidate, seed: int = 42, on_epoch=None,
                  deadline: float | None = None):
    """Fit candidate ``c`` on ``panel``; ``data`` gives horizon, season and splits;
    ``deadline``: the classical kinds, fitted series by series, stop with a ValueError once
    it has passed (a network stops through ``on_epoch``)."""
    from ..pipeline import fit_forecaster, make_config
    from .classical import ETSForecaster
    from .ridge import fit_ridge

    p = c.params
    if c.kind == "ridge":  # the networks and ridge read covariates (but for text statics)
        data = dataclasses.replace(data, static_covariates=())
    elif c.kind != "network":  # ETS, ARIMA and the baselines do not
        data = without_covariates(data)
    if c.kind not in ("network", "ridge"):  # logarithms (--log) are for the windowed models
        data = dataclasses.replace(data, log=False)
    if c.kind in ("arima", "theta", "ets"):
        kind = p["ets"] if c.kind == "ets" else c.kind
        return ETSForecaster.fit(panel, make_config("naive", data, 1), kind, p.get("orders"),
                                 deadline)
    if c.kind in ("naive", "seasonal_naive"):
        flat = dataclasses.replace(data, diff=(), scale=False, strategy="direct")
        cfg = make_config(c.kind, flat, max(data.season, 1) if c.kind == "seasonal_naive" else 1)
        return fit_forecaster(panel, cfg, progress=False)[0]
    d = dataclasses.replace(data, diff=tuple(p["diff"]), scale=p["scale"],
                            log=p.get("log", False), strategy=p.get("strategy", "direct"))
    if c.kind == "ridge":
        return fit_ridge(panel, make_config("linear", d, p["input_len"]))[0]
    if c.kind != "network":
        raise ValueError(f"unknown candidate kind {c.kind!r}; valid: {', '.join(KINDS)}")
    train = {**p.get("train", {}), "seed": seed}
    cfg = make_config(p["family"], d, p["input_len"], p.get("model", {}), train)
    fitted, _, metrics = fit_forecaster(panel, cfg, progress=False, on_epoch=on_epoch)
    if "fallback" in metrics:  # a baseline in its place: not this candidate
        raise ValueError(metrics["warnings"][0].removeprefix("warning: ").split("; falling")[0])
    return fitted


def forecasts(forecaster, panel: Panel, origins: dict[str, list[int]], horizon: int,
              covs: dict | None = None):
    """Forecasts (N, H) from every origin of every series, series by series; ``covs`` maps
    series id -> its ``Covariates`` over the whole series (read by a model trained on them)."""
    hist = [s.values[:o] for s in panel for o in origins[s.id]]
    ids = [s.id for s in panel for _ in origins[s.id]]
    if covs and getattr(forecaster, "covariate_scaler", None) is not None:
        at = [covs[s.id].head(o, horizon) for s in panel for o in origins[s.id]]
        return forecaster.forecast_arrays(hist, ids, horizon, at)
    return forecaster.forecast_arrays(hist, ids, horizon)


def truth_and_scales(panel: Panel, origins: dict[str, list[int]], horizon: int, season: int):
    """True values (N, H) after every origin and each row's MASE scale (N,)."""
    truth = np.concatenate([np.stack([s.values[o : o + horizon] for o in origins[s.id]])
                            for s in panel])
    scales = np.concatenate([[mase_scale(s.values[: origins[s.id][0]], season)]
                             * len(origins[s.id]) for s in panel])
    return truth, scales


def mase(pred: np.ndarray, truth: np.ndarray, scales: np.ndarray) -> float:
    """Mean absolute scaled error over every row and horizon step (inf for non-finite)."""
    value = float(np.mean(np.abs(pred - truth) / scales[:, None]))
    return value if np.isfinite(value) else float("inf")
