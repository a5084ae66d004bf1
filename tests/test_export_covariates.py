import calendar as pycalendar
import json
import math

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from forecast_helpers import scale_error, trained_with_covariates

from seqcast.cli import main
from seqcast.data.calendar import FEATURES, FORMULAS, calendar_features
from seqcast.data.covariate_io import panel_covariates
from seqcast.forecasting.classical import ETSForecaster
from seqcast.forecasting.ensemble import Ensemble
from seqcast.forecasting.export import build_graph, export_onnx
from seqcast.runs import save_run
from seqcast.train import History

STRATEGIES = ("direct", "seq2seq", "iterative")
_CACHE = {}


def _trained(strategy, name="gru", input_len=8):
    if (name, strategy, input_len) not in _CACHE:
        _CACHE[name, strategy, input_len] = trained_with_covariates(name, strategy, 1, input_len)
    return _CACHE[name, strategy, input_len]


def by_formula(times, names):
    """Calendar features from the metadata's formulas, in plain Python (no pandas)."""
    cycles = {
        "minute_of_hour": lambda t: (t.minute, 60),
        "hour_of_day": lambda t: (t.hour + t.minute / 60, 24),
        "day_of_week": lambda t: (t.weekday(), 7),
        "day_of_month": lambda t: (t.day - 1, pycalendar.monthrange(t.year, t.month)[1]),
        "day_of_year": lambda t: (t.timetuple().tm_yday - 1, 365.25),
        "week_of_year": lambda t: (t.isocalendar()[1] - 1, 52.18),
        "month_of_year": lambda t: (t.month - 1, 12),
        "quarter_of_year": lambda t: ((t.month - 1) // 3, 4),
    }
    rows = []
    for t in times:
        row = []
        for name in names:
            p, n = cycles[name](t)
            row += [math.sin(2 * math.pi * p / n), math.cos(2 * math.pi * p / n)]
        rows.append(row)
    return np.array(rows)


def panel_feed(forecaster, panel, horizon=None, n=None):
    """The graph's inputs at the end of every series (the last ``n`` steps, default the
    forecaster's history), from the panel's own covariates and the calendar computed from
    the timestamps by the metadata's formulas."""
    data, scaler = forecaster.config.data, forecaster.covariate_scaler
    horizon = data.horizon if horizon is None else horizon
    n, width = n or forecaster.min_history, len(data.future_covariates)
    covs = panel_covariates(panel, data, horizon)
    ids = list(forecaster.transforms)
    feed = {"history": np.stack([s.values[-n:] for s in panel]),
            "series": np.array([ids.index(s.id) for s in panel]),
            "past": np.stack([c.past[-n:] for c in covs]),
            "future": np.stack([c.future[len(s) - n :, :width] for s, c in zip(panel, covs)])}
    steps = feed["future"].shape[1]
    times = [pd_times(s, panel.freq, steps, n) for s in panel]
    feed["calendar"] = np.stack([by_formula(t, data.calendar) for t in times])
    statics = [c.static for c in covs]
    feed["static"] = np.array([[float(v) for v, k in zip(st, scaler.numeric) if k]
                               for st in statics])
    feed["static_codes"] = np.array([[scaler.categories[0].index(v) + 1
                                      for v, k in zip(st, scaler.numeric) if not k]
                                     for st in statics])
    return feed, covs


def pd_times(series, freq, steps, n):
    import pandas as pd

    start = series.index[len(series) - n]
    return list(pd.date_range(start, periods=steps, freq=freq).to_pydatetime())


def test_calendar_formulas_in_the_metadata_give_the_features_exactly():
    import pandas as pd

    assert set(FORMULAS) == set(FEATURES)
    times = pd.date_range("2023-12-25 21:40", periods=24 * 90, freq="37min").append(
        pd.date_range("2024-02-20", periods=400, freq="D"))  # a leap day, ISO week 1 and 52
    want = calendar_features(times, tuple(FEATURES))
    np.testing.assert_allclose(by_formula(times.to_pydatetime(), tuple(FEATURES)), want,
                               atol=1e-12)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_predict_and_graph_with_covariates_equal_the_forecast(strategy):
    forecaster, panel = _trained(strategy)
    feed, covs = panel_feed(forecaster, panel)
    want = forecaster.forecast(panel)["forecast"].to_numpy().reshape(len(panel), -1)
    cov_inputs = {k: v for k, v in feed.items() if k not in ("history", "series")}
    got = forecaster.predict(feed["history"], feed["series"], covariates=cov_inputs)
    assert scale_error(got, want, feed["history"]) <= 1e-9
    with torch.no_grad():  # the module that is exported, run by torch
        graph = build_graph(forecaster)(*(torch.from_numpy(v) for v in feed.values())).numpy()
    assert scale_error(graph, want, feed["history"]) <= 1e-4
    # one 1-D history with its covariates without the batch dimension
    one = forecaster.predict(feed["history"][1], "s1",
                             covariates={k: v[1] for k, v in cov_inputs.items()})
    assert scale_error(one[None], want[1:], feed["history"][1:]) <= 1e-5


def test_iterative_predict_with_covariates_past_the_trained_horizon():
    forecaster, panel = _trained("iterative")
    feed, covs = panel_feed(forecaster, panel, horizon=6)
    want = forecaster.forecast_arrays([s.values for s in panel], [s.id for s in panel], 6, covs)
    cov_inputs = {k: v for k, v in feed.items() if k not in ("history", "series")}
    got = forecaster.predict(feed["history"], feed["series"], 6, covariates=cov_inputs)
    assert got.shape == (2, 6) and scale_error(got, want, feed["history"]) <= 1e-9


def _export_and_run(forecaster, feed, path):
    export_onnx(forecaster, path)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(["forecast"], feed)[0]


def _parity_onnx(strategy, tmp_path):
    forecaster, panel = _trained(strategy)
    feed, _ = panel_feed(forecaster, panel)
    got = _export_and_run(forecaster, feed, tmp_path / "m.onnx")
    want = forecaster.forecast(panel)["forecast"].to_numpy().reshape(len(panel), -1)
    assert scale_error(got, want, feed["history"]) <= 1e-4
    meta = {p.key: p.value for p in onnx.load(str(tmp_path / "m.onnx")).metadata_props}
    shapes = json.loads(meta["input_shapes"])
    assert json.loads(meta["inputs"]) == list(feed) == list(shapes)
    for key, value in feed.items():
        assert list(value.shape[1:]) == shapes[key][1:], key
    assert json.loads(meta["calendar_columns"]) == [
        "day_of_week_sin", "day_of_week_cos", "day_of_month_sin", "day_of_month_cos"]
    assert (json.loads(meta["static_columns"]), json.loads(meta["static_code_columns"])) == (
        ["size"], ["shop"])
    assert json.loads(meta["static_categories"]) == {"shop": ["shop0", "shop1"]}
    assert json.loads(meta["past_columns"]) == ["p"] and json.loads(meta["future_columns"]) == ["c"]
    assert int(meta["future_steps"]) == 4 and "day_of_month" in meta["calendar_formulas"]


def test_onnx_with_every_kind_of_covariate_equals_the_forecast(tmp_path):
    _parity_onnx("direct", tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("strategy", ["seq2seq", "iterative"])
def test_onnx_with_covariates_equals_the_forecast_for_every_strategy(strategy, tmp_path):
    _parity_onnx(strategy, tmp_path)


@pytest.mark.parametrize("change, message", [
    (lambda c: c.pop("past"), r"covariates\['past'\] is missing"),
    (lambda c: c.update(price=c["past"]), "unknown covariate input 'price'; valid: past, future"),
    (lambda c: c.update(future=c["future"][:, :-1]), r"covariates\['future'\] has shape"),
    (lambda c: c.update(calendar=c["calendar"][..., :2]), r"covariates\['calendar'\] has shape"),
    (lambda c: c.update(static_codes=c["static_codes"] * 1.0), "must be integers"),
    (lambda c: c.update(static_codes=c["static_codes"] + 5), r"codes in 0..\[2\]"),
    (lambda c: c["past"].__setitem__((0, 0, 0), np.nan), "must hold finite numbers"),
])
def test_bad_covariates_name_what_is_wrong(change, message):
    forecaster, panel = _trained("direct")
    feed, _ = panel_feed(forecaster, panel)
    cov_inputs = {k: v.copy() for k, v in feed.items() if k not in ("history", "series")}
    change(cov_inputs)
    with pytest.raises(ValueError, match=message):
        forecaster.predict(feed["history"], feed["series"], covariates=cov_inputs)


def test_an_ensemble_with_a_classical_member_is_refused_in_one_line(tmp_path):
    forecaster, _ = _trained("direct")
    ens = Ensemble(forecaster.config, [forecaster, ETSForecaster(forecaster.config, "arima", {})])
    with pytest.raises(ValueError, match="member 1 is a 'arima' model; only ensembles of"
                                         " networks export"):
        export_onnx(ens, tmp_path / "e.onnx")
    assert not list(tmp_path.iterdir())


@pytest.mark.slow
def test_an_ensemble_of_networks_exports_with_the_median_inside(tmp_path, capsys):
    # members with other strategies and families: each reads its own inputs from one feed
    members = [_trained(s)[0] for s in ("direct", "iterative")]
    members.append(_trained("direct", "linear", input_len=12)[0])  # a longer window
    panel = _trained("direct")[1]
    for k in (3, 2):  # an odd count takes the middle, an even one the mean of two
        ens = Ensemble(members[0].config, members[:k])
        run = save_run(tmp_path / f"ens{k}", ens, History(), {})
        assert main(["export", str(run), "--out", str(tmp_path / f"e{k}.onnx")]) == 0
        feed, covs = panel_feed(members[0], panel, n=ens.min_history)
        assert feed["history"].shape[1] == {3: 13, 2: 9}[k]  # 13: the linear member's window
        session = ort.InferenceSession(str(tmp_path / f"e{k}.onnx"))
        got = session.run(["forecast"], feed)[0]
        want = ens.forecast_arrays([s.values for s in panel], [s.id for s in panel],
                                   covariates=covs)
        assert scale_error(got, want, feed["history"]) <= 1e-4
        singles = np.stack([m.forecast_arrays([s.values for s in panel], [s.id for s in panel],
                                              covariates=covs) for m in members[:k]])
        assert not np.allclose(want, singles[0])  # the members differ: the median matters
    meta = {p.key: p.value for p in onnx.load(str(tmp_path / "e2.onnx")).metadata_props}
    assert meta["model"] == "ensemble" and meta["combine"] == "median"
    assert [m["strategy"] for m in json.loads(meta["members"])] == ["direct", "iterative"]


def _conformal():
    from forecast_helpers import two_series_frame

    from seqcast.config import DataConfig
    from seqcast.data.io import from_frame
    from seqcast.pipeline import fit_forecaster, make_config

    panel = from_frame(two_series_frame(), "test", time_col="date", id_col="store")
    data = DataConfig(dataset="", task="forecast", time_col="date", id_col="store",
                      targets=("y",), freq="MS", horizon=4, season=12, diff=(1,),
                      intervals="conformal", valid_frac=0.3)
    config = make_config("gru", data, 8, {"hidden_size": 8}, {"epochs": 1})
    return fit_forecaster(panel, config, progress=False)[0], panel


def test_conformal_intervals_export_as_lo_hi_outputs_and_predict_gives_them(tmp_path, capsys):
    forecaster, panel = _conformal()
    run = save_run(tmp_path / "run", forecaster, History(), {})
    assert main(["export", str(run), "--out", str(tmp_path / "c.onnx"), "--level", "50,80"]) == 0
    assert "-> forecast, lo-50, hi-50, lo-80, hi-80 (4 steps)" in capsys.readouterr().err
    want = forecaster.forecast(panel, levels=(50, 80))
    n, ids = forecaster.min_history, list(forecaster.transforms)
    history = np.stack([s.values[-n:] for s in panel])
    series = np.array([ids.index(s.id) for s in panel])
    session = ort.InferenceSession(str(tmp_path / "c.onnx"))
    names = [o.name for o in session.get_outputs()]
    assert names == ["forecast", "lo-50", "hi-50", "lo-80", "hi-80"]
    got = dict(zip(names, session.run(None, {"history": history, "series": series})))
    fast = forecaster.predict(history, series, levels=(50, 80))
    for name in names:
        column = want[name].to_numpy().reshape(len(panel), -1)
        assert scale_error(got[name], column, history) <= 1e-4, name
        assert scale_error(fast[name], column, history) <= 1e-9, name
    assert (got["hi-80"] - got["lo-80"] > got["hi-50"] - got["lo-50"]).all()
    meta = {p.key: p.value for p in onnx.load(str(tmp_path / "c.onnx")).metadata_props}
    assert json.loads(meta["levels"]) == [50, 80]
    assert json.loads(meta["columns"]) == ["id", "time", *names]
    # a point-only run has no intervals to export
    plain, _ = _trained("direct")
    with pytest.raises(ValueError, match="point forecasts only"):
        export_onnx(plain, tmp_path / "p.onnx", levels=(80,))


def test_conformal_run_with_a_future_covariate_exports_its_bands(tmp_path):
    """The exporter checks its graph against the forecaster before writing; with covariates
    the bands must be computed from the same covariates as the point forecast."""
    import pandas as pd

    rng = np.random.default_rng(0)
    n = 240
    c = rng.normal(size=n)
    pd.DataFrame({"time": pd.date_range("2021-01-01", periods=n, freq="h"),
                  "y": 2 * c + rng.normal(scale=0.5, size=n), "c": c}).to_csv(
        tmp_path / "d.csv", index=False)
    run, out = tmp_path / "run", tmp_path / "m.onnx"
    assert main(["train", "--data", str(tmp_path / "d.csv"), "--target", "y",
                 "--future-covariates", "c", "--model", "linear", "--horizon", "3",
                 "--input-len", "8", "--intervals", "conformal", "--epochs", "3",
                 "--out", str(run)]) == 0
    assert main(["export", str(run), "--format", "onnx", "--out", str(out), "--level", "80"]) == 0
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert [o.name for o in session.get_outputs()] == ["forecast", "lo-80", "hi-80"]
    assert "future" in [i.name for i in session.get_inputs()]
