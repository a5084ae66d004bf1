import numpy as np
import pandas as pd
import pytest
import torch
from forecast_helpers import last_windows, trained, two_series_frame

from seqcast.data.transforms import undifference as undifference_reference
from seqcast.forecasting.export import build_graph
from seqcast.forecasting.graph import ForecastGraph
from seqcast.forecasting.predict import undifference
from seqcast.models import MODELS
from seqcast.pipeline import future_index


@pytest.mark.parametrize("strategy", ["direct", "seq2seq", "iterative"])
def test_predict_equals_forecast_arrays(strategy):
    forecaster, panel = trained("gru", strategy)
    history, rows = last_windows(forecaster, panel)
    want = forecaster.forecast_arrays([s.values for s in panel], [s.id for s in panel])
    np.testing.assert_allclose(forecaster.predict(history, rows), want, rtol=1e-12)
    ids = [s.id for s in panel]
    np.testing.assert_allclose(forecaster.predict(history, ids), want, rtol=1e-12)
    # one 1-D history, longer than needed: only the last history_len values are read (a
    # batch of one takes other float32 paths through the network than a batch of two)
    long = panel.series[1].values
    np.testing.assert_allclose(forecaster.predict(long, ids[1]), want[1], rtol=1e-6)


def test_iterative_predict_goes_past_the_trained_horizon():
    forecaster, panel = trained("gru", "iterative")
    history, rows = last_windows(forecaster, panel)
    want = forecaster.forecast_arrays([s.values for s in panel], [s.id for s in panel], 9)
    np.testing.assert_allclose(forecaster.predict(history, rows, horizon=9), want, rtol=1e-12)
    with torch.no_grad():  # the graph that is exported with --horizon 9
        got = build_graph(forecaster, 9)(torch.from_numpy(history), torch.from_numpy(rows))
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-5)
    direct, _ = trained("gru", "direct")
    with pytest.raises(ValueError, match="horizon must be in 1..4"):
        build_graph(direct, 9)


def test_many_rows_go_through_in_chunks_with_the_same_results(monkeypatch):
    import seqcast.forecasting.predict as fast

    forecaster, panel = trained("lstm", "direct")
    history, rows = last_windows(forecaster, panel)
    many, many_rows = np.repeat(history, 5, axis=0), np.repeat(rows, 5)
    whole = forecaster.predict(many, many_rows)
    monkeypatch.setattr(fast, "CHUNK", 3)
    np.testing.assert_allclose(forecaster.predict(many, many_rows), whole, rtol=1e-6)
    torch.set_num_threads(2)  # chunks on two threads (conftest sets one for the next test)
    np.testing.assert_allclose(forecaster.predict(many, many_rows), whole, rtol=1e-6)
    np.testing.assert_allclose(whole[::5], forecaster.predict(history, rows), rtol=1e-12)


def test_batched_undifference_equals_the_recursion():
    rng = np.random.default_rng(0)
    for lag in (1, 2, 5, 12):
        for horizon in (1, 4, 12, 13, 30):
            d, level = rng.normal(0, 1e3, (3, horizon)), rng.normal(0, 1e5, (3, 40))
            assert np.array_equal(undifference(d, level, lag),
                                  undifference_reference(d, level, lag))


def test_fast_forecast_frame_equals_the_per_series_one():
    forecaster, panel = trained("gru", "direct")
    pred = forecaster.forecast_arrays([s.values for s in panel], [s.id for s in panel])
    want = pd.concat([pd.DataFrame({"id": s.id, "time": future_index(s.index, panel.freq, 4),
                                    "forecast": p}) for s, p in zip(panel, pred)],
                     ignore_index=True)
    pd.testing.assert_frame_equal(forecaster.forecast(panel), want)
    # a DataFrame laid out as the training data gives the same
    pd.testing.assert_frame_equal(forecaster.forecast(two_series_frame()), want)


@pytest.mark.parametrize("call, message", [
    (lambda f, h: f.predict(h[:, :-1].copy(), [0, 1]), "T >= 21"),
    (lambda f, h: f.predict(h[None], [0, 1]), "got shape"),
    (lambda f, h: f.predict(h), "pass series="),
    (lambda f, h: f.predict(h, ["s0", "nope"]), "'nope' was not in the training data"),
    (lambda f, h: f.predict(h, [0, 2]), "positions in 0..1"),
    (lambda f, h: f.predict(h, [0]), "2 positions"),
    (lambda f, h: f.predict(h, [0, 1], horizon=5), "exceeds the trained horizon 4"),
    (lambda f, h: f.predict(np.where(np.arange(h.shape[1]) == 3, np.nan, h), [0, 1]),
     "history has nan at step 3 of row 0: the last 21 steps"),
    (lambda f, h: f.predict(np.where(np.arange(h.shape[1]) == 20, np.inf, h[0]), 0),
     r"history has inf at step 20: the last 21 steps of each row are read and must be finite"),
    (lambda f, h: f.predict(np.full(h.shape[1], None), 0), "history has nan at step 0"),
    (lambda f, h: f.predict(np.array(["x"] * h.shape[1]), 0), "history must hold numbers"),
])
def test_bad_calls_name_what_is_wrong(call, message):
    forecaster, panel = trained("linear", "direct")
    history, _ = last_windows(forecaster, panel)
    with pytest.raises(ValueError, match=message):
        call(forecaster, history)
    with pytest.raises(ValueError, match=message):  # an ensemble checks the same
        from seqcast.forecasting.ensemble import Ensemble

        call(Ensemble(forecaster.config, [forecaster, forecaster]), history)


def test_a_missing_value_before_the_steps_read_is_no_error():
    forecaster, panel = trained("linear", "direct")
    history, _ = last_windows(forecaster, panel)
    longer = np.concatenate([np.full((2, 5), np.nan), history], axis=1)
    np.testing.assert_allclose(forecaster.predict(longer, [0, 1]), forecaster.predict(history, [0, 1]))


def _strategies(name):
    return ["direct", "iterative"] + (["seq2seq"] if name not in ("linear",) else [])


@pytest.mark.parametrize("name", list(MODELS))
def test_forecast_graph_in_torch_equals_the_forecaster(name):
    # the module that is exported, run by torch itself: every family, every strategy
    for strategy in _strategies(name):
        try:
            forecaster, panel = trained(name, strategy)
        except ValueError as exc:
            assert "valid strategies" in str(exc)
            continue
        graph = build_graph(forecaster)
        assert isinstance(graph, ForecastGraph)
        history, rows = last_windows(forecaster, panel)
        with torch.no_grad():
            got = graph(torch.from_numpy(history), torch.from_numpy(rows)).numpy()
        want = forecaster.forecast_arrays([s.values for s in panel], [s.id for s in panel])
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7 * np.abs(want).max(),
                                   err_msg=f"{name} {strategy}")


HEADS = [({"quantiles": (0.1, 0.3, 0.5, 0.7, 0.9)}, "direct"), ({"likelihood": "normal"}, "seq2seq"),
         ({"likelihood": "studentt"}, "iterative"), ({"quantiles": (0.2, 0.4, 0.6, 0.8)}, "iterative")]


@pytest.mark.parametrize("head,strategy", HEADS, ids=lambda v: str(v))
def test_head_runs_predict_their_median_as_forecast_arrays(head, strategy):
    # with differencing (1, 12): the median in the transformed space, undone exactly
    forecaster, panel = trained("gru", strategy, model=head)
    history, rows = last_windows(forecaster, panel)
    want = forecaster.forecast_arrays([s.values for s in panel], [s.id for s in panel])
    got = forecaster.predict(history, rows)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6 * np.abs(want).max())
    frame = forecaster.forecast(panel)  # the frame path takes the same fast path
    np.testing.assert_allclose(frame["forecast"].to_numpy(), want.ravel(), rtol=1e-5,
                               atol=1e-6 * np.abs(want).max())
    point, _ = trained("gru", strategy)  # the median is not the point model's forecast
    assert not np.allclose(point.predict(history, rows), got)


def test_predict_runs_in_eval_mode_and_leaves_the_mode_as_it_was():
    forecaster, panel = trained("gru", "direct", model={"dropout": 0.5})
    history, rows = last_windows(forecaster, panel)
    want = forecaster.forecast_arrays([s.values for s in panel], [s.id for s in panel])
    forecaster.model.train()
    np.testing.assert_allclose(forecaster.predict(history, rows), want, rtol=1e-12)
    assert forecaster.model.training
