import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from seqcast.cli import main
from seqcast.data.io import read_series
from seqcast.runs import load_run


def monthly(n=60, start="2000-01-01"):
    t = pd.date_range(start, periods=n, freq="MS")
    return pd.DataFrame({"date": t.strftime("%Y-%m-%d"), "sales": np.arange(n, dtype=float) + 100})


def write(frame, path):
    frame.to_csv(path, index=False)
    return path


def test_reads_series_with_inferred_frequency(tmp_path):
    panel = read_series(write(monthly(), tmp_path / "s.csv"))
    assert panel.freq == "MS" and len(panel) == 1
    (s,) = panel.series
    assert s.id == "sales" and len(s) == 60 and s.values[0] == 100.0
    assert s.index[0] == pd.Timestamp("2000-01-01")


def test_weekdays_only_are_business_days_and_a_holiday_is_a_gap(tmp_path):
    days = pd.bdate_range("2023-01-02", periods=40)
    frame = pd.DataFrame({"date": days.strftime("%Y-%m-%d"), "close": np.arange(40.0)})
    panel = read_series(write(frame, tmp_path / "b.csv"))
    assert panel.freq == "B" and len(panel.series[0]) == 40
    with pytest.raises(ValueError, match="row 11: gap of 1 step"):
        read_series(write(frame.drop(index=10), tmp_path / "h.csv"))
    assert len(read_series(tmp_path / "h.csv", fill="ffill").series[0]) == 40
    every_day = pd.DataFrame({"date": pd.date_range("2023-01-02", periods=40).strftime(
        "%Y-%m-%d"), "close": np.arange(40.0)})
    assert read_series(write(every_day, tmp_path / "d.csv")).freq == "D"
    short = frame.head(4)  # Monday to Thursday: nothing says weekends are missing
    assert read_series(write(short, tmp_path / "s.csv")).freq == "D"


def test_long_format_and_parquet(tmp_path):
    a, b = monthly(24), monthly(30, "2001-01-01")
    a["store"], b["store"] = "a", "b"
    frame = pd.concat([a, b])
    frame["date"] = pd.to_datetime(frame["date"])
    path = tmp_path / "s.parquet"
    frame.to_parquet(path)
    panel = read_series(path, time_col="date", targets=["sales"], id_col="store")
    assert [s.id for s in panel] == ["a", "b"] and [len(s) for s in panel] == [24, 30]


def test_repeated_timestamps_beside_an_id_column_read_as_many_series(tmp_path, capsys):
    a, b = monthly(24), monthly(30, "2001-01-01")
    a["id"], b["id"] = 7, 8  # numeric ids, the usual name, no --id-col
    panel = read_series(write(pd.concat([a, b]), tmp_path / "s.csv"))
    assert [s.id for s in panel] == ["7", "8"] and [len(s) for s in panel] == [24, 30]
    assert panel.id_col == "id"  # the run keeps it (an exported model names it)
    one = monthly(24)
    one["id"] = np.arange(24)  # a row number in one series: timestamps do not repeat
    assert [s.id for s in read_series(write(one, tmp_path / "one.csv"))] == ["sales", "id"]
    a["shop"], b["shop"] = "a", "b"  # the one text column names the series
    panel = read_series(write(pd.concat([a, b]).drop(columns="id"), tmp_path / "text.csv"))
    assert [s.id for s in panel] == ["a", "b"] and panel.id_col == "shop"
    a["shop"], b["shop"] = 1, 2  # a number column named otherwise: the error says what to do
    path = write(pd.concat([a, b]).drop(columns="id"), tmp_path / "shop.csv")
    assert main(["train", "--data", str(path), "--model", "linear", "--out",
                 str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "name their id column (--id-col" in err and "perhaps 'shop'" in err
    assert not (tmp_path / "run").exists()


def corrupt(kind):
    f = monthly(20)
    if kind == "duplicate":
        f.loc[7, "date"] = f.loc[6, "date"]
    elif kind == "unsorted":  # rows 8 and 9 swapped, and row 8 a duplicate of row 11
        f.loc[[7, 8], "date"] = f.loc[[8, 7], "date"].to_numpy()
        f.loc[7, "date"] = f.loc[10, "date"]
    elif kind == "gap":
        f = f.drop(index=7)
    elif kind == "missing":
        f["sales"] = f["sales"].astype(object)
        f.loc[7, "sales"] = ""
    elif kind == "non_numeric":
        f["sales"] = f["sales"].astype(object)
        f.loc[7, "sales"] = "12,5x"
    elif kind == "bad_time":
        f.loc[7, "date"] = "yesterday"
    return f


PROBLEMS = [  # (kind, column named, row named, words)
    ("duplicate", "date", 8, "duplicate timestamp"),
    ("unsorted", "date", 11, "duplicate timestamp"),  # in time order, 11 comes second
    ("gap", "date", 8, "gap of 1 step"),
    ("missing", "sales", 8, "missing value"),
    ("non_numeric", "sales", 8, "non-numeric value '12,5x'"),
    ("bad_time", "date", 8, "cannot parse time"),
]


@pytest.mark.parametrize("kind,column,row,words", PROBLEMS)
def test_each_problem_is_one_line_naming_file_column_row(
    kind, column, row, words, tmp_path, capsys
):
    path = write(corrupt(kind), tmp_path / f"{kind}.csv")
    out = tmp_path / "run"
    rc = main(["train", "--data", str(path), "--model", "linear", "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1
    line = err[0]
    assert line.startswith("seqcast: error:") and str(path) in line
    assert f"column {column!r}" in line and f"row {row}:" in line and words in line
    assert not out.exists()


def test_too_short_for_any_window_falls_back_to_a_baseline_with_one_warning(tmp_path, capsys):
    path = write(monthly(20), tmp_path / "short.csv")
    out = tmp_path / "run"
    rc = main(["train", "--data", str(path), "--model", "linear", "--input-len", "15",
               "--horizon", "6", "--diff", "none", "--out", str(out)])
    warnings = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("warning:")]
    assert rc == 0 and len(warnings) == 1
    assert str(path) in warnings[0] and "falling back to seasonal_naive" in warnings[0]
    assert json.loads((out / "config.json").read_text())["model"]["name"] == "seasonal_naive"


def test_backtest_too_short_for_even_a_baseline_is_refused(tmp_path, capsys):
    path = write(monthly(20), tmp_path / "short.csv")
    rc = main(["backtest", "--data", str(path), "--model", "linear", "--horizon", "6",
               "--folds", "2", "--baselines", "naive"])
    line = capsys.readouterr().err.strip()
    assert rc == 2 and str(path) in line and "'sales'" in line and "too short" in line
    assert "row 20" in line


@pytest.mark.parametrize("fill,expected", [("interpolate", 107.0), ("ffill", 106.0), ("zero", 0.0)])
def test_fill_fills_gaps_and_missing_values(fill, expected, tmp_path):
    for kind in ("gap", "missing"):
        panel = read_series(write(corrupt(kind), tmp_path / f"{kind}.csv"), fill=fill)
        (s,) = panel.series
        assert len(s) == 20 and s.values[7] == pytest.approx(expected) and panel.freq == "MS"


@pytest.mark.parametrize("fill", ["ffill", "interpolate", "zero"])
def test_a_column_with_no_values_is_an_error_even_with_fill(fill, tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("step,value\n,0.0\n,1.0\n")  # "step" holds no values at all
    with pytest.raises(ValueError, match=r"empty\.csv: column 'step': no values, every row"):
        read_series(path, fill=fill)


def test_unknown_columns_list_valid_options(tmp_path):
    path = write(monthly(), tmp_path / "s.csv")
    with pytest.raises(ValueError, match="no value column 'units'; valid: sales"):
        read_series(path, targets=["units"])
    with pytest.raises(ValueError, match="valid: ffill, interpolate, zero"):
        read_series(path, fill="mean")


def test_problem_file_via_subprocess_has_no_traceback_and_damages_nothing(tmp_path):
    good = write(monthly(80), tmp_path / "good.csv")
    bad = write(corrupt("gap"), tmp_path / "bad.csv")
    run = tmp_path / "run"
    cmd = [
        sys.executable,
        "-m",
        "seqcast",
        "train",
        "--model",
        "naive",
        "--diff",
        "none",
        "--input-len",
        "12",
        "--horizon",
        "3",
        "--out",
        str(run),
    ]
    assert main([*cmd[3:], "--data", str(good)]) == 0
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    proc = subprocess.run([*cmd, "--data", str(bad)], capture_output=True, text=True)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv", "good.csv", "run"]


def test_rows_in_any_order_read_as_the_sorted_file(tmp_path):
    """Long-format rows newest first or shuffled (as databases export them) read as the same
    panel, future covariate rows included; errors still name the file's own row numbers."""
    rng = np.random.default_rng(0)
    frames = []
    for store in ("a", "b"):
        f = monthly(30)
        f["store"], f["promo"] = store, rng.random(30).round(2)
        frames.append(pd.concat([f, pd.DataFrame({
            "date": pd.date_range("2002-07-01", periods=3, freq="MS").strftime("%Y-%m-%d"),
            "sales": np.nan, "store": store, "promo": [1.0, 0.0, 1.0]})]))
    tidy = pd.concat(frames, ignore_index=True)
    kw = dict(id_col="store", targets=["sales"], covariates=((), ("promo",), ()))
    want = read_series(write(tidy, tmp_path / "tidy.csv"), **kw)
    for name, frame in (("newest_first", tidy.iloc[::-1]), ("shuffled", tidy.sample(frac=1, random_state=1))):
        got = read_series(write(frame, tmp_path / f"{name}.csv"), **kw)
        assert got.freq == want.freq and sorted(s.id for s in got) == [s.id for s in want]
        for s in got:
            w = next(x for x in want if x.id == s.id)
            assert (s.index == w.index).all() and np.array_equal(s.values, w.values)
            assert np.array_equal(s.covariates.future, w.covariates.future)
    bad = tidy.iloc[::-1].reset_index(drop=True).astype({"sales": object})
    bad.loc[5, "sales"] = "x"  # file row 6
    with pytest.raises(ValueError, match="column 'sales', row 6: non-numeric"):
        read_series(write(bad, tmp_path / "bad.csv"), **kw)


def test_one_short_series_keeps_the_usual_window_learns_from_the_others_and_is_named(
        tmp_path, capsys):
    frames = [monthly(120).assign(store=s) for s in "abc"] + [monthly(40).assign(store="new")]
    path = write(pd.concat(frames), tmp_path / "stores.csv")
    common = ["--data", str(path), "--id-col", "store", "--target", "sales", "--model", "linear",
              "--horizon", "6", "--epochs", "1", "--diff", "none"]
    assert main(["train", *common, "--out", str(tmp_path / "r")]) == 0
    err = [ln for ln in capsys.readouterr().err.splitlines() if "training windows" in ln]
    assert len(err) == 1 and "series 'new' (40 steps) holds fewer than 16" in err[0]
    run = load_run(tmp_path / "r")
    assert run.config.model.input_len == 24  # linear's window, max(2 * 12, 6, 8), for all
    assert main(["forecast", str(tmp_path / "r"), "--data", str(path), "--id-col", "store",
                 "--target", "sales", "--out", str(tmp_path / "f.csv")]) == 0
    capsys.readouterr()
    forecast = pd.read_csv(tmp_path / "f.csv")
    assert sorted(forecast["id"].unique()) == ["a", "b", "c", "new"]
    even = write(pd.concat([monthly(120).assign(store=s) for s in "ab"]), tmp_path / "even.csv")
    assert main(["train", *common[2:], "--data", str(even), "--out", str(tmp_path / "r3")]) == 0
    assert "training windows" not in capsys.readouterr().err
    # a series too short to be validated and forecast with the usual window still sets it
    frames[-1] = monthly(20).assign(store="new")
    tiny = write(pd.concat(frames), tmp_path / "tiny.csv")
    assert main(["train", *common[2:], "--data", str(tiny), "--out", str(tmp_path / "r4")]) == 0
    assert load_run(tmp_path / "r4").config.model.input_len == 20 - 6 - 1


def test_frequency_aliases_pandas_3_removed_are_taken(tmp_path):
    ends = pd.DataFrame({"date": pd.date_range("2020-01-31", periods=24, freq="ME"),
                         "y": np.arange(24.0)})
    assert read_series(write(ends, tmp_path / "m.csv"), freq="M").freq == "ME"
    quarter = pd.DataFrame({"date": pd.date_range("2020-01-01", periods=40, freq="15min"),
                            "y": np.arange(40.0)})
    assert read_series(write(quarter, tmp_path / "q.csv"), freq="15T").freq == "15min"
    with pytest.raises(ValueError, match="unknown frequency 'foo'"):
        read_series(tmp_path / "q.csv", freq="foo")


def test_row_numbers_left_by_reset_index_are_not_a_series(tmp_path):
    frame = monthly(24).reset_index()  # index, date, sales
    path = write(frame, tmp_path / "r.csv")
    assert [s.id for s in read_series(path)] == ["sales"]
    frame["index"] = frame["index"] + 1  # 1..n: a value column, as far as anyone can tell
    assert [s.id for s in read_series(write(frame, tmp_path / "v.csv"))] == ["index", "sales"]


def test_true_false_flags_are_read_as_one_and_zero(tmp_path):
    frame = monthly(24)
    frame["promo"] = pd.Series(np.arange(24) % 3 == 0, dtype=object)  # written True/False
    frame.loc[frame.index[-1], "promo"] = None
    panel = read_series(write(frame, tmp_path / "f.csv"), targets=["sales"],
                        covariates=(("promo",), (), ()), fill="ffill")
    np.testing.assert_array_equal(panel.series[0].covariates.past[:4, 0], [1, 0, 0, 1])
    with pytest.raises(ValueError, match="column 'promo', row 2: non-numeric value 'maybe'"):
        frame.loc[frame.index[1], "promo"] = "maybe"
        read_series(write(frame, tmp_path / "g.csv"), targets=["sales"],
                    covariates=(("promo",), (), ()))
