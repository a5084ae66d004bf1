"""The GPU paths: the captured-graph training step against the eager one, bf16 autocast.

Skipped without a CUDA device; the bf16 check also runs on the CPU.
"""

import copy
import warnings

import pytest
import torch

from seqcast.config import ModelConfig, TrainConfig
from seqcast.data.datasets import chapter15
from seqcast.experiments.runner import aligned_targets
from seqcast.experiments.table import EXPERIMENTS
from seqcast.models import build_model
from seqcast.seeding import seeded
from seqcast.train import fit

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

# 1,000 series: 31 full batches of 32 and a last batch of 8, which runs eagerly
ROWS = ["seq2seq_gru", "seq2seq_lstm", "seq2seq_batchnorm", "seq2seq_layernorm",
        "seq2seq_peephole", "conv_gru", "wavenet_full", "seq2vec_10"]


def _train(exp, cuda_graph: bool, clip_norm=None, epochs: int = 2, nudge: float = 0.0):
    task = chapter15(exp.task)
    with seeded(0):
        model = build_model(exp.model)
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(1 + nudge)
    x, y = task.train.x[:1000], aligned_targets(model, task.train)[:1000]
    config = TrainConfig(epochs=epochs, lr=exp.lr, seed=0, device="cuda", cuda_graph=cuda_graph,
                         clip_norm=clip_norm)
    with warnings.catch_warnings():
        # a failed capture warns and trains eagerly: make it fail the test
        warnings.filterwarnings("error", message="training step could not be captured")
        history = fit(model, (x, y), config=config, progress=False)
    return history["loss"], model


@cuda
@pytest.mark.parametrize("row", ROWS)
def test_graphed_training_step_gives_the_eager_losses(row):
    """Equal within float tolerance. Some models amplify float-level differences (the
    layer-norm RNN: a 1e-7 relative nudge of its initial weights moves its second-epoch loss
    by 0.3-0.5% on a CPU), so the tolerance is 1e-4 relative or 20 times what such a nudge does
    to the eager run, whichever is larger."""
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    exp = EXPERIMENTS[row]
    eager_loss, eager = _train(exp, cuda_graph=False)
    nudged_loss, _ = _train(exp, cuda_graph=False, nudge=1e-7)
    graph_loss, graphed = _train(exp, cuda_graph=True)
    for e, n, g in zip(eager_loss, nudged_loss, graph_loss, strict=True):
        assert abs(g - e) <= max(1e-4 * e, 20 * abs(n - e)), (eager_loss, nudged_loss, graph_loss)
    if nudged_loss == eager_loss:  # a stable model: the weights agree too
        for a, b in zip(eager.state_dict().values(), graphed.state_dict().values(), strict=True):
            torch.testing.assert_close(a.float(), b.float(), rtol=1e-3, atol=1e-4)


@cuda
def test_graphed_step_with_gradient_clipping():
    torch.backends.cudnn.allow_tf32 = False
    exp = EXPERIMENTS["seq2seq_rnn"]
    eager_loss, _ = _train(exp, cuda_graph=False, clip_norm=0.5)
    graph_loss, _ = _train(exp, cuda_graph=True, clip_norm=0.5)
    assert graph_loss == pytest.approx(eager_loss, rel=1e-4)


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=cuda)])
@pytest.mark.parametrize("name", ["gru", "lstm", "peephole_lstm", "wavenet", "wavenet_simple"])
def test_bf16_autocast_trains(device, name):
    task = chapter15("seq2seq")
    with seeded(0):
        model = build_model(ModelConfig(name=name, horizon=10, output="sequence"))
    reference = copy.deepcopy(model)
    config = TrainConfig(epochs=2, seed=0, device=device, precision="bf16", num_threads=1)
    history = fit(model, (task.train.x[:512], task.train.y[:512]), config=config, progress=False)
    assert history["loss"][1] < history["loss"][0]
    assert all(p.dtype == torch.float32 for p in model.parameters())  # master weights stay fp32
    changed = [not torch.equal(a.cpu(), b) for a, b in zip(model.parameters(), reference.parameters())]
    assert all(changed)


def test_unknown_precision_is_refused():
    with pytest.raises(ValueError, match="float32, bf16"):
        TrainConfig(precision="fp8")
