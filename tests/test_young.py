"""A series too young for a run's window is forecast by a baseline; the others by the run."""

import numpy as np
import pandas as pd
import pytest

from seqcast.cli import main
from seqcast.data.io import Panel, Series
from seqcast.forecasting.baselines import naive_std, seasonal_naive_std
from seqcast.forecasting.young import young_frame, young_samples


def weekly_file(path, young_len=8, n=110):
    t = pd.date_range("2020-01-06", periods=n, freq="W-MON")
    rng = np.random.default_rng(0)
    parts = [pd.DataFrame({"week": t, "sku": f"s{k}", "qty": 50 + 5 * k + 10 * np.sin(
        np.arange(n) * 2 * np.pi / 13) + rng.normal(0, 1, n)}) for k in range(3)]
    parts.append(pd.DataFrame({"week": t[-young_len:], "sku": "new",
                               "qty": rng.poisson(20, young_len).astype(float)}))
    pd.concat(parts).to_csv(path, index=False)
    return str(path), parts[-1]["qty"].to_numpy()


def test_a_young_series_gets_seasonal_naive_and_the_others_the_model(tmp_path, capsys):
    data, young = weekly_file(tmp_path / "w.csv", young_len=16)
    run, out = str(tmp_path / "run"), tmp_path / "f.csv"
    assert main(["train", "--data", data, "--model", "linear", "--season", "13", "--horizon",
                 "6", "--input-len", "26", "--epochs", "3", "--intervals", "conformal",
                 "--out", run]) == 0
    err = capsys.readouterr().err
    assert "series 'new' (16 steps) left out of training" in err  # differencing 13 + 6 + 3
    assert main(["forecast", run, "--level", "80,95", "--output", str(out)]) == 0
    err = capsys.readouterr().err
    assert "warning: series 'new' (16 steps) shorter than" in err and "Traceback" not in err
    f = pd.read_csv(out)
    assert list(f["id"].unique()) == ["s0", "s1", "s2", "new"] and len(f) == 4 * 6
    new = f[f["id"] == "new"]
    np.testing.assert_allclose(new["forecast"], young[-13:][:6])  # the last season again
    sigma = seasonal_naive_std(young, 13, 6)
    np.testing.assert_allclose(new["hi-80"] - new["forecast"], 1.2815515655 * sigma, rtol=1e-6)
    assert (new["hi-95"] > new["hi-80"]).all() and (new["lo-95"] < new["lo-80"]).all()
    # the model's series are what the run alone gives them
    alone = pd.read_csv(data)
    alone[alone["sku"] != "new"].to_csv(tmp_path / "old.csv", index=False)
    assert main(["forecast", run, "--data", str(tmp_path / "old.csv"), "--level", "80,95",
                 "--output", str(tmp_path / "g.csv")]) == 0
    g = pd.read_csv(tmp_path / "g.csv")
    pd.testing.assert_frame_equal(f[f["id"] != "new"].reset_index(drop=True), g)


def test_a_series_too_short_for_any_window_is_left_out_of_training_then_forecast(tmp_path,
                                                                              capsys):
    data, young = weekly_file(tmp_path / "w.csv", young_len=5)
    run = str(tmp_path / "run")
    assert main(["train", "--data", data, "--model", "gru", "--season", "13", "--horizon", "6",
                 "--epochs", "2", "--likelihood", "normal", "--out", run]) == 0
    err = capsys.readouterr().err
    assert "series 'new' (5 steps) left out of training" in err and "falling back" not in err
    out = tmp_path / "s.csv"
    assert main(["forecast", run, "--samples", "50", "--output", str(out)]) == 0
    s = pd.read_csv(out)
    assert set(s["id"]) == {"s0", "s1", "s2", "new"} and len(s) == 4 * 50 * 6
    new = s[s["id"] == "new"].pivot(index="sample", columns="time", values="value")
    assert new.shape == (50, 6) and new.std().gt(0).all()  # naive: less than a season
    assert abs(new.mean().iloc[0] - young[-1]) < 4 * naive_std(young, 1)[0]


def test_auto_leaves_out_a_series_its_search_cannot_validate(tmp_path, capsys):
    data, _ = weekly_file(tmp_path / "w.csv", young_len=8)
    run = str(tmp_path / "run")
    assert main(["train", "--data", data, "--model", "auto", "--season", "13", "--horizon", "6",
                 "--budget", "8", "--trials", "2", "--out", run]) == 0
    err = capsys.readouterr().err
    assert "series 'new' (8 steps) left out: shorter than 2 * horizon + 4 = 16" in err
    out = tmp_path / "f.csv"
    assert main(["forecast", run, "--level", "80", "--output", str(out)]) == 0
    f = pd.read_csv(out)
    assert set(f["id"]) == {"s0", "s1", "s2", "new"} and np.isfinite(f["forecast"]).all()
    assert main(["backtest", "--data", data, "--model", "auto", "--season", "13", "--horizon",
                 "6", "--folds", "2", "--budget", "8", "--trials", "2"]) == 0
    assert "'new'" in capsys.readouterr().err  # left out of the backtest, said so


def test_too_few_changes_give_no_bounds_rather_than_zero_width():
    t = pd.date_range("2024-01-01", periods=2, freq="D")
    young = Panel("x.csv", "D", (Series("a", t, np.array([3.0, 5.0])),))
    f = young_frame(young, 7, 3, (80,))
    assert (f["forecast"] == 5.0).all() and f["lo-80"].isna().all() and f["hi-80"].isna().all()
    s = young_samples(young, 7, 3, 4)
    assert (s["value"] == 5.0).all()


@pytest.mark.parametrize("n", [1, 2, 3])
def test_a_one_to_three_step_series_forecasts_its_last_value(n):
    t = pd.date_range("2024-01-01", periods=n, freq="D")
    f = young_frame(Panel("x.csv", "D", (Series("a", t, np.arange(1.0, n + 1)),)), 1, 2)
    assert (f["forecast"] == float(n)).all() and len(f) == 2


def test_auto_refits_its_members_with_the_window_it_validated():
    """A series shorter than half the median is left out of the search; refitting a
    windowed member on it too would shorten every series' window (or fail, for ridge). It is
    forecast from its own history with the validated window instead, or by a baseline."""
    import dataclasses

    from test_auto import data_cfg, seasonal_panel

    from seqcast.forecasting.auto import AutoConfig, fit_auto
    from seqcast.forecasting.young import forecast_all
    from seqcast.pipeline import make_config

    long = [dataclasses.replace(seasonal_panel(150, seed=k).series[0], id=f"s{k}")
            for k in range(3)]
    grown = dataclasses.replace(seasonal_panel(30, seed=9).series[0], id="grown")
    new = dataclasses.replace(seasonal_panel(14, seed=8).series[0], id="new")
    panel = Panel("p", "MS", (*long, grown, new))
    search = AutoConfig(budget=600, trials=4, epochs=3, families=("linear",), classical=False)
    ens, _, metrics = fit_auto(panel, make_config("auto", data_cfg()), search)
    assert metrics["search"]["left_out"] == ["grown"] and metrics["search"]["too_short"] == ["new"]
    for info, member in zip(metrics["search"]["chosen"], ens.inner.members, strict=True):
        assert f"L={member.config.model.input_len} " in info["name"] + " "
        assert {"s0", "s1", "s2"} <= set(member.transforms) and "new" not in member.transforms
    frame, _, notes = forecast_all(ens, panel, None, (80,))
    assert frame.groupby("id").size().to_dict() == {i: 6 for i in ("s0", "s1", "s2", "grown",
                                                                    "new")}
    assert np.isfinite(frame["forecast"]).all() and "'new' (14 steps)" in notes[-1]


def test_a_run_reading_covariates_forecasts_a_new_series_by_a_baseline(tmp_path, capsys):
    t = pd.date_range("2020-01-06", periods=100, freq="W-MON")
    rng = np.random.default_rng(3)
    frame = pd.concat([pd.DataFrame({"week": t, "sku": k, "qty": rng.normal(50, 3, 100),
                                     "price": rng.normal(10, 1, 100)}) for k in ("a", "b")])
    frame.to_csv(tmp_path / "old.csv", index=False)
    run = str(tmp_path / "run")
    assert main(["train", "--data", str(tmp_path / "old.csv"), "--model", "linear",
                 "--past-covariates", "price", "--season", "4", "--horizon", "4",
                 "--epochs", "2", "--out", run]) == 0
    extra = frame[frame["sku"] == "a"].assign(sku="c")
    pd.concat([frame, extra]).to_csv(tmp_path / "new.csv", index=False)
    capsys.readouterr()
    assert main(["forecast", run, "--data", str(tmp_path / "new.csv"), "--output",
                 str(tmp_path / "f.csv")]) == 0
    assert "warning: series 'c' (100 steps)" in capsys.readouterr().err
    f = pd.read_csv(tmp_path / "f.csv")
    c = extra["qty"].to_numpy()
    np.testing.assert_allclose(f[f["id"] == "c"]["forecast"], c[-4:])  # seasonal naive


def test_a_series_of_one_or_two_rows_takes_the_panel_frequency(tmp_path):
    from seqcast.data.io import read_series

    t = pd.date_range("2024-01-01", periods=30, freq="W-MON")
    frame = pd.concat([pd.DataFrame({"week": t, "sku": "old", "qty": np.arange(30.0)}),
                       pd.DataFrame({"week": t[-2:], "sku": "two", "qty": [3.0, 4.0]}),
                       pd.DataFrame({"week": t[-1:], "sku": "one", "qty": [5.0]})])
    frame.to_csv(tmp_path / "p.csv", index=False)
    panel = read_series(tmp_path / "p.csv")  # was: "need at least 3 rows to infer"
    assert panel.freq == "W-MON" and [len(s) for s in panel] == [30, 2, 1]
    f = young_frame(Panel("p", panel.freq, panel.series[1:]), 52, 2, (80,))
    assert list(f["time"]) == [t[-1] + pd.Timedelta(weeks=k) for k in (1, 2)] * 2
    frame.iloc[-1, 0] = t[-1] + pd.Timedelta(days=3)  # off the weekly grid
    frame.to_csv(tmp_path / "q.csv", index=False)
    with pytest.raises(ValueError, match="q.csv"):
        read_series(tmp_path / "q.csv")
