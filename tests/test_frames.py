"""A pandas DataFrame goes wherever a Panel does: defaults, fit, forecast, backtest."""

import numpy as np
import pandas as pd
import pytest

from seqcast import DataConfig, backtest, data_defaults, fit_forecaster, from_frame, make_config
from seqcast.forecasting.auto import AutoConfig


def frame(n=72) -> pd.DataFrame:
    """Two monthly series in the peers' layout (unique_id, ds, y), rows shuffled."""
    rng = np.random.default_rng(0)
    t = pd.date_range("2015-01-01", periods=n, freq="MS")
    parts = [pd.DataFrame({"unique_id": k, "ds": t, "y": 50 + 5 * i + 10 * np.sin(
        2 * np.pi * np.arange(n) / 12) + rng.normal(0, 1, n)}) for i, k in enumerate("ab")]
    return pd.concat(parts).sample(frac=1.0, random_state=1)


def test_a_frame_trains_and_forecasts_as_the_panel_read_from_it():
    df = frame()
    panel = from_frame(df)
    data, input_len = data_defaults(df, DataConfig(horizon=6, intervals="conformal"))
    assert (data.season, data_defaults(panel, DataConfig(horizon=6))[1]) == (12, input_len)
    config = make_config("linear", data, input_len, None, {"epochs": 3})
    by_frame, _, metrics = fit_forecaster(df, config)
    by_panel, _, again = fit_forecaster(panel, config)
    assert metrics["valid"]["mae_mean"] == pytest.approx(again["valid"]["mae_mean"], rel=1e-9)
    out = by_frame.forecast(df, levels=(80,))
    assert list(out.columns) == ["id", "time", "forecast", "lo-80", "hi-80"]
    assert set(out["id"]) == {"a", "b"} and (out["time"] > df["ds"].max()).all()
    pd.testing.assert_frame_equal(out, by_panel.forecast(panel, levels=(80,)))
    # the point forecasts' fast path reads the shuffled rows in time order too
    pd.testing.assert_frame_equal(by_frame.forecast(df), by_panel.forecast(panel))


def test_an_ensemble_and_a_backtest_take_the_frame_too():
    df = frame()
    data, input_len = data_defaults(df, DataConfig(horizon=6))
    search = AutoConfig(budget=600, families=(), ensemble=2, arima=False)
    ensemble, _, _ = fit_forecaster(df, make_config("auto", data, input_len), search=search)
    pd.testing.assert_frame_equal(ensemble.forecast(df), ensemble.forecast(from_frame(df)))
    config = make_config("linear", data, input_len, None, {"epochs": 2})
    scores = backtest(df, config, folds=2, baselines=("seasonal_naive",)).to_dict()["models"]
    assert scores["seasonal_naive"]["mase"] == pytest.approx(backtest(
        from_frame(df), config, folds=2, baselines=("seasonal_naive",)
    ).to_dict()["models"]["seasonal_naive"]["mase"])


def test_anything_else_is_refused_by_type():
    data = DataConfig(horizon=6)
    with pytest.raises(TypeError, match="a Panel, a pandas DataFrame or Series, or a data"
                       " file's path; got ndarray"):
        fit_forecaster(np.zeros((2, 50)), make_config("linear", data, 12))
    bad = pd.DataFrame({"ds": pd.date_range("2020", periods=30, freq="D"),
                        "y": ["1.0"] * 29 + ["oops"]})
    with pytest.raises(ValueError, match="<frame>: column 'y', row 30: non-numeric value 'oops'"):
        fit_forecaster(bad, make_config("linear", data, 12))


def test_a_data_files_path_is_read_as_the_cli_reads_it(tmp_path):
    df = frame()
    df.to_csv(tmp_path / "sales.csv", index=False)
    data, input_len = data_defaults(str(tmp_path / "sales.csv"), DataConfig(horizon=6))
    assert (data, input_len) == data_defaults(df, DataConfig(horizon=6))
    config = make_config("seasonal_naive", data, 12)
    forecaster, _, _ = fit_forecaster(tmp_path / "sales.csv", config)  # a str or a Path
    pd.testing.assert_frame_equal(forecaster.forecast(tmp_path / "sales.csv"),
                                  forecaster.forecast(df), check_dtype=False)
    with pytest.raises(ValueError, match="no value column 'units'"):
        fit_forecaster(tmp_path / "sales.csv", make_config(
            "naive", DataConfig(horizon=6, targets=("units",)), 1))


def test_seqcast_backtest_is_the_function_even_after_its_module_is_imported():
    import importlib

    import seqcast

    importlib.import_module("seqcast.backtest")  # sets seqcast.backtest to the module
    df = frame(48)
    data, input_len = data_defaults(df, DataConfig(horizon=6))
    config = make_config("naive", data, input_len)
    result = seqcast.backtest(df, config, folds=1, baselines=())
    assert set(result.to_dict()["models"]) == {"naive_model"}  # named apart from the baseline


def test_readme_dataframe_example_runs(tmp_path, monkeypatch, capsys):
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    code = next(b for b in re.findall(r"```python\n(.*?)```", readme, flags=re.S)
                if "pd.read_csv(\"sales.csv\"" in b)
    rng = np.random.default_rng(0)
    weeks = pd.date_range("2020-01-06", periods=90, freq="W-MON").strftime("%Y-%m-%d")
    pd.concat([pd.DataFrame({"date": weeks, "store": s, "units": 20 + rng.poisson(5, 90)})
               for s in ("north", "south")]).to_csv(tmp_path / "sales.csv", index=False)
    monkeypatch.chdir(tmp_path)
    exec(compile(code.replace('make_config("gru", data, input_len)',
                              'make_config("gru", data, input_len, None, {"epochs": 2})'),
                 "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "lo-80" in out and "north" in out and "south" in out


def test_timestamps_in_the_index_are_kept_not_dropped():
    from seqcast.data.load import as_panel

    data = DataConfig(horizon=3)
    s = pd.Series(np.arange(30.0), index=pd.date_range("2020-01-01", periods=30, freq="MS"),
                  name="sales")
    for given in (s, s.to_frame(), s.to_period("M"), s.rename_axis("Month")):
        panel = as_panel(given, data)
        assert panel.freq == "MS" and panel.series[0].index[0] == pd.Timestamp("2020-01-01")
        assert [x.id for x in panel] == ["sales"]
    long = frame().set_index(["unique_id", "ds"])  # the peers' layout, as an index
    panel = as_panel(long, data)
    assert (panel.id_col, panel.time_col, panel.freq) == ("unique_id", "ds", "MS")
    plain = as_panel(s.reset_index(drop=True), data)  # row numbers: steps, dropped
    assert plain.freq is None and plain.time_col is None


def test_a_run_fitted_on_a_frame_asks_for_data_when_forecast_from_the_cli(tmp_path, capsys):
    from seqcast.cli import main
    from seqcast.runs import save_run

    df = frame()
    data, input_len = data_defaults(df, DataConfig(horizon=6))
    save_run(tmp_path / "run", *fit_forecaster(df, make_config("naive", data, input_len)))
    capsys.readouterr()
    assert main(["forecast", str(tmp_path / "run")]) == 2
    assert "give --data FILE" in capsys.readouterr().err
    df.to_csv(tmp_path / "s.csv", index=False)
    assert main(["forecast", str(tmp_path / "run"), "--data", str(tmp_path / "s.csv")]) == 0


@pytest.mark.parametrize("kind", ["linear", "ets"])
def test_python_calls_with_wrong_values_are_one_line_errors(kind):
    """Histories with a missing value, the wrong shape or count, horizons that are not whole
    numbers >= 1, levels that are not percentages: refused, never a NaN or empty forecast."""
    from seqcast.forecasting.candidates import Candidate, fit_candidate

    df = frame()
    data, input_len = data_defaults(df, DataConfig(horizon=6, intervals="conformal"))
    if kind == "linear":
        f = fit_forecaster(df, make_config("linear", data, input_len, None, {"epochs": 2}))[0]
    else:
        f = fit_candidate(from_frame(df), data, Candidate("ets", {"ets": "ses"}))
    x = from_frame(df).series[0].values
    cases = [
        (lambda: f.forecast_arrays([np.r_[x[:-3], np.nan, x[-2:]]], ["a"]),
         "history 0 .series 'a'. holds a missing or non-finite value at step 70 of 72"),
        (lambda: f.forecast_arrays([np.c_[x, x]], ["a"]), r"must be one-dimensional \(T,\)"),
        (lambda: f.forecast_arrays(x, ["a"]), "a list of arrays"),
        (lambda: f.forecast_arrays([x], ["a", "b"]), "1 histories for 2 ids"),
        (lambda: f.forecast_arrays([x], ["a"], 0), "horizon must be a whole number >= 1, got 0"),
        (lambda: f.forecast_arrays([x], ["a"], 2.5), "horizon must be a whole number"),
    ]
    if kind == "linear":
        cases += [
            (lambda: f.forecast(df, horizon=0), "horizon must be a whole number >= 1, got 0"),
            (lambda: f.forecast(df, levels="80"), "levels must be numbers in percent"),
            (lambda: f.forecast(df, levels=(0.8,)), "for 80% give 80"),
        ]
    for call, needle in cases:
        with pytest.raises(ValueError, match=needle):
            call()
    assert np.isfinite(f.forecast_arrays([x], ["a"], 3)).all()
    for bad in ({"folds": "3"}, {"folds": 0}, {"step": 1.5}):
        with pytest.raises(ValueError, match="must be a whole number >= 1"):
            backtest(df, make_config("naive", data, 1), **{"folds": 2, **bad})

