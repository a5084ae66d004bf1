"""The long-memory tasks of Bai et al. 2018 and the ``--suite long`` runner."""

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from seqcast.data.long_tasks import adding_problem, copy_memory
from seqcast.experiments.long import LongSizes, run_long, run_long_suite, write_long


def test_adding_problem_marks_two_steps_and_sums_them():
    x, y = adding_problem(64, 30, np.random.default_rng(0))
    assert x.shape == (64, 30, 2) and y.shape == (64, 1) and x.dtype == np.float32
    assert np.array_equal(x[..., 1].sum(1), np.full(64, 2.0))
    assert set(np.unique(x[..., 1])) == {0.0, 1.0}
    np.testing.assert_allclose(y[:, 0], (x[..., 0] * x[..., 1]).sum(1), rtol=1e-6)
    again, _ = adding_problem(64, 30, np.random.default_rng(0))
    assert np.array_equal(x, again)
    big = adding_problem(20000, 5, np.random.default_rng(1))[1]
    assert abs(big.var() - 1 / 6) < 0.01  # the memoryless MSE the paper's LSTM stalls at


def test_copy_memory_layout():
    x, y = copy_memory(8, 25, np.random.default_rng(0))
    assert x.shape == (8, 45, 1) and y.shape == (8, 45) and y.dtype == np.int64
    digits = x[:, :10, 0]
    assert ((digits >= 1) & (digits <= 8)).all()
    assert (x[:, 10:34, 0] == 0).all() and (x[:, 34:, 0] == 9).all()  # T-1 blanks, 11 markers
    assert (y[:, :35] == 0).all() and np.array_equal(y[:, 35:], digits.astype(np.int64))


@pytest.mark.parametrize("bad", [lambda: adding_problem(0, 5, np.random.default_rng()),
                                 lambda: copy_memory(2, 0, np.random.default_rng())])
def test_bad_sizes(bad):
    with pytest.raises(ValueError, match=">= 1"):
        bad()


@pytest.mark.slow
def test_wavenet_learns_the_adding_problem_quickly():
    sizes = LongSizes(length=16, n_train=2000, n_valid=500, steps=1000, channels=16)
    result = run_long("adding", "wavenet", sizes)
    assert result.value < 0.1 * result.baseline
    assert result.paper == 5.8e-5 and result.parameters > 0


def test_suite_runs_every_task_and_model_and_writes_json(tmp_path):
    sizes = LongSizes(length=8, n_train=64, n_valid=32, steps=2, hidden_size=4, channels=4)
    results = run_long_suite(sizes)
    assert [(r.task, r.model) for r in results] == [
        (t, m) for t in ("adding", "copy_memory") for m in ("lstm", "gru", "wavenet")]
    assert all(math.isfinite(r.value) for r in results)
    assert results[3].baseline == pytest.approx(10 * math.log(8) / 28)
    write_long(results, sizes, tmp_path)
    payload = json.loads((tmp_path / "long.json").read_text())
    assert payload["sizes"]["length"] == 8 and len(payload["rows"]) == 6
    assert payload["rows"][5]["paper"] == 3.5e-5 and payload["rows"][5]["paper_length"] == 1000
    with pytest.raises(ValueError, match="valid: lstm, gru, wavenet"):
        run_long("adding", "transformer", sizes)


def test_cli_rejects_bad_suite_and_length():
    for argv, needle in [(["--suite", "short"], "invalid choice"), (["--length", "0"], "positive"),
                         (["--length", "50"], "--suite long only"),
                         (["--suite", "long", "--only", "gru"], "chapter suite")]:
        proc = subprocess.run([sys.executable, "-m", "seqcast", "reproduce", *argv],
                              capture_output=True, text=True)
        assert proc.returncode == 2 and needle in proc.stderr
