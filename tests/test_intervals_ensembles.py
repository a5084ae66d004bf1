"""Intervals of ensembles: seeds of one model and ``--model auto``, conformal (calibrated on
the ensemble's own validation errors) or members' quantile heads combined."""

import json
import os
import stat

import numpy as np
import pandas as pd
import pytest

from seqcast.backtest import backtest
from seqcast.cli import main
from seqcast.config import DataConfig
from seqcast.data.io import Panel, Series
from seqcast.forecasting.auto import AutoConfig
from seqcast.pipeline import make_config
from seqcast.runs import load_run

CLASSICAL = AutoConfig(budget=600, families=(), ensemble=3, arima=False)


def _csv(tmp_path, n=160):
    t = np.arange(n)
    rng = np.random.default_rng(0)
    value = 500 + 2.0 * t + 30 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 3.0, n)
    path = tmp_path / "s.csv"
    pd.DataFrame({"date": pd.date_range("2010-01-01", periods=n, freq="MS"), "y": value}).to_csv(
        path, index=False)
    return str(path)


COMMON = ["--horizon", "6", "--valid-frac", "0.3"]
SEEDS = [*COMMON, "--model", "linear", "--input-len", "24", "--diff", "1", "--epochs", "2",
         "--ensemble", "2"]
AUTO = [*COMMON, "--model", "auto", "--budget", "3", "--ensemble", "2"]


@pytest.mark.parametrize("flags,conformal", [
    ([*SEEDS, "--intervals", "conformal"], True),
    ([*SEEDS, "--quantiles", "0.1,0.5,0.9"], False),
    pytest.param([*AUTO, "--intervals", "conformal"], True, marks=pytest.mark.slow),
])
def test_ensemble_runs_give_intervals_through_forecast_metrics_and_backtest(flags, conformal,
                                                                            tmp_path, capsys):
    csv, run = _csv(tmp_path), tmp_path / "run"
    assert main(["train", "--data", csv, *flags, "--out", str(run)]) == 0
    if "auto" in flags:  # where its intervals were calibrated
        assert "auto: conformal intervals calibrated " in capsys.readouterr().err
    assert (run / "ensemble.json").is_file()
    assert (run / "calibration.json").is_file() == conformal
    loaded = load_run(run)
    if conformal:  # one calibration around the ensemble's median forecast
        assert type(loaded).__name__ == "ConformalForecaster"
        assert type(loaded.inner).__name__ == "Ensemble"
        assert not (run / "members" / "0" / "calibration.json").exists()  # members give points
    assert "80" in json.loads((run / "metrics.json").read_text())["valid"]["intervals"]
    out = tmp_path / "f.csv"
    assert main(["forecast", str(run), "--level", "80", "--output", str(out)]) == 0
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["id", "time", "forecast", "lo-80", "hi-80"] and len(frame) == 6
    assert (frame["lo-80"] <= frame["forecast"]).all() and (frame["forecast"] <= frame["hi-80"]).all()
    assert main(["forecast", str(run), "--samples", "3"]) == 2  # one line: quantiles, not paths
    bt = tmp_path / "bt.json"
    assert main(["backtest", "--data", csv, *flags, "--folds", "2", "--level", "80",
                 "--baselines", "naive", "--json", str(bt)]) == 0
    model = flags[flags.index("--model") + 1]
    scores = json.loads(bt.read_text())["models"][model]
    assert set(scores["intervals"]["80"]) == {"coverage", "width", "msis"}


def test_auto_conformal_intervals_cover_near_nominal_on_later_origins():
    rng = np.random.default_rng(1)
    n, H = 400, 4
    t = np.arange(n)
    panel = Panel("noisy", None, tuple(
        Series(sid, pd.RangeIndex(n), 10 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 1.0, n))
        for sid in ("a", "b")))
    data = DataConfig(dataset="", task="forecast", horizon=H, season=12, intervals="conformal")
    result = backtest(panel, make_config("auto", data), folds=40, step=2, baselines=(),
                      search=CLASSICAL, levels=(80,))
    # calibrated only inside the part before the first origin; scored on 2 x 40 later ones
    assert 0.7 <= result.models["auto"]["intervals"]["80"]["coverage"] <= 0.9
    assert result.search["chosen"]  # the search's record is kept around the calibration
    # the last 40% of each series' validation origins calibrate; the choice never sees them
    assert result.search["calibration_origins"] > 0.3 * (
        result.search["calibration_origins"] + result.search["validation_origins"])


def test_conformal_calibration_rows_are_each_series_last_origins():
    from seqcast.forecasting.conformal import calibration_rows

    mask = calibration_rows({"a": list(range(30)), "b": list(range(19)), "c": [1, 2]}, 0.4)
    # b and c are too short for MIN_CALIBRATION apart: among others they keep their last 40%
    assert mask.tolist() == ([False] * 18 + [True] * 12 + [False] * 11 + [True] * 8
                             + [False, True])
    assert not calibration_rows({"a": list(range(19))}, 0.4).any()  # alone: none
    assert not calibration_rows({"a": list(range(12)), "b": list(range(10))}, 0.4).any()  # 9
    assert calibration_rows({"a": list(range(20))}, 0.4).tolist() == [False] * 10 + [True] * 10
    assert not calibration_rows({"a": list(range(30))}, 0).any()


def _driven_panel():
    from test_intervals_covariates import driven

    from seqcast.data.io import from_frame

    return from_frame(driven(n=200), "t", covariates=((), ("c",), ()))


def test_auto_with_a_future_covariate_lets_networks_and_ridge_read_it(tmp_path):
    from seqcast.pipeline import fit_forecaster
    from seqcast.runs import save_run

    panel = _driven_panel()
    data = DataConfig(dataset="", task="forecast", horizon=4, future_covariates=("c",),
                      intervals="conformal")
    search = AutoConfig(budget=600, trials=2, epochs=20, families=("linear",), arima=False)
    forecaster, history, metrics = fit_forecaster(panel, make_config("auto", data), search=search)
    scores = {c["name"]: c["valid_mase"] for c in metrics["search"]["candidates"]}
    kinds = {c["name"]: c["kind"] for c in metrics["search"]["candidates"]}
    blind = min(v for k, v in scores.items() if kinds[k] not in ("network", "ridge"))
    ridge = min(v for k, v in scores.items() if kinds[k] == "ridge")
    # y = 2 c + noise: the networks and the ridge regressions read c, and win by far
    assert metrics["valid"]["mase_mean"] < 0.6 * blind and ridge < 0.6 * blind
    assert all(c["kind"] in ("network", "ridge") for c in metrics["search"]["chosen"])
    save_run(tmp_path / "run", forecaster, history, metrics)
    frame = load_run(tmp_path / "run").forecast(panel, levels=(80,))
    assert len(frame) == 8 and (frame["lo-80"] < frame["hi-80"]).all()
    np.testing.assert_allclose(frame["forecast"], forecaster.forecast(panel)["forecast"], rtol=1e-5)


def test_seed_ensemble_with_a_future_covariate_is_calibrated_once(tmp_path):
    from seqcast.pipeline import fit_forecaster

    panel = _driven_panel()
    data = DataConfig(dataset="", task="forecast", horizon=4, future_covariates=("c",),
                      valid_frac=0.2, test_frac=0.2, intervals="conformal")
    config = make_config("linear", data, 8, train={"epochs": 30, "patience": None})
    forecaster, _, metrics = fit_forecaster(panel, config, search=AutoConfig(ensemble=2))
    assert type(forecaster.inner).__name__ == "Ensemble"
    assert metrics["test"]["mae_mean"] < 1.0  # the members read c at each origin
    assert 0.65 <= metrics["test"]["intervals"]["80"]["coverage"] <= 0.95


def test_search_calibrates_around_the_forecast_its_ensemble_gives():
    # conformal radii come from the chosen members' validation forecasts combined as the
    # ensemble combines them: the median, or the weighted mean with --combine weighted
    from seqcast.forecasting.choice import _weight, combined
    from seqcast.forecasting.ensemble import Ensemble

    rng = np.random.default_rng(0)
    members = [{"pred": rng.normal(size=(5, 3)), "mase": m} for m in (0.5, 1.0, 2.0)]
    preds = np.stack([m["pred"] for m in members])
    weights = tuple(_weight(m["mase"]) for m in members)
    np.testing.assert_allclose(combined(members, "weighted"),
                               Ensemble(None, [], weights)._combine(preds))
    np.testing.assert_allclose(combined(members, "median"), Ensemble(None, [])._combine(preds))
    assert not np.allclose(combined(members, "weighted"), combined(members, "median"))


def test_conformal_ensemble_predicts_and_exports_its_intervals(tmp_path, capsys):
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    csv, run = _csv(tmp_path), tmp_path / "run"
    assert main(["train", "--data", csv, *SEEDS, "--intervals", "conformal",
                 "--out", str(run)]) == 0
    loaded = load_run(run)
    values = pd.read_csv(csv)["y"].to_numpy()
    hist = np.stack([values[80:120], values[100:140]])  # two histories of one length
    want = loaded.forecast_quantiles(list(hist), ["y", "y"], [0.1, 0.9])
    got = loaded.predict(hist, ["y", "y"], levels=(80,))  # the fast path, as the graph's outputs
    np.testing.assert_allclose(got["forecast"], loaded.forecast_arrays(list(hist), ["y", "y"]),
                               rtol=1e-9)
    np.testing.assert_allclose(np.stack([got["lo-80"], got["hi-80"]], -1), want, rtol=1e-9)
    out = tmp_path / "e.onnx"
    assert main(["export", str(run), "--out", str(out), "--level", "80"]) == 0
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~mask  # as readable as any file written
    meta = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert meta["model"] == "ensemble" and meta["intervals"] == "conformal"
    n = int(meta["history_len"])
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    outs = session.run(None, {"history": hist[:, -n:], "series": np.zeros(2, dtype=np.int64)})
    np.testing.assert_allclose(np.stack(outs[1:], -1), want, rtol=1e-6)


def test_conformal_ensemble_with_a_classical_member_refuses_export_in_one_line(tmp_path):
    pytest.importorskip("onnxruntime")
    from seqcast.forecasting.classical import ETSForecaster
    from seqcast.forecasting.conformal import calibrate
    from seqcast.forecasting.ensemble import Ensemble
    from seqcast.forecasting.export import export_onnx

    t = np.arange(160)
    panel = Panel("s", None, (Series("y", pd.RangeIndex(160), 50 + 10 * np.sin(t / 2) + 0.1 * t),))
    cfg = make_config("naive", DataConfig(dataset="", task="forecast", horizon=6, season=12))
    ens = calibrate(Ensemble(cfg, [ETSForecaster.fit(panel, cfg, "ses")]), panel, {"y": (100, 160)})
    np.testing.assert_allclose(ens.predict(panel.series[0].values, "y", levels=(80,))["forecast"],
                               ens.forecast_arrays([panel.series[0].values], ["y"])[0])
    for levels in ((), (80,)):
        with pytest.raises(ValueError, match="member 0 is a .* only ensembles of networks export"):
            export_onnx(ens, tmp_path / "e.onnx", levels=levels)
    assert not (tmp_path / "e.onnx").exists()
    from seqcast.runs import save_run
    from seqcast.train import History

    save_run(tmp_path / "run", ens, History(), {})  # classical members only: ids from them
    back = load_run(tmp_path / "run")
    v = panel.series[0].values
    np.testing.assert_allclose(back.forecast_quantiles([v], ["y"], [0.1, 0.9]),
                               ens.forecast_quantiles([v], ["y"], [0.1, 0.9]), rtol=1e-12)
