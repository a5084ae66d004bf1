"""ARIMA's order search: the window it is fitted on, the deadline that cuts it short, and
the longest season given seasonal terms (ETS's too)."""

import time

import numpy as np

import seqcast.models.arima as arima


def _series(n=240, season=12, seed=0):
    r = np.random.default_rng(seed)
    t = np.arange(n)
    return 10 + 0.05 * t + 3 * np.sin(2 * np.pi * t / season) + np.cumsum(r.normal(0, 0.3, n))


def test_fit_uses_the_last_fit_window_steps_only(monkeypatch):
    monkeypatch.setattr(arima, "FIT_WINDOW", 120)
    y = _series()
    whole = arima.ARIMA.fit(y, 12)
    tail = arima.ARIMA.fit(y[-120:], 12)
    assert (whole.order, whole.seasonal_order) == (tail.order, tail.seasonal_order)
    np.testing.assert_allclose(whole.params, tail.params)
    changed = y.copy()
    changed[:100] += 50.0  # before the window: no influence
    again = arima.ARIMA.fit(changed, 12, whole.order, whole.seasonal_order)
    np.testing.assert_allclose(again.params, whole.params)


def test_a_passed_deadline_stops_the_first_fit():
    """Past its deadline a fit stops at the optimizer's next step: one seasonal fit of a
    long series takes seconds, more than a search may have left."""
    import pytest

    with pytest.raises(arima.OutOfTime, match=r"ARIMA: out of time fitting \(1, \d, 1\)"):
        arima.ARIMA.fit(_series(), 12, deadline=time.perf_counter() - 1)


def test_a_deadline_with_time_to_spare_changes_nothing():
    y = _series(n=120)
    m = arima.ARIMA.fit(y, 12, deadline=time.perf_counter() + 600)
    plain = arima.ARIMA.fit(y, 12)
    assert (m.order, m.seasonal_order) == (plain.order, plain.seasonal_order)
    np.testing.assert_array_equal(m.params, plain.params)


def test_a_deadline_during_the_search_keeps_the_best_order_so_far(monkeypatch):
    calls, late = [], [False]
    real = arima._sarimax

    class Timed:  # the clock passes the deadline once the first fit has ended
        def __init__(self, model):
            self.model = model

        def fit(self, *args, **kwargs):
            res = self.model.fit(*args, **kwargs)
            late[0] = True
            return res

    def counted(*args, **kwargs):
        calls.append(args[1:3])
        return Timed(real(*args, **kwargs))

    monkeypatch.setattr(arima, "_sarimax", counted)
    monkeypatch.setattr(time, "perf_counter", lambda: 100.0 if late[0] else 0.0)
    m = arima.ARIMA.fit(_series(), 12, deadline=50.0)
    # the first candidate, the airline model; its search estimates stand in for the exact
    # refit that there is no time left for
    assert len(calls) == 1
    assert m.order[0] == m.order[2] == 1 and m.seasonal_order[:3:2] == (0, 1)
    monkeypatch.setattr(arima, "_sarimax", real)
    exact = arima.ARIMA.fit(_series(), 12, m.order, m.seasonal_order)
    np.testing.assert_allclose(m.forecast(_series(), 12), exact.forecast(_series(), 12),
                               rtol=1e-3)
    monkeypatch.undo()
    calls.clear()
    monkeypatch.setattr(arima, "_sarimax", lambda *a, **k: calls.append(a[1:3]) or real(*a, **k))
    arima.ARIMA.fit(_series(), 12)
    assert len(calls) > 2  # without a deadline the whole grid is searched, then refitted


def test_a_season_longer_than_max_season_is_searched_without_seasonal_terms():
    y = _series(n=400, season=100)
    m = arima.ARIMA.fit(y, 100)
    assert m.seasonal_order == (0, 0, 0, 0)
    assert np.isfinite(m.forecast(y, 10)).all()
    import pandas as pd
    from test_auto import data_cfg

    from seqcast.backtest import backtest
    from seqcast.data.io import from_frame
    from seqcast.pipeline import make_config

    panel = from_frame(pd.DataFrame({"y": y}), "long season")
    result = backtest(panel, make_config("naive", data_cfg(season=100, horizon=5)), 2,
                      baselines=("arima",))
    assert any("arima fits no seasonal terms for a season of 100" in w for w in result.warnings)


def test_a_season_the_series_holds_at_most_twice_gets_no_seasonal_terms(monkeypatch):
    seasonal = []
    real = arima._sarimax

    def seen(y, order, seasonal_order, *args, **kwargs):
        seasonal.append(seasonal_order)
        return real(y, order, seasonal_order, *args, **kwargs)

    monkeypatch.setattr(arima, "_sarimax", seen)
    for n, season, searched in ((80, 52, False), (24, 12, False), (25, 12, True)):
        seasonal.clear()
        m = arima.ARIMA.fit(_series(n=n, season=season), season)
        assert any(so[3] == season for so in seasonal) == searched, (n, season)
        assert searched or m.seasonal_order == (0, 0, 0, 0)


def test_seasonal_ets_candidates_stop_at_max_season():
    from seqcast.forecasting.classical import usable_kinds

    assert "ets_seasonal" in usable_kinds(1000, arima.MAX_SEASON)
    assert usable_kinds(10_000, arima.MAX_SEASON + 1) == ["ses", "holt_damped"]
