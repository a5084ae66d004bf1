"""CSV files as people write them: separators, decimal commas, ragged rows, summer time."""

import numpy as np
import pandas as pd
import pytest

from seqcast.cli import main
from seqcast.data.io import read_series


def _monthly(n=30):
    return pd.DataFrame({"date": pd.date_range("2000-01-01", periods=n, freq="MS"),
                         "sales": np.arange(n) + 0.25})


@pytest.mark.parametrize("sep,decimal", [(";", ","), (";", "."), ("\t", ","), (",", ".")])
def test_separator_and_decimal_commas_are_read_off_the_file(sep, decimal, tmp_path):
    path = tmp_path / "s.csv"
    _monthly().to_csv(path, sep=sep, decimal=decimal, index=False)
    (s,) = read_series(path).series
    assert s.id == "sales" and len(s) == 30
    np.testing.assert_array_equal(s.values, np.arange(30) + 0.25)


def test_a_text_column_with_commas_stays_text(tmp_path):
    f = _monthly()
    f["store"] = ["a,1"] * 15 + ["b,2"] * 15
    f["date"] = list(f["date"][:15]) * 2
    path = tmp_path / "s.csv"
    f.to_csv(path, sep=";", index=False)
    assert [s.id for s in read_series(path, id_col="store")] == ["a,1", "b,2"]


def test_rows_with_more_fields_than_the_header_are_refused_by_line(tmp_path, capsys):
    path = tmp_path / "s.csv"
    path.write_text("date,sales\n2000-01-01,1\n2000-02-01,2,5\n2000-03-01,3\n")
    out = tmp_path / "run"
    assert main(["train", "--data", str(path), "--model", "linear", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "s.csv: line 3 has more fields than the header's 2 columns" in err
    assert "decimal commas" in err and not out.exists()


@pytest.mark.parametrize("freq,n,first", [("D", 200, "2020-03-01"),  # local dates
                                          ("h", 24 * 60, "2020-02-29 23:00")])  # UTC hours
def test_summer_time_offsets_daily_keep_local_dates_hourly_go_to_utc(freq, n, first, tmp_path):
    t = pd.date_range("2020-03-01", periods=n, freq=freq, tz="Europe/Berlin")
    path = tmp_path / "s.csv"
    pd.DataFrame({"time": t.astype(str), "y": np.arange(n, dtype=float)}).to_csv(path,
                                                                                index=False)
    (s,) = read_series(path).series
    assert len(s) == n and s.index[0] == pd.Timestamp(first, tz="UTC" if freq == "h" else None)
    assert (np.diff(s.index.asi8) == np.diff(s.index.asi8)[0]).all()  # an even grid


@pytest.mark.parametrize("suffix", [".csv.gz", ".csv.bz2", ".csv.xz", ".csv.zip"])
def test_compressed_csv_reads_as_the_plain_file(suffix, tmp_path):
    plain, packed = tmp_path / "s.csv", tmp_path / f"s{suffix}"
    _monthly().to_csv(plain, sep=";", decimal=",", index=False)
    _monthly().to_csv(packed, sep=";", decimal=",", index=False)  # pandas compresses by suffix
    np.testing.assert_array_equal(read_series(packed).series[0].values,
                                  read_series(plain).series[0].values)


def test_a_damaged_archive_is_one_line(tmp_path, capsys):
    bad = tmp_path / "s.csv.gz"
    bad.write_text("not gzip")
    assert main(["train", "--data", str(bad), "--model", "linear", "--out",
                 str(tmp_path / "run")]) == 2
    assert "s.csv.gz: cannot read" in capsys.readouterr().err


def test_a_row_number_written_as_an_unnamed_first_column_is_dropped(tmp_path):
    path = tmp_path / "s.csv"
    _monthly().to_csv(path)  # pandas' default: the row numbers first, under an empty name
    assert [s.id for s in read_series(path)] == ["sales"]
    _monthly().sample(frac=1.0, random_state=0).to_csv(path)  # rows in any order
    assert [s.id for s in read_series(path)] == ["sales"]
    counted = _monthly()
    counted.index += 1  # 1..n: numbers that may be data, kept
    counted.to_csv(path)
    assert [s.id for s in read_series(path)] == ["Unnamed: 0", "sales"]


def test_a_file_without_a_header_keeps_its_first_row(tmp_path):
    path = tmp_path / "values.csv"  # a plain list of numbers
    path.write_text("".join(f"{v}\n" for v in np.arange(40) + 0.5))
    (s,) = read_series(path).series
    assert s.id == "value" and len(s) == 40 and s.values[0] == 0.5
    path = tmp_path / "dated.csv"  # dates beside numbers: a header holds no date
    path.write_text("".join(f"2000-{m:02d}-01;{m},5\n" for m in range(1, 13)))
    (s,) = read_series(path).series
    assert len(s) == 12 and s.values[0] == 1.5 and s.index[0] == pd.Timestamp("2000-01-01")
    path = tmp_path / "wide.csv"  # numbers alone naming the series stay a header
    path.write_text("1001,1002\n" + "".join(f"{v},{v + 1}\n" for v in range(30)))
    assert [(s.id, s.values[0]) for s in read_series(path)] == [("1001", 0.0), ("1002", 1.0)]


def test_trailing_dates_without_values_are_not_history(tmp_path, capsys):
    f = _monthly(36)
    f.loc[30:, "sales"] = np.nan  # a sheet with the months ahead listed, not yet observed
    path = tmp_path / "s.csv"
    f.to_csv(path, index=False)
    for fill in (None, "ffill"):  # filling them would invent six months of history
        (s,) = read_series(path, fill=fill).series
        assert len(s) == 30 and s.index[-1] == pd.Timestamp("2002-06-01")
    f.loc[10, "sales"] = np.nan  # a missing value inside the history stays an error
    f.to_csv(path, index=False)
    with pytest.raises(ValueError, match="row 11: missing value"):
        read_series(path)


def test_an_hour_repeated_by_the_end_of_summer_time_is_named_as_such(tmp_path):
    t = pd.date_range("2021-10-20", periods=24 * 30, freq="h", tz="Europe/Berlin")
    path = tmp_path / "local.csv"  # wall-clock times without their offsets
    pd.DataFrame({"time": t.strftime("%Y-%m-%d %H:%M"), "load": np.arange(len(t)) % 24.0}
                 ).to_csv(path, index=False)
    with pytest.raises(ValueError, match="local clock time repeats an hour when summer time"
                       " ends: write the times with their UTC offset") as err:
        read_series(path)
    assert "--id-col" not in str(err.value)
    path = tmp_path / "offsets.csv"  # the same times with their offsets read as one clock
    pd.DataFrame({"time": t.strftime("%Y-%m-%dT%H:%M%z"), "load": np.arange(len(t)) % 24.0}
                 ).to_csv(path, index=False)
    assert len(read_series(path).series[0]) == len(t)


@pytest.mark.parametrize("fmt,freq,n", [
    ("%d/%m/%Y", "MS", 30),  # every day <= 12: the even spacing decides (not 1st-12th Jan)
    ("%d.%m.%Y", "MS", 30), ("%m/%d/%Y", "MS", 30),
    ("%d/%m/%Y", "D", 100), ("%m/%d/%Y", "D", 100),  # a day over 12 decides
    ("%d/%m/%Y %H:%M", "h", 300), ("%d.%m.%y %H:%M:%S", "h", 300), ("%m-%d-%Y", "W-SUN", 40),
])
def test_numeric_dates_are_read_day_or_month_first_as_the_column_says(tmp_path, fmt, freq, n):
    t = pd.date_range("2020-01-05" if freq == "W-SUN" else "2020-01-01", periods=n, freq=freq)
    path = tmp_path / "s.csv"
    pd.DataFrame({"Datum": t.strftime(fmt), "y": np.arange(n, dtype=float)}).to_csv(
        path, index=False)
    panel = read_series(path)  # the time column found by its text, too
    (s,) = panel.series
    assert panel.time_col == "Datum" and len(s) == n
    assert (s.index == t.tz_localize(None)).all()


@pytest.mark.parametrize("sep,text,want", [
    (",", ['"1,000.0"', '"13,345.5"', '"1,234,567"', "12"], [1000, 13345.5, 1234567, 12]),
    (";", ["1.000,0", "13.345,5", "1.234.567", "12"], [1000, 13345.5, 1234567, 12]),
    (";", ["0.125", "1.125", "2.250", "3.500"], [0.125, 1.125, 2.25, 3.5]),  # decimals
])
def test_thousands_separators_are_dropped_only_where_no_cell_doubts_them(tmp_path, sep,
                                                                         text, want):
    path = tmp_path / "s.csv"
    days = pd.date_range("2020-01-01", periods=len(text), freq="D").strftime("%Y-%m-%d")
    path.write_text(f"date{sep}sales\n" + "".join(f"{d}{sep}{v}\n" for d, v in zip(days, text)))
    np.testing.assert_allclose(read_series(path).series[0].values, want)


def test_spreadsheet_habits_a_trailing_separator_and_padded_names(tmp_path):
    days = pd.date_range("2020-01-01", periods=20, freq="D").strftime("%Y-%m-%d")
    path = tmp_path / "sheet.csv"
    path.write_text(" date , units ,\n" + "".join(f" {d} , {k} ,\n" for k, d in enumerate(days)))
    (s,) = read_series(path, targets=["units"]).series
    assert s.id == "units" and len(s) == 20 and s.values[-1] == 19


@pytest.mark.parametrize("name,encoding,sep", [
    ("w.csv", "cp1252", ";"),        # a Western European spreadsheet's CSV
    ("w.csv.gz", "cp1252", ";"),
    ("u.txt", "utf-16", "\t"),       # a spreadsheet's "Unicode text"
    ("b.csv", "utf-8-sig", ","),     # UTF-8 with a byte order mark
    ("t.tsv", "utf-8", "\t"),
])
def test_encodings_and_text_suffixes_spreadsheets_write(tmp_path, name, encoding, sep):
    frame = pd.DataFrame({"Datum": list(pd.date_range("2020-01-01", periods=24, freq="MS")
                                        .strftime("%Y-%m-%d")) * 2,
                          "Stadt": ["München"] * 24 + ["Köln"] * 24,
                          "Umsatz €": np.arange(48.0)})
    path = tmp_path / name
    frame.to_csv(path, sep=sep, encoding=encoding, index=False)
    panel = read_series(path, time_col="Datum")
    assert [s.id for s in panel] == ["München", "Köln"] and panel.targets == ("Umsatz €",)
    assert panel.series[1].values[0] == 24.0 and panel.freq == "MS"


def test_an_unknown_suffix_names_the_ones_read(tmp_path):
    path = tmp_path / "s.xls"  # the binary format before 2007
    path.write_bytes(b"\xd0\xcf")
    with pytest.raises(ValueError, match=r"unknown file type '.xls'; valid: .csv, .tsv or .txt"):
        read_series(path)


def test_an_excel_workbook_is_read_from_its_first_sheet(tmp_path, capsys):
    months = pd.date_range("2020-01-01", periods=30, freq="MS")
    table = pd.concat([pd.DataFrame({"Monat": months, "Filiale": k, "Umsatz": np.arange(30.0) * i})
                       for i, k in enumerate(("Nord", "Süd"), start=1)])
    blank = pd.DataFrame({"Monat": [pd.NaT] * 3, "Filiale": [None] * 3, "Umsatz": [np.nan] * 3})
    path = tmp_path / "sales.xlsx"
    with pd.ExcelWriter(path) as book:
        pd.concat([table, blank]).to_excel(book, index=False, sheet_name="Daten")  # blank rows
        pd.DataFrame({"note": ["not data"]}).to_excel(book, index=False, sheet_name="Notes")
    panel = read_series(path)
    assert (panel.time_col, panel.id_col, panel.freq) == ("Monat", "Filiale", "MS")
    assert [s.id for s in panel] == ["Nord", "Süd"] and panel.series[1].values[2] == 4.0
    table = table.astype({"Umsatz": object})
    table.iloc[4, 2] = "n/a"  # a text cell among the numbers: named, as in a CSV file
    table.to_excel(tmp_path / "bad.xlsx", index=False)
    with pytest.raises(ValueError, match="column 'Umsatz', row 5: non-numeric value 'n/a'"):
        read_series(tmp_path / "bad.xlsx")
    (tmp_path / "junk.xlsx").write_text("not a workbook")
    assert main(["train", "--data", str(tmp_path / "junk.xlsx"), "--model", "naive"]) == 2
    assert "junk.xlsx: cannot read" in capsys.readouterr().err


def test_a_report_sheet_with_title_rows_above_its_table_is_read_from_its_header(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["Monthly sales report"])
    sheet.append([])
    sheet.append(["Month", "Units"])
    for i, t in enumerate(pd.date_range("2020-01-01", periods=24, freq="MS")):
        sheet.append([t.to_pydatetime(), 100 + i])
    book.save(tmp_path / "report.xlsx")
    panel = read_series(tmp_path / "report.xlsx")
    assert (panel.time_col, panel.targets, panel.freq) == ("Month", ("Units",), "MS")
    assert panel.series[0].values[0] == 100 and len(panel.series[0]) == 24


def test_another_sheet_of_a_workbook_is_read_and_kept_by_the_run(tmp_path, capsys):
    months = pd.date_range("2020-01-01", periods=36, freq="MS")
    book = tmp_path / "book.xlsx"
    with pd.ExcelWriter(book) as writer:
        pd.DataFrame({"Read me": ["notes"]}).to_excel(writer, index=False, sheet_name="Info")
        pd.DataFrame({"month": months, "units": np.arange(36.0)}).to_excel(
            writer, index=False, sheet_name="Sales")
    assert read_series(book, sheet="Sales").series[0].values[-1] == 35.0
    # the first sheet is not the data: the error says which sheet it read, and the others
    with pytest.raises(ValueError, match=r"non-numeric value 'notes' \(in the first sheet,"
                       r" 'Info'; sheets: Info, Sales; --sheet NAME reads another\)"):
        read_series(book)
    assert main(["inspect", "--data", str(book)]) == 2
    assert "--sheet NAME reads another" in capsys.readouterr().err
    with pytest.raises(ValueError, match="book.xlsx: no sheet 'Salez'; sheets: Info, Sales"):
        read_series(book, sheet="Salez")
    plain = tmp_path / "units.csv"
    pd.DataFrame({"month": months.strftime("%Y-%m"), "units": np.arange(36.0)}).to_csv(
        plain, index=False)
    with pytest.raises(ValueError, match="--sheet 'Sales' applies to Excel workbooks"):
        read_series(plain, sheet="Sales")
    run = tmp_path / "run"
    assert main(["train", "--data", str(book), "--sheet", "Sales", "--model", "naive",
                 "--horizon", "3", "--out", str(run)]) == 0
    assert main(["forecast", str(run), "--output", str(tmp_path / "a.csv")]) == 0  # its sheet
    assert main(["forecast", str(run), "--data", str(plain), "--output",
                 str(tmp_path / "b.csv")]) == 0  # other data: no sheet of its own
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "a.csv"), pd.read_csv(tmp_path / "b.csv"))


def test_amounts_in_a_currency_format_are_read_as_numbers(tmp_path):
    """A spreadsheet's currency cells ($1,234.50; 1.234,50 €; -$12) read as the amounts; a
    column that mixes currencies stays an error naming the cell."""
    months = pd.date_range("2020-01-01", periods=24, freq="MS").strftime("%Y-%m")
    amounts = [1234.5 + 37.25 * i for i in range(24)]
    dollars = tmp_path / "usd.csv"
    dollars.write_text("month,revenue\n" + "\n".join(
        f'{m},"{"-" if i % 5 == 0 else ""}${x:,.2f}"'
        for i, (m, x) in enumerate(zip(months, amounts, strict=True))) + "\n")
    euros = tmp_path / "eur.csv"
    euros.write_text("Monat;Umsatz\n" + "\n".join(
        f"{m};{x:,.2f} €".replace(",", "_").replace(".", ",").replace("_", ".")
        for m, x in zip(months, amounts, strict=True)) + "\n", encoding="utf-8")
    signs = np.where(np.arange(24) % 5 == 0, -1.0, 1.0)
    np.testing.assert_allclose(read_series(dollars).series[0].values, signs * amounts)
    np.testing.assert_allclose(read_series(euros).series[0].values, amounts)
    mixed = tmp_path / "mixed.csv"
    mixed.write_text("month,amount\n" + "\n".join(
        f"{m},{'$' if i % 2 else '£'}{x:.2f}" for i, (m, x) in enumerate(zip(
            months, amounts, strict=True))) + "\n")
    with pytest.raises(ValueError, match="column 'amount', row 1: non-numeric value '£1234.50'"):
        read_series(mixed)
