import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from seqcast.backtest import backtest
from seqcast.cli import main
from seqcast.config import DataConfig
from seqcast.data.io import from_frame
from seqcast.forecasting.auto import AutoConfig, fit_auto
from seqcast.forecasting.classical import ETSForecaster
from seqcast.forecasting.defaults import default_input_len, resolve_diff
from seqcast.forecasting.ensemble import Ensemble
from seqcast.forecasting.guard import comparison
from seqcast.forecasting.ridge import fit_ridge
from seqcast.pipeline import fit_forecaster, make_config
from seqcast.runs import load_run

# Searches small enough for the default suite: no networks, or a few short linear trials.
CLASSICAL = AutoConfig(budget=600, families=(), ensemble=3, arima=False)
TINY = AutoConfig(budget=600, trials=2, epochs=3, families=("linear",), ensemble=3, arima=False)


def seasonal_panel(n=150, seed=0, name="y"):
    t = np.arange(n)
    rng = np.random.default_rng(seed)
    x = 100 + 0.5 * t + 10 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 1.0, n).cumsum() * 0.5
    frame = pd.DataFrame({"date": pd.date_range("2000-01-01", periods=n, freq="MS"), name: x})
    return from_frame(frame, "test", time_col="date")


def perturbed(panel, first: int):
    """The same panel with every value from step ``first`` on replaced by noise."""
    s = panel.series[0]
    values = s.values.copy()
    values[first:] = np.random.default_rng(9).normal(0, 1000, len(values) - first)
    return dataclasses.replace(panel, series=(dataclasses.replace(s, values=values),))


def data_cfg(**kw):
    return DataConfig(**{**dict(dataset="", task="forecast", horizon=6, season=12), **kw})


@pytest.mark.parametrize("search", [
    CLASSICAL, pytest.param(AutoConfig(budget=600, trials=6, epochs=10), marks=pytest.mark.slow)])
def test_auto_choice_ignores_everything_after_the_first_backtest_origin(search):
    panel = seasonal_panel()
    folds, H = 3, 6
    first = len(panel.series[0]) - folds * H
    cfg = make_config("auto", data_cfg())
    a = backtest(panel, cfg, folds, baselines=(), search=search)
    b = backtest(perturbed(panel, first), cfg, folds, baselines=(), search=search)
    assert a.search["chosen"] == b.search["chosen"]
    assert [c["valid_mase"] for c in a.search["candidates"]] == [
        c["valid_mase"] for c in b.search["candidates"]
    ]
    # ...while the scores, which do look at those steps, differ.
    assert a.models["auto"]["mae_mean"] != b.models["auto"]["mae_mean"]


def test_diff_auto_in_a_backtest_looks_only_before_the_first_origin():
    panel = seasonal_panel(n=120)
    holdout = 4 * 12 + 12
    wild = perturbed(panel, len(panel.series[0]) - holdout)
    assert resolve_diff(panel, 12, 0.2, holdout) == resolve_diff(wild, 12, 0.2, holdout)


def test_search_is_seeded_and_reproducible():
    panel = seasonal_panel(n=120)
    f1, _, m1 = fit_auto(panel, make_config("auto", data_cfg()), TINY)
    f2, _, m2 = fit_auto(panel, make_config("auto", data_cfg()), TINY)
    assert m1["search"]["chosen"] == m2["search"]["chosen"]
    h = [panel.series[0].values]
    np.testing.assert_array_equal(f1.forecast_arrays(h, ["y"]), f2.forecast_arrays(h, ["y"]))


def test_ridge_recovers_an_autoregression():
    rng = np.random.default_rng(0)
    x = np.zeros(600)
    for t in range(2, 600):
        x[t] = 0.6 * x[t - 1] - 0.3 * x[t - 2] + rng.normal(0, 0.01)
    frame = pd.DataFrame({"date": pd.date_range("2000-01-01", periods=600, freq="D"), "y": x})
    panel = from_frame(frame, "ar2", time_col="date")
    cfg = make_config("linear", data_cfg(horizon=1, season=1, scale=False), 2)
    f, penalty = fit_ridge(panel, cfg, penalties=(1e-6, 100.0))
    w = f.model.dense.weight.detach().numpy()[0]  # oldest input first
    np.testing.assert_allclose(w, [-0.3, 0.6], atol=0.03)
    assert penalty == 1e-6  # the validation windows reject the heavy penalty


@pytest.mark.parametrize("kind", ["holt_damped", "theta", "arima"])
def test_classical_member_keeps_its_parameters_and_round_trips(kind, tmp_path):
    panel = seasonal_panel(n=120)
    x = panel.series[0].values
    cfg = make_config("naive", data_cfg())
    f = ETSForecaster.fit(dataclasses.replace(panel, series=(
        dataclasses.replace(panel.series[0], values=x[:100], index=panel.series[0].index[:100]),
    )), cfg, kind)
    a = f.forecast_arrays([x[:100], x], ["y", "y"], 6)
    assert a.shape == (2, 6) and np.isfinite(a).all()
    assert not np.allclose(a[0], a[1])  # the states follow each history; params are fixed
    (tmp_path / "m").mkdir()
    f.save(tmp_path / "m")
    np.testing.assert_array_equal(load_run(tmp_path / "m").forecast_arrays([x], ["y"]), a[1:])
    with pytest.raises(ValueError, match="point forecasts only"):
        f.forecast_quantiles([x], ["y"], [0.1, 0.9])


def test_auto_run_directory_round_trip_and_cli(tmp_path, capsys):
    csv = tmp_path / "s.csv"
    p = seasonal_panel(n=100)
    pd.DataFrame({"date": p.series[0].index, "y": p.series[0].values}).to_csv(csv, index=False)
    run = tmp_path / "run"
    assert main(["train", "--data", str(csv), "--model", "auto", "--budget", "4",
                 "--horizon", "6", "--out", str(run)]) == 0
    err = capsys.readouterr().err
    assert "auto: median of" in err and "validation MASE" in err
    assert (run / "ensemble.json").is_file() and (run / "members" / "0").is_dir()
    assert "auto: conformal intervals calibrated on " in err
    f = load_run(run)  # always with conformal intervals around the ensemble
    assert type(f).__name__ == "ConformalForecaster" and isinstance(f.inner, Ensemble)
    strict = {"parse_constant": lambda c: pytest.fail(f"not JSON: {c}")}  # no Infinity/NaN
    info = json.loads((run / "metrics.json").read_text(), **strict)["search"]
    assert info["search_seconds"] <= 4 * 1.1 + 10  # loose: a shared machine, not a timing
    assert main(["forecast", str(run), "--output", str(tmp_path / "f.csv")]) == 0
    frame = pd.read_csv(tmp_path / "f.csv")
    assert list(frame.columns) == ["id", "time", "forecast"] and len(frame) == 6
    with pytest.raises(ValueError, match="model 'auto' gives point forecasts only .*"
                       "train it with --intervals conformal"):  # whichever members it holds
        f.inner.forecast_quantiles([p.series[0].values], ["y"], [0.1, 0.9])
    q = f.forecast_quantiles([p.series[0].values], ["y"], [0.1, 0.5, 0.9])
    assert (q[..., 0] < q[..., 1]).all() and (q[..., 1] < q[..., 2]).all()
    capsys.readouterr()
    assert main(["forecast", str(run), "--level", "80", "--output", str(tmp_path / "g.csv")]) == 0
    assert list(pd.read_csv(tmp_path / "g.csv").columns) == [
        "id", "time", "forecast", "lo-80", "hi-80"]
    with pytest.raises(SystemExit) as e:
        main(["backtest", "--data", str(csv), "--model", "auto", "--budget", "0"])
    assert e.value.code == 2


def test_ensemble_of_seeds_is_the_median_of_its_members():
    panel = seasonal_panel(n=120)
    cfg = make_config("linear", data_cfg(diff=(1,)), 12, train={"epochs": 3})
    ens, _, metrics = fit_forecaster(panel, cfg, search=AutoConfig(ensemble=3))
    x = [panel.series[0].values]
    each = np.stack([m.forecast_arrays(x, ["y"]) for m in ens.members])
    assert len(ens.members) == 3 and not np.allclose(each[0], each[1])
    np.testing.assert_allclose(ens.forecast_arrays(x, ["y"]), np.median(each, axis=0))
    assert metrics["valid"]["origins"] > 0
    # the fast path from arrays gives the same numbers, with a classical member too
    mixed = Ensemble(cfg, [*ens.members[:2], ETSForecaster.fit(panel, cfg, "ses")])
    v = panel.series[0].values
    h = np.stack([v[40:100], v[-60:]])
    want = mixed.forecast_arrays(list(h), ["y", "y"])
    np.testing.assert_allclose(mixed.predict(h), want, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(mixed.predict(h[1], "y"), want[1], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(mixed.predict(h, [0, 0]), want, rtol=1e-6, atol=1e-9)
    with pytest.raises(ValueError, match="history must be"):
        mixed.predict(h[:, :2])
    with pytest.raises(ValueError, match="positions in 0..0"):
        mixed.predict(h, [0, 3])


def test_short_monthly_series_backtests_with_defaults():
    # 144 months, horizon 12, 3 folds: the window shrinks to fit instead of a refusal.
    # Before: refused, needing (3 - 1) * 12 + 12 + 2 * (36 + 13 + 12) = 158 steps.
    panel = seasonal_panel(n=144)
    L = default_input_len(12, 12, 144 - 36, 13)
    cfg = make_config("linear", data_cfg(horizon=12, diff=(1, 12)), L, train={"epochs": 2})
    result = backtest(panel, cfg, 3, baselines=("naive",))
    assert np.isfinite(result.models["linear"]["mae_mean"])


def test_network_worse_than_seasonal_naive_is_warned_about():
    line, warning = comparison(
        {"mae_mean": 2.0, "baselines": {"naive": {"mae_mean": 3.0},
                                        "seasonal_naive": {"mae_mean": 1.0}}}, "gru")
    assert "gru 2" in line and "seasonal_naive 1" in line
    assert warning is not None and "2.00x" in warning
    _, fine = comparison({"mae_mean": 0.5, "baselines": {"seasonal_naive": {"mae_mean": 1.0}}},
                         "gru")
    assert fine is None
    _, exact = comparison({"mae_mean": 0.5, "baselines": {"seasonal_naive": {"mae_mean": 0.0}}},
                          "gru")  # a series that repeats its season exactly
    assert "which is exact there" in exact


@pytest.mark.parametrize("kind", ["ses", "holt_damped", "ets_seasonal", "holt_winters_damped"])
def test_ets_recursion_equals_statsmodels_smoothing(kind):
    from seqcast.forecasting.classical import _model, ets_forecast

    y = seasonal_panel(n=120).series[0].values
    params = _model(y[:90], kind, 12).fit(disp=False).params
    expected = _model(y, kind, 12).smooth(params).forecast(7)
    np.testing.assert_allclose(ets_forecast(y, params, kind, 12, 7), expected, rtol=1e-9)


@pytest.mark.parametrize("season", [12, 1])
@pytest.mark.parametrize("shift", [0.0, -60.0])  # multiplicative season, then additive
def test_theta_recursion_equals_statsmodels_theta(season, shift):
    from statsmodels.tsa.forecasting.theta import ThetaModel

    from seqcast.forecasting.classical import theta_forecast, theta_params

    y = seasonal_panel(n=121).series[0].values + shift
    params = theta_params(y, season)
    assert len(params) == 3 + (season if season > 1 else 0)
    expected = ThetaModel(y, period=season, deseasonalize=season > 1).fit().forecast(7)
    np.testing.assert_allclose(theta_forecast(y, params, 7), expected, rtol=1e-9)
    # a longer history moves the level and the season's phase, not the parameters
    longer = theta_forecast(np.r_[y, y[-5:] + 10.0], params, 7)
    assert np.isfinite(longer).all() and not np.allclose(longer, expected)
    flat = np.full(40, 5.0)  # no trend to extrapolate (statsmodels' own slope is 1.25 here)
    np.testing.assert_allclose(theta_forecast(flat, theta_params(flat, season), 7), 5.0)


def test_cli_ensemble_of_seeds_trains_forecasts_and_backtests(tmp_path, capsys):
    csv = tmp_path / "s.csv"
    p = seasonal_panel(n=100)
    pd.DataFrame({"date": p.series[0].index, "y": p.series[0].values}).to_csv(csv, index=False)
    run = tmp_path / "run"
    assert main(["train", "--data", str(csv), "--model", "linear", "--ensemble", "2",
                 "--epochs", "2", "--horizon", "6", "--out", str(run)]) == 0
    assert "validation MAE: linear" in capsys.readouterr().err
    assert sorted(p.name for p in (run / "members").iterdir()) == ["0", "1"]
    assert main(["forecast", str(run), "--output", str(tmp_path / "f.csv")]) == 0
    assert len(pd.read_csv(tmp_path / "f.csv")) == 6
    assert main(["backtest", str(run), "--folds", "2", "--baselines", "naive", "--json",
                 str(tmp_path / "b.json")]) == 0
    b = json.loads((tmp_path / "b.json").read_text())  # the two seeds again, not one model
    assert len(b["search"]["seeds"]) == 2


def test_backtest_of_an_auto_run_searches_with_the_run_s_settings(tmp_path, capsys):
    csv = tmp_path / "s.csv"
    p = seasonal_panel(n=100)
    pd.DataFrame({"date": p.series[0].index, "y": p.series[0].values}).to_csv(csv, index=False)
    run = tmp_path / "run"
    assert main(["train", "--data", str(csv), "--budget", "9", "--trials", "1", "--horizon",
                 "6", "--out", str(run)]) == 0
    assert main(["backtest", str(run), "--folds", "2", "--baselines", "naive", "--json",
                 str(tmp_path / "b.json")]) == 0
    b = json.loads((tmp_path / "b.json").read_text())  # not the default 120 s
    assert b["search"]["budget_seconds"] == 9 and b["search"]["settings"]["trials"] == 1
    raw = json.loads((run / "ensemble.json").read_text())
    raw["info"]["settings"]["budget"] = "a lot"
    (run / "ensemble.json").write_text(json.dumps(raw))
    capsys.readouterr()
    assert main(["backtest", str(run), "--folds", "2", "--baselines", "naive"]) == 2
    err = capsys.readouterr().err
    assert f"{run}: search setting budget = 'a lot' has the wrong type" in err
    assert "Traceback" not in err


def test_auto_is_within_five_percent_of_the_true_coefficients_on_an_autoregression():
    rng = np.random.default_rng(0)
    phi = np.array([0.5, -0.3, 0.2])
    x = np.zeros(700)
    for t in range(3, 700):
        x[t] = phi @ x[t - 3 : t][::-1] + rng.normal()
    x = x[100:] + 10.0
    frame = pd.DataFrame({"date": pd.date_range("2000-01-01", periods=600, freq="D"), "y": x})
    panel = from_frame(frame, "ar3", time_col="date")
    H, folds = 3, 60
    res = backtest(panel, make_config("auto", data_cfg(horizon=H, season=1)), folds, step=1,
                   baselines=(), search=CLASSICAL)
    oracle, truth = [], []
    for o in range(600 - H - folds + 1, 600 - H + 1):  # the conditional mean, true phi
        hist = list(x[:o] - 10.0)
        for _ in range(H):
            hist.append(phi @ np.array(hist[-3:][::-1]))
        oracle.append(np.array(hist[-H:]) + 10.0)
        truth.append(x[o : o + H])
    oracle_mse = np.mean((np.stack(oracle) - np.stack(truth)) ** 2)
    auto_mse = np.mean(np.square(res.models["auto"]["rmse"]))
    assert auto_mse <= 1.05 * oracle_mse


def test_arima_member_forecasts_prefixes_as_if_each_were_filtered_alone():
    from seqcast.models.arima import ARIMA

    x = seasonal_panel(n=120).series[0].values
    f = ETSForecaster.fit(seasonal_panel(n=100), make_config("naive", data_cfg()), "arima",
                          orders={"y": [1, 1, 0, 0, 1, 1, 12]})  # no order search: faster
    p = f.params["y"]
    alone = ARIMA(tuple(map(int, p[:3])), tuple(map(int, p[3:7])), np.array(p[7:]), 0.0)
    hist = [x[:100], x[:110], x]
    expected = np.stack([alone.forecast(h, 6) for h in hist])
    np.testing.assert_allclose(f.forecast_arrays(hist, ["y"] * 3, 6), expected, rtol=1e-8)


def test_auto_on_a_series_too_short_is_a_one_line_error(tmp_path, capsys):
    csv = tmp_path / "short.csv"
    pd.DataFrame({"date": pd.date_range("2000-01-01", periods=15, freq="MS"),
                  "y": np.arange(15.0)}).to_csv(csv, index=False)
    assert main(["train", "--data", str(csv), "--model", "auto", "--horizon", "6",
                 "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "too short for --model auto: 2 * horizon + 4 = 16" in err
    assert "Traceback" not in err and not (tmp_path / "run").exists()


def test_networks_only_search_tries_no_classical_candidate(tmp_path, capsys):
    panel = seasonal_panel(n=120)
    search = AutoConfig(budget=600, trials=2, epochs=3, families=("gru",), classical=False)
    ens, _, metrics = fit_forecaster(panel, make_config("auto", data_cfg()), search=search)
    kinds = {c["kind"] for c in metrics["search"]["candidates"]}
    assert kinds == {"ridge", "network"}  # no baselines, ETS, Theta or ARIMA
    assert {m["kind"] for m in metrics["search"]["chosen"]} <= {"ridge", "network"}
    assert np.isfinite(ens.forecast_arrays([panel.series[0].values], ["y"])).all()
    from seqcast.forecasting.export import export_onnx

    export_onnx(ens, tmp_path / "n.onnx")  # networks only: the whole ensemble exports
    assert (tmp_path / "n.onnx").stat().st_size > 0
    with pytest.raises(ValueError, match="at least one family"):
        AutoConfig(families=(), classical=False)
    csv = tmp_path / "s.csv"
    pd.DataFrame({"date": panel.series[0].index, "y": panel.series[0].values}).to_csv(csv)
    for flags in (["--networks-only"], ["--budget", "10"], ["--combine", "weighted"], ["--trials", "3"]):
        assert main(["train", "--data", str(csv), "--model", "gru", *flags]) == 2
        assert f"{flags[0]} applies to --model auto" in capsys.readouterr().err


def test_cli_trials_makes_the_search_exact_and_says_when_the_budget_cut_it(tmp_path, capsys):
    panel = seasonal_panel(n=120)
    csv = tmp_path / "s.csv"
    pd.DataFrame({"date": panel.series[0].index, "y": panel.series[0].values}).to_csv(csv)
    common = ["train", "--data", str(csv), "--model", "auto", "--networks-only", "--horizon", "6"]
    searched = []
    for k in range(2):
        assert main([*common, "--budget", "600", "--trials", "2", "--out", str(tmp_path / f"r{k}")]) == 0
        search = json.loads((tmp_path / f"r{k}" / "metrics.json").read_text())["search"]
        assert search["network_trials"] == 2 and search["trials_asked"] == 2
        searched.append([(c["name"], c["valid_mase"]) for c in search["candidates"]])
    assert searched[0] == searched[1]  # the same candidates, scored the same
    assert "the budget ended the search" not in capsys.readouterr().err
    assert main([*common, "--budget", "1", "--trials", "1000", "--out", str(tmp_path / "r")]) == 0
    assert "the budget ended the search after" in capsys.readouterr().err


def test_without_model_train_and_backtest_run_auto(tmp_path, capsys):
    """No --model: the search that needs no settings, said on stderr; without data, one
    line that names what is missing."""
    csv = tmp_path / "s.csv"
    p = seasonal_panel(n=100)
    pd.DataFrame({"date": p.series[0].index, "y": p.series[0].values}).to_csv(csv, index=False)
    run = tmp_path / "run"
    assert main(["train", "--data", str(csv), "--budget", "3", "--horizon", "6",
                 "--out", str(run)]) == 0
    assert "no --model given: auto, a search within --budget 3 s" in capsys.readouterr().err
    assert json.loads((run / "config.json").read_text())["model"]["name"] == "auto"
    assert main(["backtest", "--data", str(csv), "--budget", "3", "--horizon", "6",
                 "--folds", "2", "--json", str(tmp_path / "b.json")]) == 0
    assert "auto" in json.loads((tmp_path / "b.json").read_text())["models"]
    for verb in ("train", "backtest"):
        assert main([verb, "--model", "gru"]) == 2
        assert "needs " in capsys.readouterr().err and not (tmp_path / "runs").exists()


def test_auto_refuses_flags_it_chooses_itself_and_keeps_runtime_ones(tmp_path, capsys,
                                                                    monkeypatch):
    csv = tmp_path / "s.csv"
    p = seasonal_panel(n=100)
    pd.DataFrame({"date": p.series[0].index, "y": p.series[0].values}).to_csv(csv, index=False)
    for flags in (["--lr", "0.01"], ["--input-len", "12", "--hidden-size", "8"],
                  ["--quantiles", "0.1,0.5,0.9"], ["--diff", "1"]):
        for verb in ("train", "backtest"):
            assert main([verb, "--data", str(csv), "--model", "auto", *flags, "--out" if
                         verb == "train" else "--folds", str(tmp_path / "r") if verb ==
                         "train" else "2"]) == 2
            err = capsys.readouterr().err
            assert f"{flags[0]}" in err and "--model auto chooses these itself" in err, err
    assert not (tmp_path / "r").exists()
    run = tmp_path / "run"
    assert main(["train", "--data", str(csv), "--model", "auto", "--budget", "30", "--trials",
                 "1", "--epochs", "3", "--device", "cpu", "--horizon", "6", "--out",
                 str(run)]) == 0
    trials = [c for c in json.loads((run / "metrics.json").read_text())["search"]["candidates"]
              if c["kind"] == "network"]
    assert len(trials) == 1
    import seqcast.forecasting.auto as auto

    told, real = [], auto.fit_candidate

    def recorded(panel, data, c, *args, **kwargs):
        if c.kind == "network":
            told.append(c.params["train"])
        return real(panel, data, c, *args, **kwargs)

    monkeypatch.setattr(auto, "fit_candidate", recorded)
    fit_auto(from_frame(pd.read_csv(csv)), make_config(
        "auto", data_cfg(), None, None, {"device": "cpu", "precision": "bf16"}),
        AutoConfig(budget=30, trials=1, epochs=2, classical=False, families=("gru",)))
    assert len(told) == 1  # the network trial trains where and how the run was told
    assert (told[0]["device"], told[0]["precision"], told[0]["epochs"]) == ("cpu", "bf16", 2)


def test_classical_fits_stop_series_by_series_at_their_deadline():
    """Many series fit one by one can outlast the search's budget: each classical kind
    checks its deadline after every series, and the iterative fits (ETS, ARIMA) within
    each fit too."""
    import time

    from seqcast.forecasting.candidates import Candidate, fit_candidate

    one = seasonal_panel(n=80).series[0]
    panel = dataclasses.replace(seasonal_panel(n=80), series=tuple(
        dataclasses.replace(one, id=f"s{k}", values=one.values + k) for k in range(3)))
    for c in (Candidate("arima"), Candidate("theta"), Candidate("ets", {"ets": "ses"})):
        stops = "after 1 of 3 series" if c.kind == "theta" else (
            "ARIMA: out of time fitting" if c.kind == "arima" else "fitting series 1 of 3")
        with pytest.raises(ValueError, match=stops):
            fit_candidate(panel, data_cfg(), c, deadline=time.perf_counter() - 1)
        assert len(fit_candidate(panel, data_cfg(), c, deadline=time.perf_counter() + 600).params) == 3


def test_search_report_names_a_candidate_the_budget_left_out(capsys):
    from seqcast.report import print_search

    print_search({"candidates": [
        {"name": "arima", "kind": "arima", "valid_mase": None,
         "error": "out of time after 9 of 100 series"},
        {"name": "naive", "kind": "naive", "valid_mase": 1.2}],
        "network_trials": 0, "search_seconds": 21.0, "budget_seconds": 30,
        "validation_origins": 700, "chosen": [{"name": "naive", "valid_mase": 1.2}],
        "ensemble_valid_mase": {"1": 1.2}})
    err = capsys.readouterr().err
    assert "auto: arima left out: out of time after 9 of 100 series (a larger --budget" in err


def test_auto_refuses_to_run_across_ranks(tmp_path, capsys, monkeypatch):
    """Each rank's clock stops trials at its own time, so ranks would pair up collectives of
    different trials: the search runs in one process only."""
    from seqcast import distributed

    panel = seasonal_panel(n=120)
    csv = tmp_path / "s.csv"
    pd.DataFrame({"date": panel.series[0].index, "y": panel.series[0].values}).to_csv(csv)
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert main(["train", "--data", str(csv), "--model", "auto", "--out", str(tmp_path / "r")]) == 2
    assert "run it without torchrun" in capsys.readouterr().err and not (tmp_path / "r").exists()
    monkeypatch.delenv("WORLD_SIZE")
    monkeypatch.setattr(distributed, "context", lambda: distributed.Context(0, 2))
    with pytest.raises(ValueError, match="searches in one process"):
        fit_auto(panel, make_config("auto", data_cfg()), CLASSICAL)


def test_a_short_series_is_left_out_of_the_search_and_still_forecast(tmp_path, capsys):
    """One 40-step series among 150-step ones would leave the search one validation origin
    per series and windows of a few steps; it is left out of the search, and the chosen
    models, refitted on every series, forecast it (with its own conformal scale)."""
    from seqcast.data.io import Panel

    long = [dataclasses.replace(seasonal_panel(n=150, seed=k).series[0], id=f"s{k}")
            for k in range(3)]
    short = dataclasses.replace(seasonal_panel(n=40, seed=7).series[0], id="new")
    cfg = make_config("auto", data_cfg(intervals="conformal"))
    ens, _, metrics = fit_auto(Panel("p", "MS", (*long, short)), cfg, CLASSICAL)
    _, _, alone = fit_auto(Panel("p", "MS", tuple(long)), cfg, CLASSICAL)
    assert metrics["search"]["left_out"] == ["new"]
    assert metrics["search"]["validation_origins"] == alone["search"]["validation_origins"]
    assert metrics["search"]["chosen"] == alone["search"]["chosen"]
    q = ens.forecast_quantiles([short.values], ["new"], [0.1, 0.5, 0.9])
    assert np.isfinite(q).all() and (q[..., 0] < q[..., 2]).all()
    assert ens.scales["new"] > 0
    from seqcast.report import print_search

    print_search(metrics["search"])
    assert "series 'new' shorter than half the median series" in capsys.readouterr().err


def test_backtest_of_auto_leaves_out_a_series_too_short_for_its_folds():
    from seqcast.data.io import Panel

    long = [dataclasses.replace(seasonal_panel(n=150, seed=k).series[0], id=f"s{k}")
            for k in range(2)]
    short = dataclasses.replace(seasonal_panel(n=40, seed=7).series[0], id="new")
    result = backtest(Panel("p", "MS", (*long, short)), make_config("auto", data_cfg()), 3,
                      baselines=("naive",), search=CLASSICAL)
    assert result.origins == 2 * 3 and "series 'new' left out" in result.warnings[0]


def test_a_network_that_cannot_be_fitted_is_a_failed_trial_not_a_baseline_in_disguise():
    """fit_forecaster puts a baseline in place of a network too big for the data; in the
    search that is a failed trial (recorded with its reason), never a 'network' member."""
    from seqcast.forecasting.candidates import Candidate, fit_candidate

    panel = seasonal_panel(n=24)
    big = Candidate("network", {"family": "gru", "input_len": 48, "diff": [], "scale": True,
                                "train": {"epochs": 1}})
    with pytest.raises(ValueError, match="gru cannot be fitted"):
        fit_candidate(panel, data_cfg(), big)
    _, _, metrics = fit_auto(panel, make_config("auto", data_cfg()), AutoConfig(
        budget=600, trials=3, epochs=2, families=("gru",), arima=False))
    tried = metrics["search"]["candidates"]
    networks = [c for c in tried if c["kind"] == "network"]  # 18 steps before validation
    assert networks and all(c["valid_mase"] is None and "gru cannot be fitted" in c["error"]
                            for c in networks)
    assert {c["name"]: c["valid_mase"] for c in tried}["naive"] is not None  # one step is enough
