import json
import re
import runpy
import shlex
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pandas as pd
import pytest
import torch
from forecast_helpers import last_windows, scale_error, trained, two_series_frame

from seqcast.cli import main
from seqcast.forecasting.export import export_onnx
from seqcast.models import MODELS, RNNForecaster
from seqcast.pipeline import fit_forecaster, make_config
from seqcast.runs import save_run

README = Path(__file__).resolve().parents[1] / "README.md"


def _run_onnx(path, history, rows):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(["forecast"], {"history": history, "series": rows})[0]


def _parity(name, strategy, tmp_path):
    forecaster, panel = trained(name, strategy)
    path = export_onnx(forecaster, tmp_path / f"{name}-{strategy}.onnx")
    history, rows = last_windows(forecaster, panel)
    want = forecaster.forecast(panel)["forecast"].to_numpy().reshape(len(panel), -1)
    got = _run_onnx(path, history, rows)
    assert got.shape == want.shape and got.dtype == np.float64
    assert scale_error(got, want, history) <= 1e-4
    # any batch: one row, and the rows in another order and repeated
    np.testing.assert_allclose(_run_onnx(path, history[1:], rows[1:]), got[1:], rtol=1e-6)
    order = np.array([1, 0, 1])
    np.testing.assert_allclose(_run_onnx(path, history[order], rows[order]), got[order],
                               rtol=1e-6)


STRATEGIES = ("direct", "seq2seq", "iterative")


@pytest.mark.slow
@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("name", list(MODELS))
def test_onnx_equals_forecast_for_every_family_and_strategy(name, strategy, tmp_path):
    try:
        trained(name, strategy)
    except ValueError as exc:  # no forecast per input step: seq2seq does not apply
        assert strategy == "seq2seq" and "valid strategies for it" in str(exc)
        pytest.skip(f"{name} has no seq2seq form")
    _parity(name, strategy, tmp_path)


def _readme_block(lang, marker):
    blocks = re.findall(rf"```{lang}\n(.*?)```", README.read_text(), flags=re.S)
    return next(b for b in blocks if marker in b)


def test_readme_deploy_example_gives_the_numbers_of_seqcast_forecast(tmp_path, monkeypatch):
    # the README's commands as written (training shortened), then its onnxruntime code
    monkeypatch.chdir(tmp_path)
    frame = two_series_frame().rename(columns={"y": "units"})
    frame.to_csv("sales.csv", index=False)
    commands = _readme_block("bash", "seqcast export").replace("\\\n", " ").splitlines()
    for line in commands:
        argv = shlex.split(line)[1:]
        if argv[0] == "train":
            argv += ["--epochs", "1", "--hidden-size", "8", "--input-len", "8"]
        assert main(argv) == 0, line
    got = runpy.run_path(str(_write(tmp_path, _readme_block("python", "onnxruntime"))))
    want = pd.read_csv("sales-forecast.csv")
    meta = {p.key: p.value for p in onnx.load("sales.onnx").metadata_props}
    n, ids = int(meta["history_len"]), json.loads(meta["series_ids"])
    assert (n, int(meta["horizon"]), meta["freq"], meta["strategy"]) == (9, 8, "MS", "direct")
    assert ids == ["s0", "s1"] and json.loads(meta["columns"]) == ["id", "time", "forecast"]
    assert json.loads(meta["levels"]) == [] and json.loads(meta["diff"]) == [1]
    assert list(want["id"].unique()) == ids
    history = got["history"]
    assert history.shape == (2, n)
    assert scale_error(got["forecast"], want["forecast"].to_numpy().reshape(2, 8), history) <= 1e-4


def _write(folder, code):
    path = folder / "deploy.py"
    path.write_text(code)
    return path


class _Branchy(torch.nn.Module):
    """A cell with a Python branch on its input's values: runs, but cannot be traced."""

    def __init__(self, i, h):
        super().__init__()
        self.lin, self.hidden_size = torch.nn.Linear(i + h, h), h

    def initial_state(self, batch, like):
        return like.new_zeros(batch, self.hidden_size)

    def forward(self, x, h):
        if float(x.sum()) > 0:
            h = torch.tanh(self.lin(torch.cat([x, h], -1)))
        return h, h


def test_untraceable_cell_is_a_one_line_error_naming_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(MODELS, "branchy", lambda cfg: RNNForecaster(
        _Branchy, cfg.input_size, cfg.hidden_size, 1, cfg.horizon))
    forecaster, panel = trained("gru", "direct")
    config = make_config("branchy", forecaster.config.data, 8, {"hidden_size": 4}, {"epochs": 1})
    forecaster, history, metrics = fit_forecaster(panel, config, progress=False)
    run, out = save_run(tmp_path / "run", forecaster, history, metrics), tmp_path / "b.onnx"
    assert main(["export", str(run), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "layers.0" in err and "_Branchy" in err, err
    assert not out.exists() and not list(tmp_path.glob(".b.onnx*"))


def test_bad_export_arguments_exit_2(tmp_path, capsys):
    assert main(["export", str(tmp_path), "--out", str(tmp_path / "m.onnx")]) == 2
    assert "not a seqcast run directory" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main(["export", str(tmp_path), "--format", "tflite", "--out", "m"])
    assert exit_.value.code == 2 and "invalid choice" in capsys.readouterr().err


def test_bench_predict_rejects_unknown_models_before_importing_torch(capsys):
    assert main(["bench", "--predict", "--only", "wavenet"]) == 2
    assert "unknown model 'wavenet' for --predict; valid: gru, lstm, rnn" in capsys.readouterr().err


@pytest.mark.slow
def test_bench_predict_reports_every_path_against_eager():
    from seqcast.forecasting.bench_predict import bench_predict, table

    result = bench_predict(["gru"], calls=20, batch=300, block=5)
    row = result["rows"][0]
    for path in ("eager", "predict", "onnxruntime"):
        assert row[path]["p50_ms"] > 0 and row[path]["series_per_s"] > 0
    assert row["predict_over_eager_p50"] == row["predict"]["p50_ms"] / row["eager"]["p50_ms"]
    assert "onnxruntime" in table(result)


def test_export_without_the_export_extra_says_what_to_install(tmp_path, monkeypatch):
    forecaster, _ = trained("linear", "direct")
    monkeypatch.setitem(__import__("sys").modules, "onnxscript", None)  # as if not installed
    with pytest.raises(ValueError, match=r"needs onnxscript: pip install 'seqcast\[export\]'"):
        export_onnx(forecaster, tmp_path / "m.onnx")
    assert not list(tmp_path.iterdir())
