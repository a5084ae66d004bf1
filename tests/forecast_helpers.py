"""Small panels and quickly trained forecasters shared by the export and prediction tests."""

import numpy as np
import pandas as pd

from seqcast.config import DataConfig
from seqcast.data.io import from_frame
from seqcast.pipeline import fit_forecaster, make_config


def two_series_frame(n=72):
    """Two monthly series on very different scales (trend, season, noise)."""
    t, frames = np.arange(n), []
    for k, (level, amp) in enumerate([(1000.0, 30.0), (0.5, 0.02)]):
        rng = np.random.default_rng(k)
        v = level + amp * (0.1 * t + np.sin(2 * np.pi * t / 12) + rng.normal(0, 0.3, n))
        frames.append(pd.DataFrame({"date": pd.date_range("2010-01-01", periods=n, freq="MS"),
                                    "store": f"s{k}", "y": v}))
    return pd.concat(frames, ignore_index=True)


def trained(name="gru", strategy="direct", diff=(1, 12), epochs=1, model=None, log=False):
    """(forecaster, panel): ``name`` briefly trained on ``two_series_frame`` (positive)."""
    panel = from_frame(two_series_frame(), "test", time_col="date", id_col="store")
    data = DataConfig(dataset="", task="forecast", time_col="date", id_col="store",
                      targets=("y",), freq="MS", horizon=4, season=12, diff=diff,
                      strategy=strategy, log=log)
    sizes = {"hidden_size": 8, "filters": 4, "blocks": 1, "layers_per_block": 2}
    input_len = 12 if name == "seasonal_naive" else 8  # it reads one season back
    config = make_config(name, data, input_len, {**sizes, **(model or {})}, {"epochs": epochs})
    return fit_forecaster(panel, config, progress=False)[0], panel


def last_windows(forecaster, panel):
    """(history (N, history_len), series positions (N,)) at the end of every series."""
    n = forecaster.min_history
    ids = list(forecaster.transforms)
    return (np.stack([s.values[-n:] for s in panel]),
            np.array([ids.index(s.id) for s in panel]))


def scale_error(got, want, history):
    """Largest |got - want| relative to each series' scale (the std of its history)."""
    return float(np.max(np.abs(got - want) / history.std(axis=1, keepdims=True)))


def covariate_frame(n=60, ahead=6):
    """Two daily series on very different scales driven by a future covariate ``c``, with a
    past covariate ``p``, a text static ``shop`` and a numeric static ``size``; the last
    ``ahead`` rows of each series hold future values only (target empty)."""
    frames = []
    for k, (level, amp) in enumerate([(1000.0, 30.0), (0.5, 0.02)]):
        rng = np.random.default_rng(k)
        c = rng.standard_normal(n + ahead)
        y = level + amp * (np.cumsum(rng.normal(0, 0.3, n + ahead)) + c)
        y[n:] = np.nan
        frames.append(pd.DataFrame({
            "ds": pd.date_range("2021-03-01", periods=n + ahead, freq="D"), "unique_id": f"s{k}",
            "y": y, "c": c * 10 + 5, "p": rng.normal(100, 20, n + ahead), "shop": f"shop{k}",
            "size": 3.5 * (k + 1)}))
    return pd.concat(frames, ignore_index=True)


def trained_with_covariates(name="gru", strategy="direct", epochs=1, input_len=8, model=None):
    """(forecaster, panel): ``name`` briefly trained on ``covariate_frame`` with every kind
    of covariate and two calendar features."""
    cov = (("p",), ("c",), ("shop", "size"))
    panel = from_frame(covariate_frame(), "cov", covariates=cov)
    data = DataConfig(dataset="", task="forecast", freq="D", horizon=4, season=7, diff=(1,),
                      strategy=strategy, past_covariates=cov[0], future_covariates=cov[1],
                      static_covariates=cov[2], calendar=("day_of_week", "day_of_month"))
    sizes = {"hidden_size": 8, "filters": 4, "blocks": 1, "layers_per_block": 2}
    config = make_config(name, data, input_len, {**sizes, **(model or {})}, {"epochs": epochs})
    return fit_forecaster(panel, config, progress=False)[0], panel
