"""Intervals end to end through the CLI: train, forecast columns and samples, backtest scores."""

import json

import numpy as np
import pandas as pd
import pytest

from seqcast.cli import main
from seqcast.runs import load_run


def _csv(tmp_path, n=120):
    t = np.arange(n)
    rng = np.random.default_rng(0)
    value = 500 + 2.0 * t + 30 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 3.0, n)
    path = tmp_path / "s.csv"
    pd.DataFrame({"date": pd.date_range("2010-01-01", periods=n, freq="MS"), "y": value}).to_csv(
        path, index=False)
    return path


COMMON = ["--horizon", "6", "--input-len", "24", "--diff", "1", "--epochs", "2"]


def test_quantile_run_forecasts_levels_and_samples_and_refuses_a_level_it_lacks(tmp_path, capsys):
    csv, run = _csv(tmp_path), tmp_path / "q"
    assert main(["train", "--data", str(csv), "--model", "linear", *COMMON,
                 "--quantiles", "0.1,0.5,0.9", "--out", str(run)]) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert set(metrics["valid"]["intervals"]["80"]) == {"coverage", "width", "msis"}
    assert metrics["valid"]["crps"] > 0
    out = tmp_path / "f.csv"
    assert main(["forecast", str(run), "--level", "80", "--output", str(out), "--plot",
                 str(tmp_path / "f.png")]) == 0
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["id", "time", "forecast", "lo-80", "hi-80"] and len(frame) == 6
    assert (frame["lo-80"] <= frame["hi-80"]).all()
    capsys.readouterr()
    assert main(["forecast", str(run), "--level", "95"]) == 2
    err = capsys.readouterr().err
    assert "0.1,0.5,0.9" in err and len(err.strip().splitlines()) == 1
    assert main(["forecast", str(run), "--samples", "5", "--output", str(out)]) == 0
    paths = pd.read_csv(out)
    assert list(paths.columns) == ["id", "time", "sample", "value"] and len(paths) == 5 * 6
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--data", str(csv), "--model", "gru", "--quantiles", "0.9,0.1"])
    assert exit_.value.code == 2


def test_conformal_run_keeps_its_calibration_and_backtest_scores_every_model(tmp_path, capsys):
    csv, run = _csv(tmp_path), tmp_path / "c"
    assert main(["train", "--data", str(csv), "--model", "linear", *COMMON,
                 "--intervals", "conformal", "--valid-frac", "0.3", "--out", str(run)]) == 0
    assert (run / "calibration.json").is_file()
    forecaster = load_run(run)
    assert type(forecaster).__name__ == "ConformalForecaster"
    n = len(forecaster.scores)  # the levels it can give are said when it is trained
    top = max(level for level in range(1, 100) if forecaster.gives(level))
    assert (f"conformal intervals from {n} validation windows: --level up to {top}"
            in capsys.readouterr().err)
    q = forecaster.forecast_quantiles([np.arange(60.0)], ["y"], [0.1, 0.5, 0.9])
    assert q.shape == (1, 6, 3) and (np.diff(q, axis=-1) >= 0).all()
    bt = tmp_path / "bt.json"
    assert main(["backtest", "--data", str(csv), "--model", "linear", *COMMON, "--folds", "2",
                 "--intervals", "conformal", "--valid-frac", "0.3", "--level", "80",
                 "--arima-order", "0,1,1,0,1,1", "--json", str(bt)]) == 0
    models = json.loads(bt.read_text())["models"]
    assert list(models) == ["linear", "naive", "seasonal_naive", "arima"]
    for scores in models.values():
        assert set(scores["intervals"]["80"]) == {"coverage", "width", "msis"}
        assert scores["crps"] > 0 and scores["intervals"]["80"]["width"] > 0
    (run / "calibration.json").write_text("{not json")
    assert main(["forecast", str(run), "--level", "80"]) == 2
    good = json.loads(json.dumps(forecaster.calibration()))
    damaged = {  # each a one-line error naming the file and what is wrong, never a wrong band
        "ragged": {**good, "scores": [good["scores"][0], good["scores"][1][:-1]]},
        "text": {**good, "scores": [["x"] * 6]},
        "negative": {**good, "scores": [[-1.0] * 6]},
        "other horizon": {**good, "scores": [r[:-1] for r in good["scores"]]},
        "no scale": {**good, "scales": {}},
        "zero scale": {**good, "scales": {"y": 0}},
        "not an object": [1, 2],
    }
    for what, data in damaged.items():
        (run / "calibration.json").write_text(json.dumps(data))
        capsys.readouterr()
        assert main(["forecast", str(run), "--level", "80"]) == 2, what
        err = capsys.readouterr().err
        assert "calibration.json: " in err and "Traceback" not in err, (what, err)


def test_backtest_of_a_point_model_with_levels_fails_before_training(tmp_path, capsys):
    csv = _csv(tmp_path)
    assert main(["backtest", "--data", str(csv), "--model", "linear", *COMMON,
                 "--level", "80"]) == 2
    assert "point forecasts only" in capsys.readouterr().err
    # auto's intervals are conformal without asking, calibrated on its validation origins
    out = tmp_path / "bt.json"
    assert main(["backtest", "--data", str(csv), "--model", "auto", "--horizon", "6",
                 "--budget", "2", "--trials", "1", "--folds", "2", "--level", "80",
                 "--baselines", "naive", "--json", str(out)]) == 0
    scores = json.loads(out.read_text())["models"]["auto"]
    assert set(scores["intervals"]["80"]) == {"coverage", "width", "msis"}


@pytest.mark.parametrize("args", [["--level", "0"], ["--level", "80,abc"], ["--level", "100"]])
def test_bad_levels_are_argument_errors(tmp_path, args):
    with pytest.raises(SystemExit) as exit_:
        main(["forecast", str(tmp_path), *args])
    assert exit_.value.code == 2


def test_forecast_figure_labels_dates_concisely_and_shades_each_level():
    """Dates on the x axis get matplotlib's concise labels (full dates side by side overlap);
    a plain step index keeps the default ticks."""
    from matplotlib.dates import ConciseDateFormatter

    from seqcast.data.io import Series
    from seqcast.plot import series_forecast_figure

    dated = Series("a", pd.date_range("2023-01-01", periods=150, freq="D"), np.arange(150.0))
    plain = Series("b", pd.RangeIndex(150), np.arange(150.0))
    a, b = (series_forecast_figure([s], pd.DataFrame({
        "id": s.id, "time": s.index[-7:], "forecast": 1.0, "lo-80": 0.0, "hi-80": 2.0,
        "lo-95": -1.0, "hi-95": 3.0})).axes[0] for s in (dated, plain))
    assert isinstance(a.xaxis.get_major_formatter(), ConciseDateFormatter)
    assert not isinstance(b.xaxis.get_major_formatter(), ConciseDateFormatter)
    assert [t.get_text() for t in a.get_legend().get_texts()] == [
        "history", "forecast", "95% interval", "80% interval"]


def test_forecast_figure_of_many_series_says_how_many_it_shows():
    from seqcast.data.io import Series
    from seqcast.plot import series_forecast_figure

    many = [Series(f"s{k}", pd.RangeIndex(30), np.arange(30.0)) for k in range(9)]
    table = pd.DataFrame({"id": "s0", "time": [30, 31], "forecast": 1.0})
    fig = series_forecast_figure(many, table)
    assert len(fig.axes) == 6 and fig.get_suptitle() == "the first 6 of 9 series"
    assert series_forecast_figure(many[:2], table).get_suptitle() == ""


def test_nonnegative_forecasts_clip_values_and_bounds_at_zero(tmp_path, capsys, monkeypatch):
    """Counts that are mostly 0: the conformal band reaches below 0, --nonnegative writes 0
    there and changes nothing above it; `--output -` is stdout."""
    rng = np.random.default_rng(1)
    csv = tmp_path / "counts.csv"
    pd.DataFrame({"date": pd.date_range("2010-01-01", periods=120, freq="MS"),
                  "y": rng.poisson(0.7, 120)}).to_csv(csv, index=False)
    run = tmp_path / "run"
    assert main(["train", "--data", str(csv), "--model", "linear", *COMMON, "--intervals",
                 "conformal", "--out", str(run)]) == 0
    raw, clipped = tmp_path / "raw.csv", tmp_path / "clipped.csv"
    assert main(["forecast", str(run), "--level", "80,95", "--output", str(raw)]) == 0
    assert main(["forecast", str(run), "--level", "80,95", "--nonnegative", "--output",
                 str(clipped)]) == 0
    before, after = pd.read_csv(raw), pd.read_csv(clipped)
    values = ["forecast", "lo-80", "hi-80", "lo-95", "hi-95"]
    assert (before["lo-95"] < 0).any()  # the case this is for
    np.testing.assert_allclose(after[values], before[values].clip(lower=0))
    capsys.readouterr()
    monkeypatch.chdir(tmp_path)
    assert main(["forecast", str(run), "--level", "80", "--nonnegative", "--output", "-"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "id,time,forecast,lo-80,hi-80" and len(printed) == 7
    assert not (tmp_path / "-").exists()


def test_backtest_nonnegative_scores_what_forecast_nonnegative_writes(tmp_path):
    """Every model's forecasts and bounds clipped at 0 before scoring: on counts, each
    model's MAE can only fall and its coverage only rise; the table has no value below 0."""
    rng = np.random.default_rng(1)
    csv = tmp_path / "counts.csv"
    pd.DataFrame({"date": pd.date_range("2010-01-01", periods=120, freq="MS"),
                  "y": rng.poisson(0.7, 120)}).to_csv(csv, index=False)
    out = {}
    for flag in ([], ["--nonnegative"]):
        tag = "clipped" if flag else "raw"
        assert main(["backtest", "--data", str(csv), "--model", "linear", *COMMON, "--intervals",
                     "conformal", "--level", "80", "--folds", "3", "--baselines",
                     "naive,seasonal_naive", "--json", str(tmp_path / f"{tag}.json"),
                     "--forecasts", str(tmp_path / f"{tag}.csv"), *flag]) == 0
        out[tag] = (json.loads((tmp_path / f"{tag}.json").read_text())["models"],
                    pd.read_csv(tmp_path / f"{tag}.csv"))
    (raw, raw_table), (clipped, table) = out["raw"], out["clipped"]
    values = table.drop(columns=["id", "cutoff", "time", "actual"])
    assert (raw_table[values.columns] < 0).any().any() and not (values < 0).any().any()
    np.testing.assert_allclose(values, raw_table[values.columns].clip(lower=0))
    for model in ("linear", "naive", "seasonal_naive"):
        assert clipped[model]["mae_mean"] <= raw[model]["mae_mean"] + 1e-12
        assert (clipped[model]["intervals"]["80"]["coverage"]
                >= raw[model]["intervals"]["80"]["coverage"])
    assert clipped["linear"]["mae_mean"] < raw["linear"]["mae_mean"]  # it did clip something
