"""Files the CLI writes: checked before any work, in the format their name says, atomically."""

import json

import pandas as pd
import pytest
from forecast_helpers import two_series_frame

from seqcast.cli import main


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    d = tmp_path_factory.mktemp("outputs")
    two_series_frame().to_csv(d / "s.csv", index=False)
    assert main(["train", "--data", str(d / "s.csv"), "--model", "linear", "--horizon", "4",
                 "--epochs", "1", "--out", str(d / "run")]) == 0
    return d


def test_tables_are_written_as_their_suffix_says(run, tmp_path):
    for name in ("f.csv", "f.parquet", "f.csv.gz", "sub/dir/f.csv"):
        assert main(["forecast", str(run / "run"), "--output", str(tmp_path / name)]) == 0
    csv = pd.read_csv(tmp_path / "f.csv")
    assert list(csv.columns) == ["id", "time", "forecast"] and len(csv) == 8
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "f.parquet").astype({"time": str}),
                                  csv.astype({"time": str}), check_dtype=False)
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "f.csv.gz"), csv)
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "sub" / "dir" / "f.csv"), csv)
    assert not [p for p in tmp_path.rglob("*") if p.name.startswith(".tmp.")]


@pytest.mark.parametrize("argv,needle", [
    (["--output", "{tmp}"], "is a folder; give a file name"),
    (["--output", "{tmp}/afile/f.csv"], "a file stands where its folder would be"),
    (["--plot", "{tmp}/p.txt"], "unknown image format 'txt'"),
])
def test_a_file_that_cannot_be_written_is_refused_before_any_work(run, tmp_path, capsys,
                                                                   argv, needle):
    (tmp_path / "afile").write_text("x")
    (tmp_path / "f.csv").write_text("earlier\n")
    argv = [a.format(tmp=tmp_path) for a in argv]
    capsys.readouterr()
    assert main(["forecast", str(run / "run"), "--output", str(tmp_path / "f.csv"), *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("seqcast: error: --") and needle in err and err.count("\n") == 1
    assert (tmp_path / "f.csv").read_text() == "earlier\n"  # nothing written


def test_a_backtest_json_into_a_bad_place_fails_before_training(run, tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    assert main(["backtest", "--data", str(run / "s.csv"), "--model", "linear", "--horizon",
                 "4", "--folds", "2", "--json", str(tmp_path / "afile" / "b.json")]) == 2
    captured = capsys.readouterr()
    assert "--json" in captured.err and "model" not in captured.out  # no table: no backtest
    assert main(["backtest", "--data", str(run / "s.csv"), "--model", "linear", "--horizon",
                 "4", "--folds", "2", "--epochs", "1", "--baselines", "naive", "--json",
                 str(tmp_path / "new" / "b.json")]) == 0
    assert "linear" in json.loads((tmp_path / "new" / "b.json").read_text())["models"]


def test_a_failing_forecast_leaves_an_earlier_output_intact(run, tmp_path):
    (tmp_path / "f.csv").write_text("earlier\n")
    assert main(["forecast", str(run / "run"), "--data", str(tmp_path / "missing.csv"),
                 "--output", str(tmp_path / "f.csv")]) == 2
    assert (tmp_path / "f.csv").read_text() == "earlier\n"


def test_a_pipe_is_written_in_place_and_a_link_keeps_pointing_at_its_file(run, tmp_path):
    import os
    import stat
    import threading

    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    got = []
    reader = threading.Thread(target=lambda: got.append(pipe.read_text()))
    reader.start()
    assert main(["forecast", str(run / "run"), "--output", str(pipe)]) == 0
    reader.join(timeout=30)
    assert got and got[0].startswith("id,time,forecast") and len(got[0].splitlines()) == 9
    assert stat.S_ISFIFO(os.stat(pipe).st_mode)  # still a pipe, not replaced by a file
    (tmp_path / "target.csv").write_text("earlier\n")
    (tmp_path / "link.csv").symlink_to("target.csv")
    assert main(["forecast", str(run / "run"), "--output", str(tmp_path / "link.csv")]) == 0
    assert (tmp_path / "link.csv").is_symlink()
    assert (tmp_path / "target.csv").read_text().startswith("id,time,forecast")
