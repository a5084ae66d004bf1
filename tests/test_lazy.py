import numpy as np
import pytest

from seqcast.config import ModelConfig, TrainConfig
from seqcast.data.lazy import ArrayWindows, NpyFile
from seqcast.models import build_model
from seqcast.train import evaluate, fit


def test_windows_from_file_equal_windows_in_memory(tmp_path):
    values = np.random.default_rng(0).normal(size=(3, 40)).astype(np.float32)
    np.save(tmp_path / "s.npy", values)
    mem = ArrayWindows(values, input_len=5, horizon=2, stride=3, start=4, stop=37)
    disk = ArrayWindows(NpyFile(tmp_path / "s.npy"), input_len=5, horizon=2, stride=3, start=4, stop=37)
    assert len(mem) == len(disk) == 3 * ((37 - 4 - 7) // 3 + 1)
    idx = np.arange(len(mem))[::-1]
    for a, b in zip(mem.get(idx), disk.get(idx)):
        np.testing.assert_array_equal(a, b)
    x, y = mem.get(np.array([len(mem) // 3 + 1]))  # series 1, second window
    np.testing.assert_array_equal(x[0, :, 0], values[1, 7:12])
    np.testing.assert_array_equal(y[0], values[1, 12:14])


def test_fit_and_evaluate_on_a_lazy_source(tmp_path):
    t = np.linspace(0, 60, 2000, dtype=np.float32)
    np.save(tmp_path / "s.npy", np.stack([np.sin(t), np.cos(t)]))
    source = NpyFile(tmp_path / "s.npy")
    train = ArrayWindows(source, 20, 1, stride=5, stop=1600)
    valid = ArrayWindows(source, 20, 1, stride=5, start=1580)
    model = build_model(ModelConfig(name="linear", input_len=20))
    before = evaluate(model, valid)["loss"]
    history = fit(model, train, valid, TrainConfig(epochs=3, lr=0.01), progress=False)
    assert history.last("val_loss") < 0.2 * before


@pytest.mark.parametrize("content", [b"junk", b"\x93NUMPY\x01\x00"])
def test_bad_npy_file_is_a_clean_error(tmp_path, content):
    (tmp_path / "bad.npy").write_bytes(content)
    with pytest.raises(ValueError, match="bad.npy: not a readable .npy file"):
        NpyFile(tmp_path / "bad.npy")
    np.save(tmp_path / "one_d.npy", np.zeros(5))
    with pytest.raises(ValueError, match="2-D"):
        NpyFile(tmp_path / "one_d.npy")
