"""Runs with a quantile or distribution head exported with their interval outputs."""

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from forecast_helpers import last_windows, scale_error, trained, trained_with_covariates
from test_export_covariates import panel_feed

from seqcast.cli import main
from seqcast.forecasting.ensemble import Ensemble
from seqcast.forecasting.export import export_onnx
from seqcast.forecasting.head_graph import StepQuantiles, seqcast_noise
from seqcast.models import MODELS
from seqcast.runs import save_run
from seqcast.train import History

LEVELS = (50, 80)
HEADS = {"quantiles": {"quantiles": (0.1, 0.5, 0.9)}, "normal": {"likelihood": "normal"},
         "studentt": {"likelihood": "studentt"}}
_CACHE = {}


def _trained(name, strategy, head, diff):
    key = (name, strategy, head, diff)
    if key not in _CACHE:
        _CACHE[key] = trained(name, strategy, diff=diff, model=HEADS[head])
    return _CACHE[key]


def _session(path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _outputs(session, feed):
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, feed)))


def _meta(path):
    return {p.key: p.value for p in onnx.load(str(path)).metadata_props}


# (family, strategy, head, differencing lags, whether the intervals come from sample paths)
CASES = [
    ("linear", "direct", "quantiles", (), False),
    ("gru", "direct", "normal", (), False),
    ("linear", "direct", "studentt", (), False),
    ("gru", "seq2seq", "quantiles", (), False),
    ("gru", "direct", "normal", (1,), True),
    ("gru", "iterative", "quantiles", (), True),
    ("linear", "iterative", "normal", (1,), True),
]


@pytest.mark.parametrize(("name", "strategy", "head", "diff", "paths"), CASES)
def test_head_run_exports_its_median_and_intervals_as_seqcast_forecasts_them(
        name, strategy, head, diff, paths, tmp_path):
    forecaster, panel = _trained(name, strategy, head, diff)
    path = export_onnx(forecaster, tmp_path / "h.onnx", levels=LEVELS, check=False)
    session = _session(path)
    history, rows = last_windows(forecaster, panel)
    want = forecaster.forecast(panel, levels=LEVELS)
    feed = {"history": history, "series": rows}
    inputs = [i.name for i in session.get_inputs()]
    assert inputs == ["history", "series"] + (["noise"] if paths else [])
    if paths:  # seqcast's own draws
        feed["noise"] = seqcast_noise(forecaster, len(history), 4)
    got = _outputs(session, feed)
    assert list(got) == ["forecast", "lo-50", "hi-50", "lo-80", "hi-80"]
    for column, values in got.items():
        expected = want[column].to_numpy().reshape(len(history), -1)
        assert values.shape == expected.shape and values.dtype == np.float64
        assert scale_error(values, expected, history) <= 1e-4, column
    assert (got["hi-80"] - got["lo-80"] > got["hi-50"] - got["lo-50"]).all()
    meta = _meta(path)
    assert json.loads(meta["levels"]) == list(LEVELS) and meta["head"] == head
    assert json.loads(meta["outputs"]) == list(got)
    assert meta["intervals"] == ("sample paths" if paths else "exact")
    if not paths:
        return
    assert meta["samples"] == "1000" and json.loads(meta["input_shapes"])["noise"] == \
        ["batch", 1000, 4]
    assert meta["noise"] == ("uniform [0, 1)" if head == "quantiles" else "standard normal")
    # other draws: the same median, other bands (the draws are what the bands are made of)
    rng = np.random.default_rng(7)
    other = dict(feed, noise=rng.random(feed["noise"].shape) if head == "quantiles"
                 else rng.standard_normal(feed["noise"].shape))
    again = _outputs(session, other)
    np.testing.assert_allclose(again["forecast"], got["forecast"], rtol=1e-12)
    assert scale_error(again["lo-80"], got["lo-80"], history) > 1e-3
    # the batch is dynamic and rows are independent: one row with its own draws
    one = _outputs(session, {"history": history[1:], "series": rows[1:],
                             "noise": feed["noise"][1:]})
    for column in got:
        np.testing.assert_allclose(one[column], got[column][1:], rtol=1e-9)


@pytest.mark.parametrize(("strategy", "head"), [("direct", "quantiles"), ("iterative", "normal")])
def test_head_run_with_covariates_exports_its_intervals(strategy, head, tmp_path):
    forecaster, panel = trained_with_covariates("gru", strategy, model=HEADS[head])
    session = _session(export_onnx(forecaster, tmp_path / "c.onnx", levels=(80,)))
    feed, _ = panel_feed(forecaster, panel)
    assert [i.name for i in session.get_inputs()] == [*feed, "noise"]  # differenced: paths
    feed["noise"] = seqcast_noise(forecaster, len(panel), 4)
    got = _outputs(session, feed)
    want = forecaster.forecast(panel, levels=(80,))
    for column, values in got.items():
        expected = want[column].to_numpy().reshape(len(panel), -1)
        assert scale_error(values, expected, feed["history"]) <= 1e-4, column


def test_the_exporter_checks_a_head_run_before_writing_it(tmp_path, capsys):
    forecaster, panel = _trained("gru", "direct", "normal", (1,))
    run = save_run(tmp_path / "run", forecaster, History(), {})
    out = tmp_path / "n.onnx"
    assert main(["export", str(run), "--out", str(out), "--level", "80"]) == 0
    assert "noise -> forecast, lo-80, hi-80 (4 steps)" in capsys.readouterr().err
    # without levels: the median forecast alone, no draws
    assert main(["export", str(run), "--out", str(tmp_path / "p.onnx")]) == 0
    session = _session(tmp_path / "p.onnx")
    assert [i.name for i in session.get_inputs()] == ["history", "series"]
    history, rows = last_windows(forecaster, panel)
    (point,) = session.run(None, {"history": history, "series": rows})
    want = forecaster.forecast(panel)["forecast"].to_numpy().reshape(len(history), -1)
    assert scale_error(point, want, history) <= 1e-4


def test_head_runs_that_cannot_export_their_intervals_exit_2_in_one_line(tmp_path, capsys):
    forecaster, panel = _trained("linear", "direct", "studentt", (1,))
    run = save_run(tmp_path / "run", forecaster, History(), {})
    out = tmp_path / "t.onnx"
    assert main(["export", str(run), "--out", str(out), "--level", "80"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Student-t head with differencing" in err, err
    assert not out.exists() and not list(tmp_path.glob(".t.onnx*"))
    # its median forecast exports
    assert main(["export", str(run), "--out", str(out)]) == 0
    history, rows = last_windows(forecaster, panel)
    (point,) = _session(out).run(None, {"history": history, "series": rows})
    want = forecaster.forecast(panel)["forecast"].to_numpy().reshape(len(history), -1)
    assert scale_error(point, want, history) <= 1e-4
    # a quantile head has no quantiles beyond its own
    quantile, _ = _trained("linear", "direct", "quantiles", ())
    with pytest.raises(ValueError, match=r"quantile\(s\) 0.05, 0.95 lie outside"):
        export_onnx(quantile, tmp_path / "q.onnx", levels=(90,))


def test_an_ensemble_of_head_runs_exports_its_median_forecast(tmp_path):
    a, panel = _trained("gru", "direct", "normal", (1,))
    b, _ = _trained("linear", "iterative", "normal", (1,))
    ensemble = Ensemble(a.config, [a, b])
    session = _session(export_onnx(ensemble, tmp_path / "e.onnx"))
    history, rows = last_windows(a, panel)
    (got,) = session.run(None, {"history": history, "series": rows})
    want = ensemble.forecast(panel)["forecast"].to_numpy().reshape(len(history), -1)
    assert scale_error(got, want, history) <= 1e-4
    with pytest.raises(ValueError, match="export only when it was trained with --intervals conformal"):
        export_onnx(ensemble, tmp_path / "e2.onnx", levels=(80,))


@pytest.mark.slow
@pytest.mark.parametrize("strategy", ["direct", "seq2seq", "iterative"])
@pytest.mark.parametrize("name", [m for m in MODELS if m not in ("naive", "seasonal_naive")])
@pytest.mark.parametrize(("head", "diff"), [("quantiles", ()), ("normal", (1,))])
def test_every_family_and_strategy_exports_its_head_intervals(name, strategy, head, diff,
                                                              tmp_path):
    try:
        forecaster, _ = trained(name, strategy, diff=diff, model=HEADS[head])
    except ValueError as exc:  # no forecast per input step: seq2seq does not apply
        assert strategy == "seq2seq" and "valid strategies for it" in str(exc)
        pytest.skip(f"{name} has no seq2seq form")
    # the exporter compares onnxruntime with the forecaster (and seqcast's own draws where
    # the intervals come from sample paths) within 1e-4 of each series' scale
    export_onnx(forecaster, tmp_path / "m.onnx", levels=(80,))


def test_student_t_quantiles_in_the_graph_follow_scipy():
    from types import SimpleNamespace

    import torch
    from scipy import stats

    qs = [0.001, 0.025, 0.1, 0.5, 0.9, 0.975]
    head = StepQuantiles(SimpleNamespace(quantiles=(), likelihood="studentt"), qs)
    df = np.concatenate([[2.0001, 2.5, 3.3, 7.0, 30.0, 1e3, 1e7],
                         2 + np.random.default_rng(0).exponential(5, 200)])
    p = torch.tensor(np.stack([np.full_like(df, 1.5), np.full_like(df, 2.0), df], -1))
    got = head(p).numpy()
    want = 1.5 + 2.0 * stats.t.ppf(np.array(qs)[None], df[:, None])
    assert np.abs(got - want).max() <= 2 * 2e-6
    assert (got[:, qs.index(0.5)] == 1.5).all()
