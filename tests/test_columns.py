"""Time and id columns found without flags, and never a time column read as values."""

import numpy as np
import pandas as pd
import pytest

from seqcast.cli import main
from seqcast.data.io import from_frame, read_series


def weekly_panel():
    rows = []
    for k, store in enumerate(("north", "south")):
        weeks = pd.date_range("2021-01-04", periods=40, freq="W-MON")
        rows.append(pd.DataFrame({"store": store, "week": weeks,
                                  "units": np.arange(40.0) + 10 * k}))
    return pd.concat(rows)


def test_a_parquet_timestamp_column_and_a_text_id_are_found(tmp_path):
    path = tmp_path / "p.parquet"
    weekly_panel().to_parquet(path)
    panel = read_series(path)
    assert [s.id for s in panel] == ["north", "south"] and panel.id_col == "store"
    assert panel.freq.startswith("W") and panel.series[0].values[-1] == 39.0


def test_a_month_column_as_written_by_hand_is_the_time(tmp_path):
    path = tmp_path / "air.csv"
    months = pd.date_range("1949-01-01", periods=30, freq="MS").strftime("%Y-%m")
    pd.DataFrame({"Month": months, "#Passengers": np.arange(30) + 112}).to_csv(path, index=False)
    (s,) = read_series(path)
    assert s.id == "#Passengers" and s.index[0] == pd.Timestamp("1949-01-01")


def test_years_as_numbers_and_a_first_column_of_text_dates(tmp_path):
    path = tmp_path / "annual.parquet"
    pd.DataFrame({"year": np.arange(1900, 1950), "v": np.arange(50.0)}).to_parquet(path)
    (s,) = read_series(path)  # stored as integers: years, not nanoseconds since 1970
    assert s.id == "v" and s.index[0] == pd.Timestamp("1900-01-01") and s.index[-1].year == 1949
    path = tmp_path / "text.csv"
    stamps = pd.date_range("2020-01-01", periods=20, freq="D").strftime("%d %b %Y")
    pd.DataFrame({"Periodo": stamps, "y": np.arange(20.0)}).to_csv(path, index=False)
    (s,) = read_series(path)
    assert s.id == "y" and s.index[1] == pd.Timestamp("2020-01-02")


def test_numbers_are_never_guessed_as_times(tmp_path):
    path = tmp_path / "n.csv"  # a day-of-month column beside the values: a value column
    pd.DataFrame({"day": np.arange(1, 21), "y": np.arange(20.0)}).to_csv(path, index=False)
    assert [s.id for s in read_series(path)] == ["day", "y"]


def test_timestamps_as_values_are_refused(tmp_path, capsys):
    frame = weekly_panel().query("store == 'north'").drop(columns="store")
    frame["shipped"] = frame["week"] + pd.Timedelta(days=2)
    path = tmp_path / "t.parquet"
    frame.to_parquet(path)
    assert main(["train", "--data", str(path), "--model", "linear",
                 "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "'week', 'shipped' all hold timestamps" in err and "--time-col" in err
    assert "Traceback" not in err and not (tmp_path / "run").exists()
    with pytest.raises(ValueError, match="column 'shipped' holds times, not numbers"):
        read_series(path, time_col="week", targets=["units", "shipped"])


def test_a_run_keeps_the_columns_and_steps_it_was_trained_on(tmp_path, capsys):
    import json

    months = pd.date_range("2000-01-01", periods=60, freq="MS")
    values = 100 + np.arange(60.0) + 5 * np.sin(np.arange(60) * np.pi / 6)
    pd.DataFrame({"Month": months.strftime("%Y-%m"), "sales": values}).iloc[:48].to_csv(
        tmp_path / "old.csv", index=False)
    run = str(tmp_path / "run")
    assert main(["train", "--data", str(tmp_path / "old.csv"), "--model", "linear",
                 "--epochs", "2", "--out", run]) == 0
    data = json.loads((tmp_path / "run" / "config.json").read_text())["data"]
    assert (data["time_col"], data["targets"], data["freq"]) == ("Month", ["sales"], "MS")
    # a newer file: another time column name, an extra text column: the run's series only
    pd.DataFrame({"note": "ok", "date": months, "sales": values}).to_csv(
        tmp_path / "new.csv", index=False)
    out = tmp_path / "f.csv"
    assert main(["forecast", run, "--data", str(tmp_path / "new.csv"),
                 "--output", str(out)]) == 0
    f = pd.read_csv(out)
    assert set(f["id"]) == {"sales"} and f["time"].iloc[0] == "2005-01-01"
    weeks = pd.date_range("2020-01-05", periods=60, freq="W-SUN")  # other steps: refused
    pd.DataFrame({"date": weeks, "sales": values}).to_csv(tmp_path / "weekly.csv", index=False)
    capsys.readouterr()
    for cmd in (["forecast", run], ["backtest", run]):
        assert main([*cmd, "--data", str(tmp_path / "weekly.csv")]) == 2
        assert "timestamps are W-SUN apart" in capsys.readouterr().err


@pytest.mark.parametrize("labels,freq,first", [
    (["2020M11", "2020M12", "2021M01", "2021M02"], "MS", "2020-11-01"),
    (["202011", "202012", "202101", "202102"], "MS", "2020-11-01"),
    ([202011, 202012, 202101, 202102], "MS", "2020-11-01"),
    (["2020-W52", "2020-W53", "2021-W01", "2021-W02"], "W-MON", "2020-12-21"),
    (["2020W52", "2020W53", "2021W01", "2021W02"], "W-MON", "2020-12-21"),
    (["Nov-20", "Dec-20", "Jan-21", "Feb-21"], "MS", "2020-11-01"),
])
def test_period_labels_pandas_does_not_read_are_read_whole(tmp_path, labels, freq, first):
    for col in ("date", "period"):
        path = tmp_path / f"{col}.csv"
        pd.DataFrame({col: labels, "sales": [1.0, 2.0, 3.0, 4.0]}).to_csv(path, index=False)
        panel = read_series(path)
        assert panel.time_col == col and panel.freq == freq
        assert str(panel.series[0].index[0].date()) == first and len(panel.series[0]) == 4


def test_labels_of_the_shape_but_not_valid_and_numbers_elsewhere_stay_as_they_were(tmp_path):
    path = tmp_path / "bad.csv"  # month 13: not a YYYYMM column but step numbers, with a gap
    pd.DataFrame({"date": ["202011", "202013"], "y": [1.0, 2.0]}).to_csv(path, index=False)
    with pytest.raises(ValueError, match="gap of 1 step"):
        read_series(path)
    path = tmp_path / "values.csv"  # six-digit values in an unnamed role are values
    pd.DataFrame({"sales": [202011, 202012, 202101, 202102]}).to_csv(path, index=False)
    panel = read_series(path)
    assert panel.time_col is None and panel.series[0].values[0] == 202011


def test_step_numbers_are_the_time_of_series_without_a_calendar(tmp_path):
    n = 30
    frame = pd.concat([pd.DataFrame({"time_idx": np.arange(n) + 5, "series": k,
                                     "value": np.arange(n, dtype=float) * (i + 1)})
                       for i, k in enumerate("ab")]).sample(frac=1.0, random_state=0)
    path = tmp_path / "steps.csv"
    frame.to_csv(path, index=False)
    panel = read_series(path)
    assert (panel.time_col, panel.id_col, panel.freq) == ("time_idx", "series", None)
    assert [s.id for s in panel] == ["a", "b"] or [s.id for s in panel] == ["b", "a"]
    a = panel.by_id()["a"]
    assert list(a.index[:3]) == [5, 6, 7] and a.values[-1] == n - 1  # put in step order
    gap = frame[frame["time_idx"] != 9]
    gap.to_csv(tmp_path / "gap.csv", index=False)
    with pytest.raises(ValueError, match="gap of 1 step\\(s\\) before 10"):
        read_series(tmp_path / "gap.csv")
    filled = read_series(tmp_path / "gap.csv", fill="interpolate").by_id()["a"]
    assert len(filled) == n and filled.values[4] == 4.0
    out = tmp_path / "f.csv"
    assert main(["train", "--data", str(path), "--model", "linear", "--horizon", "3",
                 "--epochs", "1", "--out", str(tmp_path / "run")]) == 0
    assert main(["forecast", str(tmp_path / "run"), "--output", str(out)]) == 0
    assert pd.read_csv(out)["time"].tolist() == [35, 36, 37] * 2


def test_whole_numbers_in_a_time_column_are_steps_or_dates_never_nanoseconds(tmp_path):
    path = tmp_path / "p.parquet"
    pd.DataFrame({"time": np.arange(1, 41), "y": np.arange(40.0)}).to_parquet(path)
    panel = read_series(path)
    assert panel.freq is None and list(panel.series[0].index[:2]) == [1, 2]
    days = pd.date_range("2020-01-30", periods=40, freq="D")
    pd.DataFrame({"date": days.strftime("%Y%m%d").astype(int), "y": np.arange(40.0)}
                 ).to_parquet(path)
    panel = read_series(path)
    assert panel.freq == "D" and panel.series[0].index[0] == pd.Timestamp("2020-01-30")


def test_numbers_that_are_not_whole_steps_are_refused_in_a_time_column():
    from seqcast.data.io import from_frame

    with pytest.raises(ValueError, match="column 'time', row 2: 1.5 is neither a time nor"):
        from_frame(pd.DataFrame({"time": [1.0, 1.5, 2.0], "y": [1.0, 2.0, 3.0]}))


def test_a_text_column_in_a_wide_file_says_to_name_the_value_columns(tmp_path, capsys):
    weeks = pd.date_range("2021-01-03", periods=40, freq="W-SUN")
    wide = pd.DataFrame({"week": weeks, "north": np.arange(40.0), "south": np.arange(40.0) * 2,
                         "west": np.arange(40.0) + 7, "comment": "ok"})
    path = tmp_path / "wide.csv"
    wide.to_csv(path, index=False)
    with pytest.raises(ValueError, match=r"column 'comment', row 1: non-numeric value 'ok' \(every"
                       r" column but the time and id columns is read as a series: name the value"
                       r" columns with --target"):
        read_series(path)
    with pytest.raises(ValueError, match=r"non-numeric value 'ok'$"):  # named: no hint
        read_series(path, targets=["north", "comment"])
    # one value column per word or per comma, as the covariate flags take them
    assert read_series(path, targets=["north,south"]).targets == ("north", "south")
    assert main(["inspect", "--data", str(path), "--target", "north,west"]) == 0
    assert "value columns: north, west" in capsys.readouterr().out
    assert main(["inspect", "--data", str(path), "--target", "north", "south"]) == 0
    assert "value columns: north, south" in capsys.readouterr().out


def test_a_repeated_column_name_and_a_missing_series_id_are_named(tmp_path):
    days = pd.date_range("2020-01-01", periods=30, freq="D").strftime("%Y-%m-%d")
    (tmp_path / "dup.csv").write_text("date,v,v\n" + "\n".join(
        f"{d},{i},{2 * i}" for i, d in enumerate(days)) + "\n")
    with pytest.raises(ValueError, match="dup.csv: columns 2 and 3 are both named 'v'"):
        read_series(tmp_path / "dup.csv")
    long = pd.concat([pd.DataFrame({"date": days, "store": k, "units": np.arange(30.0)})
                      for k in ("a", "b")], ignore_index=True)
    long.loc[33, "store"] = None  # one row of store b without its id
    long.to_csv(tmp_path / "long.csv", index=False)
    with pytest.raises(ValueError, match="long.csv: column 'store', row 34: no series id"):
        read_series(tmp_path / "long.csv", id_col="store")
    with pytest.raises(ValueError, match="<frame>: column 'store', row 34: no series id"):
        from_frame(long, id_col="store")
