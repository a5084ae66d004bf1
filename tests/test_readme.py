"""The README's custom-cell example runs as written (on a slice of the data)."""

import re
import runpy
import warnings
from pathlib import Path

import seqcast
from seqcast.config import TrainConfig
from seqcast.data.datasets import Split, Task, chapter15
from seqcast.seeding import seeded
from seqcast.train import evaluate

README = Path(__file__).resolve().parents[1] / "README.md"


def _block(marker: str) -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    return next(b for b in blocks if marker in b)


def test_custom_cell_example_trains(monkeypatch, tmp_path):
    code = _block("class MinimalGRUCell")
    assert len(code.strip().splitlines()) < 20

    def small(name):
        t = chapter15(name)
        sizes = ((t.train, 256), (t.valid, 128), (t.test, 1))
        train, valid, test = (Split(s.x[:n], s.y[:n]) for s, n in sizes)
        return Task(t.name, train, valid, test, t.input_len, t.horizon)

    monkeypatch.setattr(seqcast, "chapter15", small, raising=False)
    quick = lambda: TrainConfig(epochs=4, lr=0.01)  # noqa: E731
    monkeypatch.setattr(seqcast, "TrainConfig", quick, raising=False)
    script = tmp_path / "custom_cell.py"  # a real file: TorchScript reads the class source
    script.write_text(code)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # the cell compiles with TorchScript
        namespace = runpy.run_path(str(script))
    history, valid = namespace["history"], small("seq2seq").valid
    with seeded(0):  # the example's model before training
        cell = namespace["MinimalGRUCell"]
        untrained = seqcast.RNNForecaster(cell, horizon=10, output="sequence")
    assert len(history["loss"]) == 4
    assert history["val_loss"][-1] < 0.5 * evaluate(untrained, valid.x, valid.y)["loss"]
