"""A damaged or hand-edited run directory is one line naming it, never a traceback or an
allocation the config asks for."""

import json
import shutil

import pytest

from seqcast.cli import main


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    d = tmp_path_factory.mktemp("runs")
    assert main(["train", "--dataset", "nile", "--model", "gru", "--epochs", "1",
                 "--out", str(d / "run")]) == 0
    return d / "run"


@pytest.mark.parametrize("section,key,value,needle", [
    ("model", "hidden_size", "abc", "model hidden_size must be a whole number"),
    ("model", "input_len", 10 ** 12, "model input_len must be a whole number in [1, 1000000]"),
    ("model", "num_layers", 100_000, "model num_layers must be a whole number in [0, 100]"),
    ("model", "horizon", 0, "model horizon must be a whole number"),
    ("model", "quantiles", "x", "model quantiles must be a list of numbers"),
    ("model", "hidden_size", 64, "config.json and model.safetensors do not fit together"),
    ("model", "num_layers", 3, "config.json and model.safetensors do not fit together"),
    ("data", "horizon", "x", "data horizon must be a whole number"),
    ("data", "diff", [-1], "data diff lag must be a whole number"),
])
def test_an_edited_config_is_one_line(run, tmp_path, capsys, section, key, value, needle):
    edited = tmp_path / "edited"
    shutil.copytree(run, edited)
    config = json.loads((edited / "config.json").read_text())
    config[section][key] = value
    (edited / "config.json").write_text(json.dumps(config))
    capsys.readouterr()
    assert main(["forecast", str(edited)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("seqcast: error: ") and needle in err and str(edited) in err
    assert err.count("\n") == 1 and len(err) < 600


@pytest.mark.parametrize("damage", ["truncated weights", "config not an object", "config cut"])
def test_damaged_files_are_one_line(run, tmp_path, capsys, damage):
    damaged = tmp_path / "damaged"
    shutil.copytree(run, damaged)
    if damage == "truncated weights":
        weights = damaged / "model.safetensors"
        weights.write_bytes(weights.read_bytes()[:300])
    else:
        (damaged / "config.json").write_text("[1, 2]" if damage == "config not an object" else "{")
    capsys.readouterr()
    assert main(["forecast", str(damaged)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("seqcast: error: ") and str(damaged) in err and err.count("\n") == 1
