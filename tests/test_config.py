import dataclasses

import pytest

from seqcast.config import ModelConfig, RunConfig, TrainConfig


def test_json_round_trip(tmp_path):
    cfg = RunConfig(model=ModelConfig(name="gru", horizon=10, output="sequence"),
                    train=TrainConfig(epochs=3, clip_norm=1.0))
    cfg.save(tmp_path / "config.json")
    assert RunConfig.load(tmp_path / "config.json") == cfg


def test_frozen_and_replace():
    cfg = TrainConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.epochs = 3
    assert dataclasses.replace(cfg, epochs=3).epochs == 3


def test_unknown_keys_are_errors():
    with pytest.raises(ValueError, match="hiden_size"):
        RunConfig.from_dict({"model": {"hiden_size": 3}})
    with pytest.raises(ValueError, match="optimiser"):
        RunConfig.from_dict({"optimiser": {}})
