"""Intervals of models that read covariates: heads (direct and iterative) and conformal, on a
series driven by a future covariate its own past cannot predict."""

import functools
import json

import numpy as np
import pandas as pd
import pytest

from seqcast.cli import main
from seqcast.config import DataConfig
from seqcast.data.io import from_frame
from seqcast.pipeline import fit_forecaster, make_config

H, NOISE = 4, 0.5


def driven(n=400, seed=0, ids=("a", "b")):
    """``unique_id, ds, y, c``: y = 2 c + N(0, 0.5^2), with H future rows of c only."""
    rng = np.random.default_rng(seed)
    frames = []
    for i in ids:
        c = rng.standard_normal(n + H)
        y = 2 * c + NOISE * rng.standard_normal(n + H)
        y[n:] = np.nan
        frames.append(pd.DataFrame({"unique_id": i, "ds": pd.date_range(
            "2022-01-01", periods=n + H, freq="D"), "y": y, "c": c}))
    return pd.concat(frames, ignore_index=True)


@functools.cache
def fitted(strategy, model, heads, intervals="none", epochs=40):
    panel = from_frame(driven(), "t", covariates=((), ("c",), ()))
    data = DataConfig(dataset="", task="forecast", horizon=H, strategy=strategy,
                      future_covariates=("c",), valid_frac=0.2, test_frac=0.2,
                      intervals=intervals)
    config = make_config(model, data, 8, model=dict(heads), train={"epochs": epochs, "patience": None})
    return panel, *fit_forecaster(panel, config, progress=False)


QUANTILES, NORMAL = (("quantiles", (0.1, 0.5, 0.9)),), (("likelihood", "normal"),)


@pytest.mark.parametrize("strategy,model,heads,intervals,epochs", [
    ("direct", "linear", QUANTILES, "none", 40),
    pytest.param("iterative", "gru", QUANTILES, "none", 40, marks=pytest.mark.slow),
    ("iterative", "gru", NORMAL, "none", 30),  # sample paths, each step's draw fed back
    ("direct", "linear", (), "conformal", 40),
])
def test_intervals_with_a_future_covariate_cover_near_nominal(strategy, model, heads, intervals,
                                                              epochs):
    panel, forecaster, _, metrics = fitted(strategy, model, heads, intervals, epochs)
    test = metrics["test"]
    # Without c the best forecast's MAE is about 2 * 0.8 = 1.6; every horizon step reads it
    # (the iterative rollout feeds each step's covariate beside the fed-back value).
    assert max(test["mae"]) < 1.0
    assert 0.7 <= test["intervals"]["80"]["coverage"] <= 0.9
    frame = forecaster.forecast(panel, levels=(80,))
    assert list(frame.columns) == ["id", "time", "forecast", "lo-80", "hi-80"]
    assert len(frame) == 2 * H and (frame["lo-80"] < frame["hi-80"]).all()
    # the band is about as wide as the noise's 80% interval (2 * 1.28 * 0.5), not the
    # covariate-blind one (about 2 * 1.28 * 2.06)
    assert (frame["hi-80"] - frame["lo-80"]).mean() < 2.5


def test_iterative_normal_head_samples_read_each_steps_covariate():
    panel, forecaster, _, _ = fitted("iterative", "gru", NORMAL, "none", 30)
    s = panel.series[0]
    from seqcast.data.covariate_io import panel_covariates

    covs = panel_covariates(panel, forecaster.config.data, H)
    paths = forecaster.forecast_samples([s.values], [s.id], 200, H, covs[:1])  # (1, 200, H)
    future_c = s.covariates.future[len(s) : len(s) + H, 0]
    np.testing.assert_allclose(paths[0].mean(0), 2 * future_c, atol=0.6)
    with pytest.raises(ValueError, match="this model reads covariates"):
        forecaster.forecast_samples([s.values], [s.id], 5, H)


def _csv(tmp_path):
    path = tmp_path / "d.csv"
    driven(n=200).to_csv(path, index=False)
    return str(path)


COV = ["--model", "linear", "--epochs", "20", "--input-len", "8", "--horizon", str(H),
       "--diff", "none", "--target", "y", "--id-col", "unique_id", "--future-covariates", "c",
       "--valid-frac", "0.3"]


@pytest.mark.parametrize("flags", [["--intervals", "conformal"], ["--quantiles", "0.1,0.5,0.9"]])
def test_cli_run_with_covariates_forecasts_and_backtests_intervals(flags, tmp_path):
    data, run = _csv(tmp_path), tmp_path / "run"
    assert main(["train", "--data", data, *COV, *flags, "--out", str(run)]) == 0
    assert "80" in json.loads((run / "metrics.json").read_text())["valid"]["intervals"]
    out = tmp_path / "f.csv"
    assert main(["forecast", str(run), "--level", "80", "--output", str(out)]) == 0
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["id", "time", "forecast", "lo-80", "hi-80"]
    assert len(frame) == 2 * H and (frame["lo-80"] < frame["hi-80"]).all()
    if "--quantiles" in flags:  # sample paths read each series' future covariate too
        assert main(["forecast", str(run), "--samples", "5", "--output", str(out)]) == 0
        assert len(pd.read_csv(out)) == 2 * 5 * H
    bt = tmp_path / "bt.json"
    past = tmp_path / "past.csv"
    pd.read_csv(data).dropna(subset=["y"]).to_csv(past, index=False)
    assert main(["backtest", str(run), "--data", str(past), "--folds", "2", "--level", "80",
                 "--baselines", "naive", "--json", str(bt)]) == 0
    scores = json.loads(bt.read_text())["models"]["linear"]
    assert 0.5 <= scores["intervals"]["80"]["coverage"] <= 1.0 and scores["mae_mean"] < 1.0
