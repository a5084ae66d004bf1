"""Guard rails: windows that fit the series, baseline fallback, a validation part large
enough for early stopping, training schedules, and the weighted ensemble."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from seqcast.backtest import backtest
from seqcast.config import DataConfig, TrainConfig
from seqcast.data.io import Panel, from_frame
from seqcast.forecasting.auto import AutoConfig, fit_auto
from seqcast.forecasting.defaults import MIN_VALID_WINDOWS
from seqcast.forecasting.guard import fit_splits
from seqcast.pipeline import fit_forecaster, make_config
from seqcast.train import fit


def monthly(n, seed=0):
    t = np.arange(n)
    x = 100 + 0.3 * t + 5 * np.sin(2 * np.pi * t / 12) + np.random.default_rng(seed).normal(0, 1, n)
    frame = pd.DataFrame({"date": pd.date_range("2000-01-01", periods=n, freq="MS"), "y": x})
    return from_frame(frame, "m.csv", time_col="date")


DATA = DataConfig(dataset="", task="forecast", horizon=6, season=12)


def test_short_series_gets_a_shorter_window_and_a_warning():
    cfg = make_config("linear", DATA, 48, train={"epochs": 2})
    forecaster, _, metrics = fit_forecaster(monthly(80), cfg, progress=False)
    # 64 training steps - 6 horizon - 15 windows = 43 inputs at most
    assert forecaster.config.model.input_len == 43
    assert len(metrics["warnings"]) == 1 and "using 43" in metrics["warnings"][0]


def test_a_short_series_in_a_panel_keeps_the_window_of_the_others():
    from seqcast.data.io import Panel

    long = [dataclasses.replace(monthly(120, seed=k).series[0], id=f"s{k}") for k in range(3)]
    short = dataclasses.replace(monthly(36).series[0], id="new")
    panel = Panel("m.csv", "MS", (*long, short))
    cfg = make_config("gru", DATA, 36, train={"epochs": 2})
    forecaster, _, metrics = fit_forecaster(panel, cfg, progress=False)
    assert forecaster.config.model.input_len == 36 - 6 - 1  # 'new' is validated and forecast
    assert metrics["warnings"][0].endswith("has only 36 steps; using 29")
    assert "'new' (36 steps) holds fewer than 16 training windows" in metrics["warnings"][1]
    pred = forecaster.forecast_arrays([s.values for s in panel], [s.id for s in panel])
    assert np.isfinite(pred).all() and "fallback" not in metrics
    # the median series sets the window; alone, the short one would have shrunk it to 8
    alone, _, _ = fit_forecaster(Panel("m.csv", "MS", (short,)), cfg, progress=False)
    assert alone.config.model.input_len == 29 - 6 - 15


def test_too_short_for_any_window_falls_back_to_seasonal_naive_then_naive():
    cfg = make_config("gru", DATA, 12, train={"epochs": 2})
    forecaster, _, metrics = fit_forecaster(monthly(26), cfg, progress=False)
    assert metrics["fallback"] == "seasonal_naive" and "falling back" in metrics["warnings"][0]
    history = monthly(26).series[0].values
    np.testing.assert_allclose(forecaster.forecast_arrays([history], ["y"])[0], history[-12:-6])
    short = make_config("gru", dataclasses.replace(DATA, season=1), 12)
    _, _, metrics = fit_forecaster(monthly(10), short, progress=False)
    assert metrics["fallback"] == "naive"


def test_a_panel_with_a_series_too_short_for_any_window_trains_on_the_others():
    """One three-step series among long ones: the model trains on the others and the
    warning names it (before, every series fell back to naive); a backtest (whose
    differencing tests skip it) leaves it out with a warning."""
    from seqcast.forecasting.defaults import resolve_diff

    t = pd.date_range("2022-01-01", periods=120, freq="D")
    rng = np.random.default_rng(0)
    parts = [pd.DataFrame({"date": t[-n:], "sku": k, "qty": rng.poisson(10, n).astype(float)})
             for k, n in (("old", 120), ("mid", 60), ("new", 3))]
    panel = from_frame(pd.concat(parts))
    data = DataConfig(horizon=7, season=7)
    cfg = make_config("gru", data, 14, train={"epochs": 2})
    forecaster, _, metrics = fit_forecaster(panel, cfg, progress=False)
    assert "fallback" not in metrics and set(forecaster.transforms) == {"old", "mid"}
    assert "series 'new' (3 steps) left out of training" in metrics["warnings"][0]
    assert forecaster.config.model.input_len == 14
    # alone, it still falls back, saying why
    alone = Panel("n.csv", "D", tuple(s for s in panel if s.id == "new"))
    _, _, metrics = fit_forecaster(alone, cfg, progress=False)
    assert metrics["fallback"] == "naive" and "3 steps hold no" in metrics["warnings"][0]
    assert resolve_diff(panel, 7, holdout=14) in ((), (1,), (7,), (1, 7))
    with pytest.raises(ValueError, match="series 'new': 3 steps leave nothing before the 14"):
        resolve_diff(from_frame(parts[2], id_col="sku"), 7, holdout=14)
    scores = backtest(panel, make_config("linear", data, 14, train={"epochs": 2}), folds=2,
                      baselines=("naive",))
    assert "series 'new'" in scores.warnings[0] and scores.origins == 2 * 2


def test_no_fallback_for_a_model_asked_for_intervals():
    cfg = make_config("gru", DATA, 12, model={"quantiles": (0.1, 0.5, 0.9)})
    with pytest.raises(ValueError, match="m.csv: gru cannot be fitted .* give no intervals"):
        fit_forecaster(monthly(26), cfg, progress=False)


def test_backtest_of_a_short_series_falls_back_and_says_so():
    cfg = make_config("lstm", DATA, 12, train={"epochs": 2})
    result = backtest(monthly(40), cfg, folds=3, baselines=("seasonal_naive",))
    row = result.models["lstm"]
    assert row["fallback"] == "seasonal_naive"
    assert row["mae_mean"] == pytest.approx(result.models["seasonal_naive"]["mae_mean"])


def test_validation_part_grows_to_the_minimum_origins_only_from_spare_training_steps():
    n_train, n_valid = fit_splits(150, dataclasses.replace(DATA, horizon=10), 20, 0)
    assert n_valid == 150 and n_valid - n_train - 10 + 1 == MIN_VALID_WINDOWS
    long = fit_splits(1000, DATA, 24, 0)
    assert long == (800, 1000)  # already more than enough origins: unchanged
    tight = fit_splits(60, DATA, 24, 0)  # 48 training steps: 3 to spare beyond 16 windows
    assert tight[0] - 24 - 6 + 1 == 16 and tight[1] == 60


def test_min_epochs_keeps_early_stopping_from_keeping_the_first_epoch():
    import torch

    x = np.random.default_rng(0).normal(size=(64, 4, 1)).astype(np.float32)
    y = x[:, -1].copy()
    noisy = (x[:4], np.random.default_rng(1).normal(size=(4, 1)).astype(np.float32))
    for min_epochs in (0, 8):
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 1))
        cfg = TrainConfig(epochs=12, patience=2, min_epochs=min_epochs, lr=1e-2)
        history = fit(model, (x, y), noisy, cfg, progress=False)
        if min_epochs:
            assert history.best_epoch >= min_epochs - 1
            assert len(history["loss"]) >= min_epochs


@pytest.mark.parametrize("schedule", ["plateau", "cosine"])
def test_schedules_lower_the_rate_and_weight_decay_shrinks_weights(schedule):
    import torch

    x = np.random.default_rng(0).normal(size=(64, 4, 1)).astype(np.float32)
    y = x[:, -1].copy()
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 1))
    cfg = TrainConfig(epochs=10, lr=1e-2, lr_schedule=schedule, patience=4)
    fit(model, (x, y), (x, y + 1.0), cfg, progress=False)  # a plateau: validation never improves
    sizes = []
    for wd in (0.0, 0.5):
        torch.manual_seed(0)
        m = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 1))
        fit(m, (x, np.zeros_like(y)), None, TrainConfig(epochs=5, lr=1e-2, weight_decay=wd),
            progress=False)
        sizes.append(float(m[1].weight.detach().abs().sum()))
    assert sizes[1] < sizes[0]


def test_bad_schedule_and_combine_name_the_valid_choices():
    with pytest.raises(ValueError, match="unknown lr_schedule 'step'; valid: none, plateau"):
        TrainConfig(lr_schedule="step")
    with pytest.raises(ValueError, match="unknown combine 'mean'; valid: median, weighted"):
        AutoConfig(combine="mean")


def test_weighted_ensemble_weights_members_by_inverse_validation_mase():
    search = AutoConfig(budget=600, families=(), ensemble=3, arima=False, combine="weighted")
    cfg = make_config("auto", DATA, 12)
    ensemble, _, metrics = fit_auto(monthly(120), cfg, search)
    chosen = metrics["search"]["chosen"]
    assert metrics["search"]["combine"] == "weighted"
    if len(chosen) > 1:
        inverse = np.array([1 / c["valid_mase"] for c in chosen])
        np.testing.assert_allclose(np.array(ensemble.weights) / sum(ensemble.weights),
                                   inverse / inverse.sum())


def test_linear_takes_its_own_default_window_and_other_families_the_common_one():
    from seqcast.forecasting.defaults import data_defaults

    assert make_config("linear", DATA).model.input_len == 24  # max(2 * 12, 6, 8)
    assert make_config("lstm", DATA).model.input_len == 36  # max(3 * 12, 2 * 6, 12)
    panel = monthly(400)
    assert data_defaults(panel, DATA, 12, 6, "none", model="linear")[1] == 24
    assert data_defaults(panel, DATA, 12, 6, "none", model="gru")[1] == 36


def test_backtest_leaves_out_a_series_too_short_before_its_first_origin_for_every_model():
    from seqcast.data.io import Panel

    long = [dataclasses.replace(monthly(120, seed=k).series[0], id=f"s{k}") for k in range(3)]
    short = dataclasses.replace(monthly(30).series[0], id="new")  # 12 steps before 3 folds
    tiny = dataclasses.replace(monthly(20).series[0], id="tiny")  # 2 steps: not even a season
    cfg = make_config("gru", DATA, 24, train={"epochs": 2})
    result = backtest(Panel("m.csv", "MS", (*long, tiny, short)), cfg, folds=3,
                      baselines=("seasonal_naive",))
    alone = backtest(Panel("m.csv", "MS", tuple(long)), cfg, folds=3,
                     baselines=("seasonal_naive",))
    assert result.origins == alone.origins == 9
    assert "fallback" not in result.models["gru"]  # the network, with its own window
    assert result.models["gru"]["mae_mean"] == pytest.approx(alone.models["gru"]["mae_mean"])
    assert result.models["seasonal_naive"] == {**alone.models["seasonal_naive"],
                                               "seconds": result.models["seasonal_naive"]["seconds"]}
    assert "series 'tiny' and 1 more left out of the backtest" in result.to_dict()["warnings"][0]
    with pytest.raises(ValueError, match="series 'tiny' has 20 rows"):  # all too short: refused
        backtest(Panel("m.csv", "MS", (tiny,)), cfg, folds=3)


def test_validation_baselines_when_the_season_is_longer_than_the_training_part():
    # 80 weeks, a season of 52 and 2 folds of 8: the training part of the data before the
    # first origin is shorter than a season, so seasonal naive is naive from those origins
    t = np.arange(80)
    x = 20 + np.sin(2 * np.pi * t / 52) + np.random.default_rng(3).normal(0, 1, 80)
    weekly = from_frame(pd.DataFrame({"date": pd.date_range("2020-01-05", periods=80,
                                                            freq="W-SUN"), "y": x}), "w.csv")
    data = DataConfig(dataset="", task="forecast", horizon=8, season=52)
    cfg = make_config("linear", data, 12, train={"epochs": 2})
    scores = backtest(weekly, cfg, folds=2, baselines=("naive",)).to_dict()["models"]
    assert np.isfinite(scores["linear"]["mase"]).all()
    _, _, metrics = fit_forecaster(weekly, cfg, progress=False)
    base = metrics["valid"]["baselines"]
    assert base["seasonal_naive"]["mae_mean"] != base["naive"]["mae_mean"]  # not all naive


def test_default_horizon_is_a_season_at_most_a_sixth_of_the_median_series(tmp_path, capsys):
    """Two years of weekly data: 18 steps ahead by default, said on stderr, not 52 (which
    leaves no validation origins); monthly data of 144 steps keeps its season."""
    import json

    from seqcast.cli import main
    from seqcast.forecasting.defaults import default_horizon

    rng = np.random.default_rng(0)
    weeks = pd.DataFrame({"week": pd.date_range("2023-01-02", periods=110, freq="W-MON"),
                          "visits": 200 + rng.normal(0, 5, 110)})
    weeks.to_csv(tmp_path / "w.csv", index=False)
    assert main(["train", "--data", str(tmp_path / "w.csv"), "--model", "linear", "--epochs",
                 "1", "--out", str(tmp_path / "run")]) == 0
    assert "horizon: 18 steps, not a season (52)" in capsys.readouterr().err
    assert json.loads((tmp_path / "run" / "config.json").read_text())["data"]["horizon"] == 18
    assert default_horizon(monthly(144), 12) == 12
    assert default_horizon(monthly(40), 12) == 6 and default_horizon(monthly(5), 12) == 1
    # a backtest: a sixth of the data before its first origin, so that auto fits its folds
    assert default_horizon(monthly(144), 12, folds=3) == 12
    assert default_horizon(monthly(110), 52, folds=5) == 10
    assert default_horizon(monthly(110), 52, folds=2) == 13
    assert default_horizon(monthly(110), 52, folds=5, step=1) == 15  # (110 - 4 - 15) // 6
    capsys.readouterr()
    assert main(["backtest", "--data", str(tmp_path / "w.csv"), "--folds", "2", "--budget",
                 "5", "--trials", "1", "--baselines", "naive"]) == 0  # 18 steps: refused
    assert ("horizon: 13 steps, not a season (52): at most a sixth of the median series (110"
            " steps, 84 before the first backtest origin)") in capsys.readouterr().err


def test_seasonal_naive_needs_only_a_season_so_auto_weighs_it_on_two_years_of_weeks():
    """Two years of weekly data (season 52, horizon 18): the search's data before its
    validation origins is 56 weeks, a season but not a season plus a horizon; seasonal naive
    learns nothing, so a season is all it needs, and it must be among the candidates."""
    t = pd.date_range("2020-01-06", periods=110, freq="W-MON")
    rng = np.random.default_rng(0)
    panel = from_frame(pd.concat([pd.DataFrame({
        "week": t, "sku": f"s{k}", "qty": 50 + 5 * k + 10 * np.sin(np.arange(110) * 2 * np.pi / 52)
        + rng.normal(0, 2, 110)}) for k in range(4)]), id_col="sku", time_col="week")
    head = Panel("w", "W-MON", tuple(dataclasses.replace(s, index=s.index[:56],
                                                         values=s.values[:56]) for s in panel))
    data = DataConfig(horizon=18, season=52, diff=(), scale=False)
    f, _, metrics = fit_forecaster(head, make_config("seasonal_naive", data, 52), progress=False)
    x = head.series[0].values
    np.testing.assert_allclose(f.forecast_arrays([x], [head.series[0].id])[0], x[4:22])
    assert "warnings" not in metrics  # no "every epoch runs" for a model with no epochs
    search = AutoConfig(budget=60, trials=2, epochs=3, families=("linear",))
    _, _, metrics = fit_auto(panel, make_config("auto", DataConfig(horizon=18, season=52)),
                             search)
    score = {c["name"]: c["valid_mase"] for c in metrics["search"]["candidates"]}
    assert score["seasonal_naive"] is not None
    assert score["seasonal_naive"] < min(v for k, v in score.items() if k.startswith("ridge"))
