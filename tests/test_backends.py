"""The contract of every implementation: each one the selector offers for an input gives the
reference's values and gradients, and "auto" runs the first of them."""

import pytest
import torch

from seqcast.models import SimpleWaveNet, WaveNet
from seqcast.nn import Recurrent, make_cell
from seqcast.nn.dispatch import available, select


@pytest.mark.parametrize("dropout", [0.0, 0.3])
@pytest.mark.parametrize("name", ["simple", "lstm", "gru", "ln_simple", "peephole"])
def test_every_offered_recurrent_backend_equals_the_reference(name, dropout):
    torch.manual_seed(0)
    cell = make_cell(name, 3, 6)
    with torch.no_grad():
        for p in cell.parameters():
            p.add_(torch.empty_like(p).uniform_(-0.3, 0.3))
    x = torch.randn(5, 11, 3)
    names = Recurrent(cell, recurrent_dropout=dropout).backends(x)
    assert names[-1] == "python" and len(names) >= 2
    if dropout:
        assert "native" not in names and "torch" not in names  # only step loops apply it
    results = {}
    for backend in names:
        layer = Recurrent(cell, backend=backend, recurrent_dropout=dropout)
        torch.manual_seed(1)  # the same dropout mask for every backend
        out, _ = layer(x)
        grads = torch.autograd.grad((out * torch.linspace(-1, 1, 6)).sum(), list(cell.parameters()))
        results[backend] = (out, grads)
    want_out, want_grads = results["python"]
    for backend, (out, grads) in results.items():
        torch.testing.assert_close(out, want_out, rtol=1e-5, atol=1e-5, msg=backend)
        for g, w in zip(grads, want_grads, strict=True):
            torch.testing.assert_close(g, w, rtol=1e-4, atol=1e-4, msg=backend)
    layer = Recurrent(cell, recurrent_dropout=dropout)
    mask = torch.ones(5, 6) if dropout else None
    assert select("recurrent", "auto", layer, x, None, mask).name == names[0]


def test_every_offered_wavenet_backend_equals_the_reference():
    torch.manual_seed(0)
    x = torch.randn(4, 13, 1)
    for model, op, args in [
        (SimpleWaveNet(filters=6, dilations=(1, 2, 4), horizon=2), "conv_stack", None),
        (WaveNet(channels=8, blocks=1, layers_per_block=3, horizon=2), "wavenet_stack", None),
    ]:
        if op == "conv_stack":
            args = (model.convs, x)
        else:
            args = (model.layers, model.input_conv(x.transpose(0, 1), time_major=True))
        names = available(op, *args)
        assert names[-1] == "python"
        outputs = {}
        for backend in names:
            model.backend = backend
            out = model(x)
            grads = torch.autograd.grad(out.square().sum(), list(model.parameters()))
            outputs[backend] = (out, grads)
        for backend, (out, grads) in outputs.items():
            torch.testing.assert_close(out, outputs["python"][0], rtol=1e-5, atol=1e-5)
            for g, w in zip(grads, outputs["python"][1], strict=True):
                torch.testing.assert_close(g, w, rtol=1e-4, atol=1e-4, msg=backend)
