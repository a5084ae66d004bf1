import json

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


def test_cli_export_equals_cli_forecast_and_records_its_metadata(tmp_path, capsys):
    # iterative with differencing: the rollout and the inverse are inside the graph
    data = tmp_path / "sales.csv"
    two_series_frame().to_csv(data, index=False)
    run, out = tmp_path / "run", tmp_path / "model.onnx"
    assert main(["train", "--data", str(data), "--time-col", "date", "--id-col", "store",
                 "--model", "lstm", "--hidden-size", "8", "--input-len", "8", "--horizon", "3",
                 "--strategy", "iterative", "--diff", "1", "--epochs", "1",
                 "--out", str(run)]) == 0
    assert main(["export", str(run), "--format", "onnx", "--out", str(out)]) == 0
    assert main(["forecast", str(run)]) == 0
    frame = pd.read_csv(__import__("io").StringIO(capsys.readouterr().out))
    meta = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    n, ids = int(meta["history_len"]), json.loads(meta["series_ids"])
    assert (n, int(meta["horizon"]), meta["freq"]) == (9, 3, "MS")
    assert ids == ["s0", "s1"] and json.loads(meta["columns"]) == ["id", "time", "forecast"]
    assert json.loads(meta["levels"]) == [] and meta["strategy"] == "iterative"
    raw = two_series_frame()
    history = np.stack([raw.loc[raw.store == i, "y"].to_numpy()[-n:] for i in ids])
    got = _run_onnx(out, history, np.arange(2))
    want = frame["forecast"].to_numpy().reshape(2, 3)
    assert scale_error(got, want, history) <= 1e-4


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
