"""Covariates: channel alignment, training-part scaling, calendar features, every strategy,
run directories, ARIMA with exogenous regressors."""

import json

import numpy as np
import pandas as pd
import pytest

from seqcast.backtest import backtest
from seqcast.cli import main
from seqcast.config import DataConfig
from seqcast.data.calendar import calendar_features, resolve
from seqcast.data.covariates import Covariates, CovariateScaler
from seqcast.data.io import from_frame
from seqcast.models.static_embedding import StaticEmbedding
from seqcast.pipeline import fit_forecaster, make_config
from seqcast.runs import load_run, save_run

H = 3


def test_future_channels_at_step_t_hold_the_next_h_values():
    future = np.arange(10.0)[:, None]  # (T + K, 1)
    scaler = CovariateScaler(future_mean=(0.0,), future_std=(1.0,))
    x = scaler.features(Covariates(future=future), steps=7, horizon=H)  # (7, 3)
    np.testing.assert_array_equal(x[2], [3.0, 4.0, 5.0])
    np.testing.assert_array_equal(x[6], [7.0, 8.0, 9.0])


def test_past_values_are_held_after_the_last_observed_step():
    scaler = CovariateScaler(past_mean=(0.0,), past_std=(1.0,))
    x = scaler.features(Covariates(past=np.arange(4.0)[:, None]), steps=6, horizon=H)
    np.testing.assert_array_equal(x[:, 0], [0, 1, 2, 3, 3, 3])


def test_scaling_uses_the_training_part_only():
    a = np.r_[np.zeros(5), np.ones(5)][:, None]
    b = np.r_[np.zeros(5), 100 * np.ones(5)][:, None]  # differs only after step 5
    fit = [CovariateScaler.fit([Covariates(past=x, future=x)], [5]) for x in (a, b)]
    assert fit[0] == fit[1] and fit[0].past_mean == (0.0,) and fit[0].past_std == (1.0,)


def test_static_columns_numeric_scaled_text_coded_unknown_is_zero():
    covs = [Covariates(static=("1.5", "north")), Covariates(static=("2.5", "south"))]
    scaler = CovariateScaler.fit(covs, [1, 1])
    assert scaler.numeric == (True, False) and scaler.categories == (("north", "south"),)
    rows = [scaler.features(Covariates(static=s), 1, 1)[0] for s in
            (("1.5", "south"), ("2.5", "west"))]
    np.testing.assert_allclose(rows, [[-1.0, 2.0], [1.0, 0.0]])
    assert CovariateScaler.from_dict(json.loads(json.dumps(scaler.to_dict()))) == scaler


def test_calendar_features_and_auto():
    t = pd.DatetimeIndex(["2024-01-01 06:00", "2024-01-01 18:00"])
    np.testing.assert_allclose(calendar_features(t, ("hour_of_day",)), [[1, 0], [-1, 0]],
                               atol=1e-12)
    assert resolve("auto", "h") == ("hour_of_day", "day_of_week")
    assert resolve("auto", "MS") == ("month_of_year",)
    assert resolve("none", "h") == () and resolve("day_of_week,month_of_year", "D") == (
        "day_of_week", "month_of_year")
    with pytest.raises(ValueError, match="unknown calendar feature 'weekday'; valid: auto"):
        resolve("weekday", "D")
    for spec in ("auto", "day_of_week"):  # step numbers: no timestamps to read features from
        with pytest.raises(ValueError, match="calendar features need timestamps; the data's"):
            resolve(spec, None)


def driven(n=300, kind="future", seed=0, ids=("a", "b")):
    """``unique_id, ds, y`` frame whose target is 2 x the covariate (lagged H for past)."""
    rng = np.random.default_rng(seed)
    frames = []
    for i in ids:
        c = rng.standard_normal(n + H)
        drive = c if kind == "future" else np.r_[np.zeros(H), c[:-H]]
        y = 2 * drive + 0.05 * rng.standard_normal(n + H)
        y[n:] = np.nan
        frames.append(pd.DataFrame({"unique_id": i, "ds": pd.date_range(
            "2022-01-01", periods=n + H, freq="D"), "y": y, "c": c, "p": c.cumsum(), "shop": f"shop_{i}"}))
    return pd.concat(frames, ignore_index=True)


def cfg(strategy="direct", model="linear", epochs=40, **cov):
    data = DataConfig(dataset="", task="forecast", horizon=H, strategy=strategy, **cov)
    return make_config(model, data, 8, train={"epochs": epochs, "patience": None})


@pytest.mark.parametrize("kind", ["future", "past"])
def test_a_covariate_the_targets_past_cannot_predict_is_learned(kind):
    frame = driven(kind=kind)
    if kind == "past":
        frame = frame.dropna(subset=["y"])
    key = f"{kind}_covariates"
    cov = ((), ("c",), ()) if kind == "future" else (("c",), (), ())
    with_c = fit_forecaster(from_frame(frame, "t", covariates=cov), cfg(**{key: ("c",)}),
                            progress=False)[2]["valid"]["mae_mean"]
    without = fit_forecaster(from_frame(frame.dropna(subset=["y"]), "t"), cfg(),
                             progress=False)[2]["valid"]["mae_mean"]
    assert with_c < 0.5 * without


@pytest.mark.parametrize(
    "strategy,model", [("direct", "gru"), ("seq2seq", "gru"), ("iterative", "gru"),
                       ("direct", "wavenet"), ("seq2seq", "lstm")]
)
def test_every_strategy_round_trips_through_a_run_directory(strategy, model, tmp_path):
    frame = driven(n=120)
    panel = from_frame(frame, "t", covariates=(("p",), ("c",), ("shop",)))
    config = cfg(strategy, model, epochs=2, past_covariates=("p",), future_covariates=("c",),
                 static_covariates=("shop",), calendar=("day_of_week",))
    forecaster, history, metrics = fit_forecaster(panel, config, progress=False)
    assert isinstance(forecaster.model, StaticEmbedding)
    here = forecaster.forecast(panel)
    assert here.shape == (2 * H, 3) and np.isfinite(here["forecast"]).all()
    save_run(tmp_path / "run", forecaster, history, metrics)
    assert (tmp_path / "run" / "covariates.json").is_file()
    again = load_run(tmp_path / "run").forecast(panel)
    np.testing.assert_allclose(again["forecast"], here["forecast"], rtol=1e-5)


def test_forecast_arrays_checks_the_covariates_it_is_given():
    panel = from_frame(driven(n=60), "t", covariates=((), ("c",), ()))
    forecaster = fit_forecaster(panel, cfg(epochs=1, future_covariates=("c",)), progress=False)[0]
    h = np.zeros(30)
    with pytest.raises(ValueError, match="this model reads covariates"):
        forecaster.forecast_arrays([h], ["a"])
    with pytest.raises(ValueError, match=r"covariates\[0\].future has shape \(31, 1\), expected"):
        forecaster.forecast_arrays([h], ["a"], covariates=[Covariates(future=np.zeros((31, 1)))])
    ok = forecaster.forecast_arrays([h], ["a"], covariates=[Covariates(future=np.zeros((33, 1)))])
    assert ok.shape == (1, H)


def test_backtest_reports_arima_with_and_without_exogenous_regressors():
    frame = driven(n=200, ids=("a",)).dropna(subset=["y"])
    panel = from_frame(frame.iloc[:-H], "t", covariates=((), ("c",), ()))
    result = backtest(panel, cfg(epochs=5, future_covariates=("c",)), folds=2,
                      baselines=("arima",), arima_order=((1, 0, 0), (0, 0, 0, 0)))
    assert {"linear", "arima", "arima_exog"} <= set(result.models)
    assert result.models["arima_exog"]["mae_mean"] < 0.5 * result.models["arima"]["mae_mean"]


def test_backtest_of_a_run_reads_its_data_with_the_runs_settings(tmp_path, capsys):
    frame = driven(n=80).dropna(subset=["y"]).rename(
        columns={"unique_id": "store", "ds": "day", "y": "sales"})
    data = tmp_path / "d.csv"
    frame.to_csv(data, index=False)
    run = tmp_path / "run"
    assert main(["train", "--data", str(data), "--id-col", "store", "--time-col", "day",
                 "--target", "sales", "--past-covariates", "c", "--static-covariates", "shop",
                 "--model", "linear", "--epochs", "1", "--input-len", "6", "--horizon", "2",
                 "--diff", "none", "--out", str(run)]) == 0
    assert main(["backtest", str(run), "--data", str(data), "--folds", "1",
                 "--baselines", "naive"]) == 0
    assert "linear" in capsys.readouterr().out


def test_the_decoder_reads_each_horizon_steps_future_covariates_causally():
    import torch

    from seqcast.models import EncoderDecoder

    model = EncoderDecoder("gru", input_size=1 + 3, hidden_size=8, num_layers=1, horizon=3)
    model.feed_future(offset=1, width=1)  # channels 1, 2, 3: future values of steps 1, 2, 3
    with torch.no_grad():  # the encoder ignores the future channels: only the decoder reads them
        for w in model.encoder[0].parameters():
            if w.dim() == 2 and w.shape[1] == 4:
                w[:, 1:] = 0
    x = torch.randn(2, 5, 4)
    y = model(x)
    x2 = x.clone()
    x2[:, -1, 2] += 1.0  # the future value of horizon step 2 at the origin
    y2 = model(x2)
    assert torch.equal(y[:, 0], y2[:, 0]) and not torch.allclose(y[:, 1], y2[:, 1])


@pytest.mark.parametrize("diff", [(), (1,), (7,)])
def test_ridge_reads_future_covariates_also_on_differences(diff, tmp_path):
    """y = 2 c + noise: the ridge regression, solved in closed form, reads c over the horizon
    (and, for a differenced target, the values its differences span); its linear model
    forecasts what the regression does, and saves and loads as any run."""
    from seqcast.forecasting.candidates import without_covariates
    from seqcast.forecasting.ridge import fit_ridge
    from seqcast.runs import save_run
    from seqcast.train import History

    rng = np.random.default_rng(3)
    n = 300
    c = rng.standard_normal(n + H)
    y = 2 * c + 0.1 * rng.standard_normal(n + H)
    frame = pd.DataFrame({"ds": pd.date_range("2022-01-01", periods=n + H, freq="D"),
                          "y": y, "c": c})
    frame.loc[n:, "y"] = np.nan
    panel = from_frame(frame, "f", covariates=((), ("c",), ()))
    data = DataConfig(dataset="", task="forecast", horizon=H, season=7, diff=diff,
                      future_covariates=("c",))
    f, _ = fit_ridge(panel, make_config("linear", data, 14))
    blind, _ = fit_ridge(panel, make_config("linear", without_covariates(data), 14))
    got = f.forecast(panel)["forecast"].to_numpy()
    assert np.abs(got - y[n:]).max() < 0.5  # the covariate's values over the horizon
    assert np.abs(blind.forecast(panel)["forecast"].to_numpy() - y[n:]).mean() > 0.8
    save_run(tmp_path / "r", f, History(), {})
    np.testing.assert_allclose(load_run(tmp_path / "r").forecast(panel)["forecast"], got,
                               rtol=1e-6)
