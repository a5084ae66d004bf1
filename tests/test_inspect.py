"""`seqcast inspect`: how a data file is read, before any model."""

import json

import numpy as np
import pandas as pd

from seqcast.cli import main


def test_inspect_says_how_a_file_is_read(tmp_path, capsys):
    days = pd.bdate_range("2023-01-02", periods=30).strftime("%d.%m.%Y")
    frame = pd.concat([pd.DataFrame({"Datum": days, "Filiale": k, "Umsatz": np.arange(30.0)})
                       for k in ("Nord", "Süd")])
    path = tmp_path / "s.csv"
    frame.iloc[:-3].to_csv(path, sep=";", index=False, encoding="cp1252")  # Süd ends earlier
    assert main(["inspect", "--data", str(path), "--json", str(tmp_path / "i.json")]) == 0
    out, err = capsys.readouterr()
    for line in ("time column: Datum (timestamps)", "frequency: B", "season (default): 5",
                 "id column: Filiale", "value columns: Umsatz", "series: 2",
                 "length: 27 to 30 steps (median 28)", "span: 2023-01-02 to 2023-02-10"):
        assert line in out
    assert "end at 2 different times" in err
    report = json.loads((tmp_path / "i.json").read_text())
    assert [r["id"] for r in report["rows"]] == ["Nord", "Süd"]
    assert report["rows"][1] == {"id": "Süd", "length": 27, "start": "2023-01-02",
                                 "end": "2023-02-07", "future_rows": 0}


def test_inspect_of_bad_data_is_the_error_training_would_give(tmp_path, capsys):
    path = tmp_path / "g.csv"
    pd.DataFrame({"t": [1, 2, 4], "y": [1.0, 2.0, 3.0]}).to_csv(path, index=False)
    assert main(["inspect", "--data", str(path)]) == 2
    assert "gap of 1 step(s) before 4" in capsys.readouterr().err
    assert main(["inspect", "--data", str(path), "--fill", "interpolate"]) == 0
    assert "time column: t (step numbers)" in capsys.readouterr().out


def test_inspect_notes_numbers_that_look_like_spreadsheet_day_numbers(tmp_path, capsys):
    path = tmp_path / "x.csv"
    pd.DataFrame({"date": np.arange(43831, 43871), "y": np.arange(40.0)}).to_csv(path,
                                                                              index=False)
    assert main(["inspect", "--data", str(path)]) == 0
    assert "read as step numbers; if they are a spreadsheet's day numbers" in \
        capsys.readouterr().err


def test_inspect_takes_the_file_as_its_argument(tmp_path, capsys):
    path = tmp_path / "w.csv"
    pd.DataFrame({"date": pd.date_range("2024-01-01", periods=20, freq="D"),
                  "y": np.arange(20.0)}).to_csv(path, index=False)
    assert main(["inspect", str(path)]) == 0
    assert "frequency: D" in capsys.readouterr().out
    for argv, words in ((["inspect"], "which data?"),
                        (["inspect", str(path), "--data", str(path)], "give the file once")):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert words in err and "Traceback" not in err
