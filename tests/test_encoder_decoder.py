"""The encoder-decoder forecaster and the chapter's batch-normalized seq2seq model."""

import dataclasses

import pytest
import torch

from seqcast.config import ModelConfig, TrainConfig
from seqcast.data.datasets import chapter15
from seqcast.models import EncoderDecoder, build_model
from seqcast.seeding import seeded
from seqcast.train import evaluate, fit

RECURRENT = ["rnn", "lstm", "gru", "ln_rnn", "peephole_lstm"]


@pytest.mark.parametrize("name", RECURRENT)
def test_every_recurrent_model_has_an_encoder_decoder(name):
    cfg = ModelConfig(name=name, hidden_size=4, horizon=3, head="decoder")
    with seeded(0):
        last = build_model(cfg)
    with seeded(0):
        seq = build_model(dataclasses.replace(cfg, output="sequence"))
    assert isinstance(last, EncoderDecoder)
    x = torch.randn(2, 9, 1)
    y_seq = seq(x)
    assert last(x).shape == (2, 3) and y_seq.shape == (2, 9, 3)
    # forecasts made at step t see only x[:, :t+1], exactly as the seq2vec model would
    for t in (0, 4, 8):
        assert torch.allclose(y_seq[:, t], last(x[:, : t + 1]), atol=1e-6)


def test_encoder_decoder_learns_the_ten_step_task():
    task = chapter15("ten_step")
    with seeded(0):
        model = build_model(ModelConfig(name="lstm", hidden_size=8, horizon=10, head="decoder"))
    train = (task.train.x[:384], task.train.y[:384])
    valid = (task.valid.x[:128], task.valid.y[:128])
    before = evaluate(model, *valid)["loss"]
    fit(model, train, None, TrainConfig(epochs=3, lr=0.02), progress=False)
    assert evaluate(model, *valid)["loss"] < 0.5 * before


def test_decoder_choices_are_checked():
    with pytest.raises(ValueError, match="valid: dense, recurrent, decoder"):
        build_model(ModelConfig(head="attention"))
    with pytest.raises(ValueError, match="not available with head 'decoder'"):
        build_model(ModelConfig(head="decoder", norm="batch"))
    with pytest.raises(ValueError, match="valid cells"):
        EncoderDecoder("transformer")


def test_batchnorm_seq2seq_is_the_chapters_model():
    """SimpleRNN(20) + BN, x2, + TimeDistributed(Dense(10)): Keras counts 1550 trainable
    weights (440 + 40 + 820 + 40 + 210) and BN uses momentum 0.99, epsilon 1e-3."""
    model = build_model(ModelConfig(name="rnn", horizon=10, output="sequence", norm="batch"))
    assert sum(p.numel() for p in model.parameters()) == 1550
    norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm1d)]
    assert len(norms) == 2 and all(n.eps == 1e-3 and n.momentum == 0.01 for n in norms)
    # statistics over batch and time: a constant per-feature shift is removed entirely
    x = torch.randn(8, 30, 1)
    model.train()
    out = model.norms[0](model.layers[0](x)[0])
    assert out.mean(dim=(0, 1)).abs().max() < 1e-5


def test_sequence_batchnorm_same_in_either_memory_layout():
    from seqcast.models.rnn import SequenceBatchNorm

    norm = SequenceBatchNorm(3)
    x = torch.randn(4, 6, 3, requires_grad=True)
    time_major = x.detach().transpose(0, 1).contiguous().transpose(0, 1).requires_grad_()
    assert not time_major.is_contiguous()
    a, b = norm(x), norm(time_major)
    torch.testing.assert_close(a, b)
    (a * a.detach()).sum().backward()
    (b * a.detach()).sum().backward()
    torch.testing.assert_close(x.grad, time_major.grad)
