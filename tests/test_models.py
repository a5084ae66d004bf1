"""One contract over every registered model: shapes for each arrangement, gradients, errors."""

import dataclasses

import pytest
import torch

from seqcast.config import ModelConfig
from seqcast.models import MODELS, RNNForecaster, build_model
from seqcast.seeding import seeded


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("output", ["last", "sequence"])
def test_model_contract(name, output):
    cfg = ModelConfig(name=name, input_len=12, horizon=3, hidden_size=6, output=output)
    with seeded(0):
        model = build_model(cfg)
    x = torch.randn(5, 12, 1)
    y = model(x)
    steps = model.alignment(12).length if hasattr(model, "alignment") else 12  # conv front ends
    assert y.shape == ((5, 3) if output == "last" else (5, steps, 3))
    assert y.dtype == torch.float32 and torch.isfinite(y).all()
    params = list(model.parameters())
    if params:
        y.square().mean().backward()
        assert all(p.grad is not None for p in params)
    # building with the same seed gives the same model
    with seeded(0):
        again = build_model(cfg)
    for a, b in zip(model.state_dict().values(), again.state_dict().values()):
        assert torch.equal(a, b)


@pytest.mark.parametrize("name", [n for n in MODELS if n not in ("naive", "linear")])
def test_recurrent_models_take_any_length_and_batchnorm(name):
    model = build_model(ModelConfig(name=name, horizon=2, output="sequence", norm="batch"))
    assert model(torch.randn(4, 9, 1)).shape == (4, 9, 2)
    assert model(torch.randn(4, 31, 1)).shape == (4, 31, 2)


def test_recurrent_head_is_the_chapters_simple_rnn_1():
    model = RNNForecaster("simple", num_layers=0, head="recurrent")
    assert sum(p.numel() for p in model.parameters()) == 3  # w_x, w_h and one bias (two zeros)
    assert model(torch.randn(2, 50, 1)).abs().max() <= 1  # output is a tanh state


def test_naive_is_the_last_value():
    x = torch.randn(3, 8, 1)
    y = build_model(ModelConfig(name="naive", horizon=4))(x)
    assert torch.equal(y, x[:, -1].expand(-1, 4))


def test_linear_sequence_output_is_causal():
    model = build_model(ModelConfig(name="linear", input_len=4, horizon=2, output="sequence"))
    x = torch.randn(1, 10, 1)
    y = model(x)
    x2 = x.clone()
    x2[:, 6] += 1.0
    y2 = model(x2)
    assert torch.equal(y[:, :6], y2[:, :6]) and not torch.equal(y[:, 6], y2[:, 6])
    # the last step's window is exactly the seq2vec input
    last = build_model(dataclasses.replace(ModelConfig(name="linear", input_len=4, horizon=2)))
    last.load_state_dict(model.state_dict())
    assert torch.allclose(last(x[:, -4:]), y[:, -1])


@pytest.mark.parametrize(
    "field,value,match",
    [("name", "transformer", "valid models"), ("output", "middle", "valid: last, sequence"),
     ("head", "mlp", "valid: dense, recurrent"), ("norm", "group", "valid: none, batch")],
)
def test_bad_choices_list_the_valid_ones(field, value, match):
    with pytest.raises(ValueError, match=match):
        build_model(dataclasses.replace(ModelConfig(), **{field: value}))
