"""``--log``: models of a series' logarithm, inverted exactly on every path."""

import dataclasses
import json

import numpy as np
import onnxruntime as ort
import pandas as pd
import pytest
import torch
from forecast_helpers import last_windows, scale_error, trained

from seqcast.cli import main
from seqcast.config import DataConfig
from seqcast.data.io import from_frame
from seqcast.data.transforms import SeriesTransform
from seqcast.forecasting.auto import AutoConfig, fit_auto
from seqcast.forecasting.export import build_graph, export_onnx
from seqcast.forecasting.ridge import fit_ridge
from seqcast.pipeline import fit_forecaster, make_config
from seqcast.runs import load_run, save_run


def multiplicative(n=144, seed=0, zero_at=None):
    """A monthly series whose trend and season multiply (the airline pattern): its
    logarithm is a line plus a season plus small noise."""
    t = np.arange(n)
    rng = np.random.default_rng(seed)
    y = np.exp(4 + 0.01 * t + 0.2 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 0.01, n))
    if zero_at is not None:
        y[zero_at] = 0.0
    return pd.DataFrame({"date": pd.date_range("2000-01-01", periods=n, freq="MS"), "y": y})


def data_cfg(**kw):
    return DataConfig(**{**dict(dataset="", task="forecast", horizon=6, season=12), **kw})


@pytest.mark.parametrize("lags", [(), (1,), (1, 12)])
def test_log_forward_then_inverse_gives_back_the_series(lags):
    x = multiplicative()["y"].to_numpy()
    tf = SeriesTransform.fit(x[:100], lags, True, log=True)
    z = tf.forward(x)
    np.testing.assert_allclose(z, SeriesTransform.fit(np.log(x[:100]), lags).forward(np.log(x)))
    np.testing.assert_allclose(tf.inverse(z[100 - tf.span :], x[:100]), x[100:], rtol=1e-12)
    # batched over leading axes, as sample paths are inverted
    paths = tf.inverse(np.stack([z[100 - tf.span :]] * 3), np.stack([x[:100]] * 3))
    np.testing.assert_allclose(paths, np.stack([x[100:]] * 3), rtol=1e-12)
    assert SeriesTransform.from_dict(json.loads(json.dumps(tf.to_dict()))) == tf


def test_transforms_saved_before_log_existed_still_load_and_bad_ones_are_refused():
    assert SeriesTransform.from_dict({"lags": [1], "mean": 0.5, "std": 2.0}).log is False
    with pytest.raises(ValueError, match="'log' must be true or false"):
        SeriesTransform.from_dict({"lags": [], "mean": 0.0, "std": 1.0, "log": "yes"})
    with pytest.raises(ValueError, match="has 0 at step 3: a log transform needs values > 0"):
        SeriesTransform.fit(np.array([1.0, 2.0, 3.0, 0.0, 5.0]), (), log=True)


def test_log_ridge_is_exact_on_a_noiseless_multiplicative_series():
    """Without noise, the logarithm differenced by 12 is a constant, which a ridge on it
    forecasts exactly through the inverse (differences undone, then exp); on the raw values
    the seasonal differences grow, and the same ridge is only approximately right."""
    frame = multiplicative(n=240)
    t = np.arange(240)
    frame["y"] = np.exp(4 + 0.02 * t + 0.3 * np.sin(2 * np.pi * t / 12))
    train = from_frame(frame.iloc[:228], "mult", time_col="date")
    errors = {}
    for log in (False, True):
        cfg = make_config("linear", data_cfg(horizon=12, diff=(12,), log=log), 24)
        f, _ = fit_ridge(train, cfg)
        pred = f.forecast_arrays([train.series[0].values], ["y"], 12)[0]
        errors[log] = np.abs(pred / frame["y"].to_numpy()[228:] - 1).max()
    assert errors[True] < 1e-9 < 1e-5 < errors[False]


@pytest.mark.parametrize("strategy", ["direct", "iterative"])
def test_predict_graph_and_onnx_equal_forecast_arrays_for_a_log_run(strategy, tmp_path):
    forecaster, panel = trained("gru", strategy, log=True)
    assert all(t.log for t in forecaster.transforms.values())
    history, rows = last_windows(forecaster, panel)
    want = forecaster.forecast_arrays([s.values for s in panel], [s.id for s in panel])
    assert (want > 0).all()
    np.testing.assert_allclose(forecaster.predict(history, rows), want, rtol=1e-12)
    with torch.no_grad():
        got = build_graph(forecaster)(torch.from_numpy(history), torch.from_numpy(rows))
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-6)
    path = export_onnx(forecaster, tmp_path / "log.onnx")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    onnx = session.run(["forecast"], {"history": history, "series": rows})[0]
    assert scale_error(onnx, want, history) <= 1e-4
    # the same weights without the logarithm forecast something else: the flag is read
    plain = {k: SeriesTransform(t.lags, t.mean, t.std) for k, t in forecaster.transforms.items()}
    forecaster.transforms = plain
    assert not np.allclose(forecaster.forecast_arrays([s.values for s in panel],
                                                      [s.id for s in panel]), want)


def test_a_log_run_round_trips_through_its_run_directory(tmp_path):
    forecaster, panel = trained("linear", "direct", log=True)
    from seqcast.train import History

    run = save_run(tmp_path / "run", forecaster, History(), {})
    loaded = load_run(run)
    assert json.loads((run / "transforms.json").read_text())["s0"]["log"] is True
    hist = [s.values for s in panel]
    np.testing.assert_array_equal(loaded.forecast_arrays(hist, ["s0", "s1"]),
                                  forecaster.forecast_arrays(hist, ["s0", "s1"]))


@pytest.mark.parametrize("head", [{"quantiles": (0.1, 0.5, 0.9)}, {"likelihood": "normal"}])
def test_heads_on_logarithms_give_positive_ordered_bands_around_the_median(head, tmp_path):
    # no differencing: exact quantiles; differenced: integrated sample paths
    for diff in ((), (1,)):
        forecaster, panel = trained("gru", "direct", diff=diff, model=head, log=True)
        frame = forecaster.forecast(panel, levels=(80,))
        assert (frame["lo-80"] > 0).all()
        assert (frame["lo-80"] <= frame["forecast"]).all()
        assert (frame["forecast"] <= frame["hi-80"]).all()
        if not diff:  # the exact median is the exponential of the median of the logarithm
            hist = [s.values for s in panel]
            q = forecaster.forecast_quantiles(hist, ["s0", "s1"], [0.5])[..., 0]
            np.testing.assert_allclose(q, forecaster.forecast_arrays(hist, ["s0", "s1"]))
            path = export_onnx(forecaster, tmp_path / "h.onnx", levels=(80,))
            history, rows = last_windows(forecaster, panel)
            session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
            _, lo, hi = session.run(None, {"history": history, "series": rows})
            np.testing.assert_allclose(lo.ravel(), frame["lo-80"], rtol=1e-5)
            np.testing.assert_allclose(hi.ravel(), frame["hi-80"], rtol=1e-5)


def test_values_a_logarithm_cannot_take_are_one_line_errors(tmp_path, capsys):
    panel = from_frame(multiplicative(zero_at=30), "mult", time_col="date")
    cfg = make_config("linear", data_cfg(log=True), 24, None, {"epochs": 1})
    with pytest.raises(ValueError, match=r"series 'y' has 0 at row 31 \(2002-07-01.*--log needs"):
        fit_forecaster(panel, cfg, progress=False)
    csv = tmp_path / "zero.csv"
    multiplicative(zero_at=30).to_csv(csv, index=False)
    assert main(["train", "--data", str(csv), "--model", "linear", "--log", "--epochs", "1",
                 "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "has 0 at row 31" in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()

    forecaster, panel = trained("gru", "direct", log=True)
    history, rows = last_windows(forecaster, panel)
    history[1, -2] = -3.0
    with pytest.raises(ValueError, match=r"-3 at step \d+ of row 1: the run models logarithms"):
        forecaster.predict(history, rows)
    values = panel.series[0].values.copy()
    values[-1] = 0.0
    with pytest.raises(ValueError, match=r"series 's0' has 0 1 step\(s\) before its end"):
        forecaster.forecast_arrays([values], ["s0"])
    values[-1], values[0] = values[-2], -5.0  # before the steps read: no error
    assert np.isfinite(forecaster.forecast_arrays([values], ["s0"])).all()
    # a table's forecast names the series and the time of the value
    s0 = panel.series[0]
    zero = dataclasses.replace(panel, series=(dataclasses.replace(
        s0, values=np.r_[s0.values[:-3], 0.0, s0.values[-2:]]), *panel.series[1:]))
    with pytest.raises(ValueError, match=rf"series 's0' has 0 at {s0.index[-3]}: the run models"
                       " logarithms"):
        forecaster.forecast(zero)


def test_auto_with_log_fits_its_ridge_and_network_candidates_on_logarithms(tmp_path, capsys):
    search = AutoConfig(budget=600, trials=2, epochs=2, families=("linear",), arima=False)
    panel = from_frame(multiplicative(), "m", time_col="date")
    ens, _, metrics = fit_auto(panel, make_config("auto", data_cfg(log=True)), search)
    kinds = {c["kind"]: [] for c in metrics["search"]["candidates"]}
    for c in metrics["search"]["candidates"]:
        kinds[c["kind"]].append(" log " in c["name"])
    assert all(kinds["ridge"]) and all(kinds["network"]) and not any(kinds["ets"])
    for m in ens.inner.members:  # what was chosen keeps its transform, and only those
        windowed = type(m).__name__ == "Forecaster"
        assert all(t.log == windowed for t in getattr(m, "transforms", {}).values())
    _, _, plain = fit_auto(panel, make_config("auto", data_cfg()), search)
    assert not any(" log " in c["name"] for c in plain["search"]["candidates"])
    csv = tmp_path / "zero.csv"
    multiplicative(zero_at=30).to_csv(csv, index=False)
    assert main(["train", "--data", str(csv), "--model", "auto", "--log", "--trials", "1",
                 "--out", str(tmp_path / "run")]) == 2
    assert "has 0 at row 31" in capsys.readouterr().err
