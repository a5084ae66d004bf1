import json
import pickle
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from seqcast.backtest import backtest, origins_of
from seqcast.cli import main
from seqcast.config import DataConfig
from seqcast.data.io import from_frame, read_series
from seqcast.models import MODELS, Naive
from seqcast.pipeline import fit_forecaster, future_index, make_config
from seqcast.runs import load_run


def seasonal_frame(n=96, level=1000.0, noise=0.0, seed=0):
    t = np.arange(n)
    rng = np.random.default_rng(seed)
    value = level + 2.0 * t + 30 * np.sin(2 * np.pi * t / 12) + rng.normal(0, noise, n)
    return pd.DataFrame({"date": pd.date_range("2010-01-01", periods=n, freq="MS"), "y": value})


def panel_of(frame):
    return from_frame(frame, "test", time_col="date")


def data_cfg(**kw):
    base = dict(dataset="", task="forecast", horizon=6, season=12, diff=(1,))
    return DataConfig(**{**base, **kw})


@pytest.mark.parametrize("strategy", ["direct", "iterative"])
def test_naive_on_first_differences_inverts_to_drift_on_the_original_scale(strategy):
    # Naive on scaled first differences repeats the last difference; inverted, that is the
    # last value plus h times the last step: exact on the original scale.
    panel = panel_of(seasonal_frame(noise=3.0))
    cfg = make_config("naive", data_cfg(strategy=strategy), 12)
    forecaster, _, metrics = fit_forecaster(panel, cfg, progress=False)
    x = panel.series[0].values
    frame = forecaster.forecast(panel)
    expected = x[-1] + (x[-1] - x[-2]) * np.arange(1, 7)
    np.testing.assert_allclose(frame["forecast"], expected, rtol=1e-6)
    assert metrics["valid"]["origins"] > 0 and len(metrics["valid"]["mae"]) == 6
    assert "test" not in metrics
    cfg = make_config("naive", data_cfg(strategy=strategy, valid_frac=0.2, test_frac=0.2), 12)
    _, _, metrics = fit_forecaster(panel, cfg, progress=False)
    # 96 steps: train 58, valid 19, test 19 -> 19 - 6 + 1 = 14 origins each
    assert metrics["valid"]["origins"] == metrics["test"]["origins"] == 14


def test_forecast_timestamps_continue_the_frequency():
    idx = pd.date_range("2020-01-31", periods=5, freq="W-SUN")
    assert list(future_index(idx, "W-SUN", 2)) == list(
        pd.date_range(idx[-1], periods=3, freq="W-SUN")[1:]
    )
    assert list(future_index(pd.RangeIndex(10), None, 3)) == [10, 11, 12]
    panel = panel_of(seasonal_frame())
    forecaster, _, _ = fit_forecaster(panel, make_config("naive", data_cfg(), 12), progress=False)
    times = forecaster.forecast(panel, horizon=4)["time"]
    assert list(times) == list(pd.date_range("2018-01-01", periods=4, freq="MS"))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_model_trains_and_forecasts_on_the_original_scale(name):
    panel = panel_of(seasonal_frame(n=72, noise=1.0))
    cfg = make_config(name, data_cfg(diff=(1,)), 24, train={"epochs": 2})
    forecaster, history, metrics = fit_forecaster(panel, cfg, progress=False)
    frame = forecaster.forecast(panel)
    assert frame.shape == (6, 3) and np.isfinite(frame["forecast"]).all()
    # around the series' level (1000 + 2 * 72), not the scaled differences (~0)
    assert (np.abs(frame["forecast"] - 1144) < 200).all()


def test_seq2seq_and_unsupported_strategies(monkeypatch):
    panel = panel_of(seasonal_frame(n=72))
    cfg = make_config("gru", data_cfg(strategy="seq2seq"), 24, {"hidden_size": 8}, {"epochs": 1})
    forecaster, _, _ = fit_forecaster(panel, cfg, progress=False)
    assert forecaster.forecast(panel).shape == (6, 3)
    # a family that ignores output="sequence" cannot be trained seq2seq
    monkeypatch.setitem(MODELS, "last_only", lambda cfg: Naive(cfg.horizon, "last"))
    with pytest.raises(ValueError, match="valid strategies for it: direct, iterative"):
        fit_forecaster(panel, make_config("last_only", data_cfg(strategy="seq2seq"), 24), False)
    with pytest.raises(
        ValueError, match="unknown strategy 'beam'; valid: direct, seq2seq, iterative"
    ):
        make_config("gru", data_cfg(strategy="beam"), 24)
    with pytest.raises(ValueError, match="unknown model .transformer.; valid models: auto, naive"):
        make_config("transformer", data_cfg(), 24)
    with pytest.raises(ValueError, match="exceeds the trained horizon 6; retrain with --horizon 7"
                       r" \(or, for a single model, --strategy iterative"):
        forecaster.forecast(panel, horizon=7)


def test_backtest_scores_and_baselines():
    panel = panel_of(seasonal_frame(n=120, level=500.0, noise=0.0))
    cfg = make_config("linear", data_cfg(diff=(1,)), 24, train={"epochs": 3})
    result = backtest(
        panel,
        cfg,
        folds=3,
        baselines=("naive", "seasonal_naive", "arima"),
        arima_order=((0, 1, 0), (0, 1, 0, 12)),
    )
    assert origins_of(120, 3, 6, 6) == [102, 108, 114] and result.origins == 3
    models = result.to_dict()["models"]
    assert list(models) == ["linear", "naive", "seasonal_naive", "arima"]
    for s in models.values():
        assert len(s["mae"]) == len(s["rmse"]) == len(s["mase"]) == 6 and s["seconds"] >= 0
        assert s["mae_mean"] == pytest.approx(np.mean(s["mae"]))
        assert all(r >= m - 1e-9 for r, m in zip(s["rmse"], s["mae"], strict=False))
    # Noise-free trend + season: last year's value is off by exactly the yearly trend (24),
    # and seasonal-differenced random walk ARIMA forecasts are exact.
    np.testing.assert_allclose(models["seasonal_naive"]["mae"], 24.0, rtol=1e-9)
    assert models["arima"]["mae_mean"] < 1e-6
    assert models["naive"]["mae"][0] > 0 and models["naive"]["mase"][0] > 0


def test_run_directory_loads_in_a_fresh_process_with_identical_forecasts(tmp_path):
    csv = tmp_path / "s.csv"
    seasonal_frame(n=80, noise=2.0).to_csv(csv, index=False)
    run = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "--data",
                str(csv),
                "--model",
                "gru",
                "--hidden-size",
                "8",
                "--input-len",
                "24",
                "--horizon",
                "6",
                "--diff",
                "1",
                "--epochs",
                "2",
                "--out",
                str(run),
            ]
        )
        == 0
    )
    names = sorted(p.name for p in run.iterdir())
    assert names == [
        "config.json",
        "forecast.png",
        "history.csv",
        "learning_curves.png",
        "metrics.json",
        "model.safetensors",
        "transforms.json",
    ]
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["epochs"] == 2 and len(metrics["valid"]["mae"]) == 6
    assert len(pd.read_csv(run / "history.csv")) == 2
    here = load_run(run).forecast(read_series(csv))
    out = tmp_path / "f.csv"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "seqcast",
            "forecast",
            str(run),
            "--data",
            str(csv),
            "--output",
            str(out),
        ],
        check=True,
        capture_output=True,
    )
    there = pd.read_csv(out, parse_dates=["time"])
    assert list(there.columns) == ["id", "time", "forecast"]
    np.testing.assert_array_equal(there["forecast"].to_numpy(), here["forecast"].to_numpy())
    assert (there["time"] == here["time"]).all()
    # backtest RUN_DIR retrains the run's configuration before the first origin
    assert main(["backtest", str(run), "--folds", "1", "--baselines", "naive"]) == 0
    # with its own settings: a model flag would be ignored, so it is refused
    assert main(["backtest", str(run), "--folds", "1", "--horizon", "2", "--lr", "0.1"]) == 2
    assert main(["backtest", str(run), "--folds", "1", "--baselines", "naive",
                 "--num-threads", "1"]) == 0  # where it trains is for the caller to say


def test_loading_never_unpickles(tmp_path, monkeypatch):
    panel = panel_of(seasonal_frame(n=72))
    from seqcast.runs import save_run

    forecaster, history, metrics = fit_forecaster(
        panel, make_config("lstm", data_cfg(), 24, {"hidden_size": 4}, {"epochs": 1}), False
    )
    save_run(tmp_path / "run", forecaster, history, metrics)

    def refuse(*args, **kwargs):
        raise AssertionError("unpickling during load")

    import torch

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(torch, "load", refuse)
    loaded = load_run(tmp_path / "run")
    pd.testing.assert_frame_equal(loaded.forecast(panel), forecaster.forecast(panel))


def test_cli_backtest_json_and_datasets(tmp_path, capsys):
    csv = tmp_path / "s.csv"
    seasonal_frame(n=120, noise=1.0).to_csv(csv, index=False)
    out = tmp_path / "bt.json"
    assert (
        main(
            [
                "backtest",
                "--data",
                str(csv),
                "--model",
                "linear",
                "--horizon",
                "6",
                "--input-len",
                "24",
                "--diff",
                "1",
                "--epochs",
                "2",
                "--folds",
                "2",
                "--baselines",
                "naive,seasonal_naive",
                "--json",
                str(out),
            ]
        )
        == 0
    )
    result = json.loads(out.read_text())
    assert result["folds"] == 2 and set(result["models"]) == {"linear", "naive", "seasonal_naive"}
    assert {"mae", "rmse", "mase", "mae_mean", "seconds"} <= set(result["models"]["linear"])
    assert "seasonal_naive" in capsys.readouterr().out
    assert main(["datasets"]) == 0
    printed = capsys.readouterr().out
    for name in ("sunspots", "co2", "nile", "elnino"):
        assert name in printed
    assert (
        main(["backtest", "--data", str(csv), "--model", "linear", "--baselines", "prophet"]) == 2
    )
    assert "valid: naive, seasonal_naive, arima" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:  # argparse: one line, status 2
        main(["backtest", "--data", str(csv), "--model", "naive", "--arima-order", "0,1"])
    assert exit_info.value.code == 2
    assert "expected p,d,q or p,d,q,P,D,Q" in capsys.readouterr().err
    assert (
        main(
            [
                "backtest",
                "--data",
                str(csv),
                "--model",
                "naive",
                "--horizon",
                "6",
                "--input-len",
                "24",
                "--diff",
                "none",
                "--folds",
                "2",
                "--arima-order",
                "0,1,1,0,1,1",
                "--json",
                str(out),
            ]
        )
        == 0
    )
    models = json.loads(out.read_text())["models"]
    assert set(models) == {"naive_model", "naive", "seasonal_naive", "arima"}
    assert models["naive_model"]["mae"] == pytest.approx(models["naive"]["mae"], rel=1e-5)


def test_seasonal_naive_module_matches_the_numpy_baseline():
    import torch

    from seqcast.models.baselines import SeasonalNaive, seasonal_naive_forecast

    x = torch.randn(3, 20, 1, dtype=torch.float64)
    last = SeasonalNaive(7, 10)(x)
    np.testing.assert_array_equal(last.numpy(), seasonal_naive_forecast(x[..., 0].numpy(), 7, 10))
    seq = SeasonalNaive(7, 10, "sequence")(x)
    assert seq.shape == (3, 20, 10) and torch.equal(seq[:, -1], last)
    assert torch.equal(seq[:, 12], SeasonalNaive(7, 10)(x[:, :13]))


def test_train_takes_precision_and_cuda_graph_options(tmp_path):
    run = tmp_path / "run"
    argv = ["train", "--dataset", "nile", "--model", "gru", "--input-len", "12", "--epochs", "1",
            "--precision", "bf16", "--no-cuda-graph", "--out", str(run)]
    assert main(argv) == 0
    train = json.loads((run / "config.json").read_text())["train"]
    assert train["precision"] == "bf16" and train["cuda_graph"] is False


def test_backtest_writes_every_origins_forecasts_beside_the_truth(tmp_path, capsys):
    """``--forecasts``: the table the scores come from (its MAE is the JSON's, model by
    model), one row per series, origin and step, cutoffs before the times they forecast."""
    two = pd.concat([seasonal_frame(noise=3.0, seed=0).assign(store="a"),
                     seasonal_frame(noise=3.0, seed=1, level=50.0).assign(store="b")])
    csv = tmp_path / "two.csv"
    two.to_csv(csv, index=False)
    common = ["backtest", "--data", str(csv), "--model", "linear", "--horizon", "6",
              "--epochs", "2", "--folds", "3", "--step", "4", "--baselines",
              "naive,seasonal_naive"]
    assert main([*common, "--json", str(tmp_path / "s.json"), "--forecasts",
                 str(tmp_path / "f.parquet")]) == 0
    table = pd.read_parquet(tmp_path / "f.parquet")
    scores = json.loads((tmp_path / "s.json").read_text())["models"]
    assert list(table.columns) == ["id", "cutoff", "time", "actual", "linear", "naive",
                                   "seasonal_naive"]
    assert len(table) == 2 * 3 * 6 and (table["cutoff"] < table["time"]).all()
    assert table.groupby(["id", "cutoff"]).size().eq(6).all()
    for model, s in scores.items():
        err = (table[model] - table["actual"]).abs().to_numpy().reshape(-1, 6)
        np.testing.assert_allclose(err.mean(axis=0), s["mae"], rtol=1e-9)
    truth = two.set_index(["store", "date"])["y"]
    np.testing.assert_allclose(table["actual"], truth.loc[list(zip(
        table["id"], pd.to_datetime(table["time"]), strict=True))].to_numpy())
    # with --level, each model's bounds follow its forecast; their coverage is the JSON's
    assert main([*common, "--intervals", "conformal", "--level", "80", "--json",
                 str(tmp_path / "l.json"), "--forecasts", str(tmp_path / "l.csv")]) == 0
    table = pd.read_csv(tmp_path / "l.csv")
    assert list(table.columns) == ["id", "cutoff", "time", "actual",
                                   *(f"{m}{x}" for m in ("linear", "naive", "seasonal_naive")
                                     for x in ("", "-lo-80", "-hi-80"))]
    scores = json.loads((tmp_path / "l.json").read_text())["models"]
    for model, s in scores.items():
        inside = table[f"{model}-lo-80"].le(table["actual"]) & table["actual"].le(
            table[f"{model}-hi-80"])
        assert inside.mean() == pytest.approx(s["intervals"]["80"]["coverage"])
        assert (table[f"{model}-lo-80"] <= table[model] + 1e-9).all()
    capsys.readouterr()
    assert main([*common, "--forecasts", str(tmp_path)]) == 2  # a folder: before any work
    assert "--forecasts" in capsys.readouterr().err
