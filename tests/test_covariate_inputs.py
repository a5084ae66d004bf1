"""Bad covariate input from the command line: exit status 2, one line naming file, column and
row, and nothing written."""

import json

import numpy as np
import pandas as pd
import pytest

from seqcast.cli import main

N, H = 120, 4


def frame(n=N, future=H, seed=0):
    rng = np.random.default_rng(seed)
    t = pd.date_range("2021-01-01", periods=n + future, freq="h")
    x = rng.standard_normal(n + future)
    y = 2 * x + 0.1 * rng.standard_normal(n + future)
    f = pd.DataFrame({"ds": t, "y": y.round(4), "temp": x.round(4), "load": x.round(4),
                      "region": "north"})
    f.loc[n:, "y"] = np.nan  # future rows: the target is empty there
    return f


def write(f, path):
    f.to_csv(path, index=False)
    return str(path)


TRAIN = ["train", "--model", "linear", "--epochs", "2", "--input-len", "8", "--horizon", str(H),
         "--diff", "none", "--target", "y"]


def fails(argv, needle, tmp_path, capsys):
    before = sorted(p.name for p in tmp_path.rglob("*"))
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0], err
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # nothing written


def corrupt(kind):
    f = frame().astype(object)
    if kind == "gap":
        f.loc[20, "temp"] = np.nan
    elif kind == "text":
        f.loc[20, "temp"] = "warm"
    elif kind == "inf":
        f.loc[20, "temp"] = "inf"
    elif kind == "huge":
        f.loc[20, "temp"] = "1e400"
    elif kind == "static":
        f.loc[20, "region"] = "south"
    elif kind == "future_missing":
        f.loc[N + 1, "temp"] = np.nan
    elif kind == "future_gap":
        f = f.drop(index=N + 1)
    return f


@pytest.mark.parametrize(
    "kind,needle",
    [
        ("gap", "column 'temp', row 21: missing value"),
        ("text", "column 'temp', row 21: non-numeric value 'warm'"),
        ("inf", "column 'temp', row 21: non-finite value 'inf'"),
        ("huge", "column 'temp', row 21: non-finite value '1e400'"),
        ("static", "column 'region', row 21: static value 'south' differs"),
        ("future_missing", "column 'temp', row 122: missing future value"),
        ("future_gap", "column 'ds', row 122: future row at"),
    ],
)
def test_bad_covariate_cells_are_one_line_errors_naming_column_and_row(
    kind, needle, tmp_path, capsys
):
    data = write(corrupt(kind), tmp_path / "d.csv")
    argv = [*TRAIN, "--data", data, "--future-covariates", "temp", "--static-covariates",
            "region", "--out", str(tmp_path / "run")]
    fails(argv, f"d.csv: {needle}", tmp_path, capsys)


def test_non_finite_target_is_an_error_even_with_fill(tmp_path, capsys):
    f = frame(future=0).astype(object)
    f.loc[30, "y"] = "1e400"
    data = write(f, tmp_path / "d.csv")
    fails([*TRAIN, "--data", data, "--fill", "interpolate", "--out", str(tmp_path / "r")],
          "column 'y', row 31: non-finite value '1e400'", tmp_path, capsys)


@pytest.mark.parametrize(
    "flags,needle",
    [
        (["--future-covariates", "tmp"], "no future covariate column 'tmp'; valid: temp, load, region"),
        (["--past-covariates", "ds"], "no past covariate column 'ds'"),
        (["--past-covariates", "temp", "--future-covariates", "temp"],
         "column 'temp' is both a past and a future covariate"),
        (["--calendar", "hour_of_week"], "unknown calendar feature 'hour_of_week'; valid: auto"),
        (["--future-data", "future.csv"], "future data given but no --future-covariates"),
    ],
)
def test_bad_covariate_flags_are_one_line_errors(flags, needle, tmp_path, capsys):
    data = write(frame(), tmp_path / "d.csv")
    fails([*TRAIN, "--data", data, *flags, "--out", str(tmp_path / "run")], needle, tmp_path,
          capsys)


def test_calendar_needs_timestamps(tmp_path, capsys):
    f = frame(future=0).drop(columns=["ds"])
    data = write(f, tmp_path / "d.csv")
    fails([*TRAIN, "--data", data, "--target", "y", "--calendar", "auto", "--out",
           str(tmp_path / "run")], "calendar features need timestamps", tmp_path, capsys)


@pytest.fixture
def run(tmp_path_factory):
    """A run trained with a future covariate, a static one and calendar features."""
    root = tmp_path_factory.mktemp("cov")
    data = write(frame(), root / "d.csv")
    out = root / "run"
    assert main([*TRAIN, "--data", data, "--future-covariates", "temp", "--static-covariates",
                 "region", "--calendar", "auto", "--out", str(out)]) == 0
    return out


def test_forecast_demands_the_runs_covariates(run, tmp_path, capsys):
    no_future = write(frame(future=0), tmp_path / "past_only.csv")
    fails(["forecast", str(run), "--data", no_future, "--output", str(tmp_path / "f.csv")],
          "has future covariate values for 0 of the 4 horizon steps", tmp_path, capsys)
    missing = write(frame().drop(columns=["region"]), tmp_path / "no_region.csv")
    fails(["forecast", str(run), "--data", missing, "--output", str(tmp_path / "f.csv")],
          "no static covariate column 'region'", tmp_path, capsys)
    fails(["forecast", str(run), "--future-covariates", "load", "--output",
           str(tmp_path / "f.csv")], "reads future covariates ['temp']; got ['load']",
          tmp_path, capsys)
    fails(["forecast", str(run), "--calendar", "none", "--output", str(tmp_path / "f.csv")],
          "reads calendar features ['hour_of_day', 'day_of_week']", tmp_path, capsys)


def test_future_data_file_supplies_the_horizon_and_is_checked(run, tmp_path, capsys):
    full = frame()
    past = write(full.iloc[:N], tmp_path / "past.csv")
    ahead = full.iloc[N:][["ds", "temp"]]
    good = write(ahead, tmp_path / "future.csv")
    out = tmp_path / "f.csv"
    assert main(["forecast", str(run), "--data", past, "--future-data", good, "--output",
                 str(out)]) == 0
    via_file = pd.read_csv(out)["forecast"].to_numpy()
    out.unlink()
    assert main(["forecast", str(run), "--output", str(out)]) == 0  # future rows in the file
    np.testing.assert_allclose(via_file, pd.read_csv(out)["forecast"].to_numpy())
    out.unlink()
    newest_first = write(ahead.iloc[::-1], tmp_path / "newest_first.csv")  # rows in any order
    assert main(["forecast", str(run), "--data", past, "--future-data", newest_first,
                 "--output", str(out)]) == 0
    np.testing.assert_allclose(via_file, pd.read_csv(out)["forecast"].to_numpy())
    out.unlink()
    gap = write(ahead.drop(index=N + 1), tmp_path / "gap.csv")
    fails(["forecast", str(run), "--data", past, "--future-data", gap, "--output", str(out)],
          "gap.csv: column 'ds', row 2: time", tmp_path, capsys)
    blank = ahead.copy()
    blank.loc[N + 2, "temp"] = np.nan
    blank = write(blank, tmp_path / "blank.csv")
    fails(["forecast", str(run), "--data", past, "--future-data", blank, "--output", str(out)],
          "blank.csv: column 'temp', row 3: missing future value", tmp_path, capsys)
    # times written unlike the data's (here with UTC offsets, or as step numbers): named
    zoned = ahead.assign(ds=pd.to_datetime(ahead["ds"]).dt.tz_localize("UTC").dt.strftime(
        "%Y-%m-%dT%H:%M:%S+00:00"))
    fails(["forecast", str(run), "--data", past, "--future-data",
           write(zoned, tmp_path / "zoned.csv"), "--output", str(out)],
          "zoned.csv: column 'ds' holds times with UTC offsets, but the data's times are times"
          " without UTC offsets (its last: ", tmp_path, capsys)
    fails(["forecast", str(run), "--data", past, "--future-data",
           write(ahead.assign(ds=range(N, N + len(ahead))), tmp_path / "steps.csv"),
           "--output", str(out)], "steps.csv: column 'ds' holds step numbers", tmp_path, capsys)


def test_run_without_its_covariate_file_is_refused(run, tmp_path, capsys):
    broken = tmp_path / "broken"
    broken.mkdir()
    for f in run.iterdir():
        if f.name != "covariates.json":
            (broken / f.name).write_bytes(f.read_bytes())
    fails(["forecast", str(broken), "--output", str(tmp_path / "f.csv")],
          "covariates.json is missing", tmp_path, capsys)


def test_non_finite_numbers_in_a_parquet_file_are_errors(tmp_path):
    from seqcast.data.io import read_series

    f = frame(future=0)
    f.loc[7, "temp"] = -np.inf
    path = tmp_path / "d.parquet"
    f.to_parquet(path)
    with pytest.raises(ValueError, match=r"d.parquet: column 'temp', row 8: non-finite value"):
        read_series(path, targets=["y"], covariates=(("temp",), (), ()), fill="zero")


def test_future_data_of_many_series_finds_the_id_column_by_its_name(tmp_path):
    """Neither file names its id column with --id-col: both are found by the usual name, and
    each series reads its own future rows."""
    a, b = frame(seed=0), frame(seed=1)
    a["id"], b["id"] = "a", "b"
    past = write(pd.concat([a.iloc[:N], b.iloc[:N]]), tmp_path / "past.csv")
    ahead = pd.concat([a.iloc[N:], b.iloc[N:]])[["id", "ds", "temp"]]
    run, out = tmp_path / "run", tmp_path / "f.csv"
    assert main([*TRAIN, "--data", past, "--future-covariates", "temp", "--calendar", "none",
                 "--out", str(run)]) == 0
    assert json.loads((run / "config.json").read_text())["data"]["id_col"] == "id"
    assert main(["forecast", str(run), "--data", past, "--future-data",
                 write(ahead, tmp_path / "future.csv"), "--output", str(out)]) == 0
    via_file = pd.read_csv(out)
    inline = tmp_path / "inline.csv"
    assert main(["forecast", str(run), "--data", write(pd.concat([a, b]), tmp_path / "all.csv"),
                 "--output", str(inline)]) == 0
    assert list(via_file["id"]) == ["a"] * H + ["b"] * H
    np.testing.assert_allclose(via_file["forecast"], pd.read_csv(inline)["forecast"])


def test_run_trained_with_a_future_data_file_forecasts_from_its_own_config(tmp_path):
    """Trained on a file with --target and --future-data, the run keeps its target and time
    columns, so `forecast RUN` alone reads the same files as training did."""
    full = frame()
    past = write(full.iloc[:N].drop(columns=["load", "region"]), tmp_path / "past.csv")
    ahead = write(full.iloc[N:][["ds", "temp"]], tmp_path / "future.csv")
    run, out = tmp_path / "run", tmp_path / "f.csv"
    assert main([*TRAIN, "--data", past, "--future-covariates", "temp", "--future-data", ahead,
                 "--calendar", "none", "--out", str(run)]) == 0
    data = json.loads((run / "config.json").read_text())["data"]
    assert (data["targets"], data["time_col"]) == (["y"], "ds")
    assert main(["forecast", str(run), "--output", str(out)]) == 0
    assert len(pd.read_csv(out)) == H
