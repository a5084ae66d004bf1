"""Property tests: malformed files and arguments give clean errors, never crashes.

Readers: any CSV or Parquet built from the strategies below either reads into a panel or
raises ``ValueError`` naming the file. CLI: the same files and random argument lists end
with status 0 or 2 and at most one error line, never a traceback.
"""

import contextlib
import io
import string
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seqcast.cli import main
from seqcast.data.io import read_series

SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
CLI_SETTINGS = settings(max_examples=40, deadline=None,
                        suppress_health_check=[HealthCheck.function_scoped_fixture])

cells = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.integers(-10**6, 10**6).map(str),
    st.text(string.printable, max_size=6),
    st.just(""),
)
times = st.one_of(
    st.dates(min_value=pd.Timestamp("1990-01-01").date(),
             max_value=pd.Timestamp("2030-01-01").date()).map(str),
    st.text(string.ascii_letters + string.digits + "-:/ ", max_size=12),
)


@st.composite
def frames(draw):
    n = draw(st.integers(0, 30))
    regular = draw(st.booleans())
    if regular:  # mostly-valid series with a few injected problems
        t = pd.date_range("2000-01-01", periods=n, freq=draw(st.sampled_from(["D", "MS", "h"])))
        time = [str(x) for x in t]
        values = [str(v) for v in np.round(np.sin(np.arange(n)), 3)]
        for _ in range(draw(st.integers(0, 3))):
            if n:
                i = draw(st.integers(0, n - 1))
                kind = draw(st.sampled_from(["value", "time", "drop", "dup"]))
                if kind == "value":
                    values[i] = draw(cells)
                elif kind == "time":
                    time[i] = draw(times)
                elif kind == "dup" and i:
                    time[i] = time[i - 1]
                elif kind == "drop":
                    time.pop(i), values.pop(i)
                    n -= 1
    else:
        time = draw(st.lists(times, min_size=n, max_size=n))
        values = draw(st.lists(cells, min_size=n, max_size=n))
    frame = pd.DataFrame({draw(st.sampled_from(["time", "date", "t"])): time, "value": values})
    if draw(st.booleans()):
        frame["id"] = draw(st.lists(st.sampled_from(["a", "b"]), min_size=len(time), max_size=len(time)))
    return frame


def _write(frame: pd.DataFrame, path, kind: str) -> None:
    if kind == "csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)


@SETTINGS
@given(frame=frames(), kind=st.sampled_from(["csv", "parquet"]), fill=st.sampled_from([None, "ffill"]),
       id_col=st.sampled_from([None, "id"]))
def test_readers_give_clean_errors(tmp_path, frame, kind, fill, id_col):
    path = tmp_path / f"data.{kind}"
    _write(frame, path, kind)
    if id_col and id_col not in frame:
        id_col = None
    try:
        panel = read_series(path, id_col=id_col, fill=fill)
    except ValueError as exc:
        message = str(exc)
        assert message.startswith(str(path)) and "\n" not in message
        return
    for series in panel:
        assert np.isfinite(series.values).all()


def _run_cli(argv) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse exits
            code = exc.code
    return code, err.getvalue()


@CLI_SETTINGS
@given(frame=frames(), kind=st.sampled_from(["csv", "parquet"]))
def test_cli_train_on_malformed_files(tmp_path, frame, kind):
    where = Path(tempfile.mkdtemp(dir=tmp_path))  # one folder per example
    path = where / f"data.{kind}"
    _write(frame, path, kind)
    out = where / "run"
    code, err = _run_cli(["train", "--data", str(path), "--model", "linear", "--epochs", "1",
                          "--input-len", "3", "--horizon", "1", "--out", str(out)])
    assert code in (0, 2), err
    if code == 2:
        assert err.count("\n") == 1 and err.startswith("seqcast: error:") and "Traceback" not in err
        assert not out.exists()


words = st.sampled_from(["--epochs", "--horizon", "--input-len", "--model", "--dataset", "--only",
                         "--seeds", "--device", "--folds", "--strategy", "--target", "-1", "0",
                         "x", "nile", "gru", "2", "--lr", "nan", "1e9", "cuda", "--resume"])


@CLI_SETTINGS
@given(verb=st.sampled_from(["train", "backtest", "forecast", "reproduce", "info", "bench"]),
       args=st.lists(words, max_size=6))
def test_cli_arguments_give_clean_errors(tmp_path, verb, args):
    if verb in ("reproduce", "bench") and "--only" not in args:
        args = [*args, "--only", "nope"]  # never start real training runs here
    if verb == "train" and "--epochs" not in args:
        args = [*args, "--epochs", "0"]
    if verb == "backtest" and "--model" not in args:
        args = [*args, "--model", "x"]  # without one, a valid dataset would run auto's search
    argv = [verb, *args] + (["--out", str(tmp_path / "o")] if verb in ("train", "reproduce") else [])
    code, err = _run_cli(argv)
    assert code in (0, 2), err
    if code == 2:
        assert err.count("\n") == 1 and err.startswith("seqcast: error:"), err
