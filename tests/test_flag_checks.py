"""A flag that a model would silently ignore is one line naming it (exit 2, nothing
written); the baselines' comparison line names each model once."""

import numpy as np
import pandas as pd
import pytest

from seqcast.cli import main
from seqcast.forecasting.guard import comparison


@pytest.fixture
def csv(tmp_path):
    t = pd.date_range("2020-01-01", periods=90, freq="D")
    y = 10 + np.sin(2 * np.pi * np.arange(90) / 7) + np.random.default_rng(0).normal(0, 0.1, 90)
    path = tmp_path / "s.csv"
    pd.DataFrame({"date": t, "y": y}).to_csv(path, index=False)
    return str(path)


@pytest.mark.parametrize("model,flags,needle", [
    ("seasonal_naive", ["--hidden-size", "8"], "--hidden-size: model 'seasonal_naive' has no"
                                               " recurrent layers; leave it out"),
    ("linear", ["--hidden-size", "8", "--num-layers", "2"], "--hidden-size, --num-layers: model"
                                                           " 'linear' has no recurrent layers"),
    ("wavenet", ["--num-layers", "3"], "model 'wavenet' has no recurrent layers"),
    ("naive", ["--epochs", "3", "--lr", "0.1"], "--epochs, --lr: model 'naive' has nothing to"
                                                " train; leave them out"),
])
def test_a_flag_the_model_does_not_read_is_refused(csv, tmp_path, capsys, model, flags, needle):
    for verb, where in (("train", ["--out", str(tmp_path / "r")]), ("backtest", ["--folds", "2"])):
        assert main([verb, "--data", csv, "--model", model, *flags, *where]) == 2
        err = capsys.readouterr().err
        assert needle in err and err.count("\n") == 1, err
    assert not (tmp_path / "r").exists()


def test_flags_a_model_reads_are_taken(csv, tmp_path, capsys):
    assert main(["train", "--data", csv, "--model", "gru", "--hidden-size", "8", "--num-layers",
                 "2", "--epochs", "1", "--out", str(tmp_path / "r")]) == 0
    assert main(["train", "--data", csv, "--model", "linear", "--epochs", "1", "--lr", "0.01",
                 "--out", str(tmp_path / "l")]) == 0


def test_a_baseline_is_compared_with_the_others_once_and_not_with_itself():
    valid = {"mae_mean": 2.0, "baselines": {"naive": {"mae_mean": 3.0},
                                            "seasonal_naive": {"mae_mean": 2.0}}}
    line, warning = comparison(valid, "seasonal_naive")
    assert line == "validation MAE: seasonal_naive 2, naive 3" and warning is None
    line, warning = comparison({**valid, "mae_mean": 2.5}, "gru")
    assert line.count("seasonal_naive") == 1 and "gru is worse than seasonal naive" in warning
