"""Truths for the non-stock cells and the compiled unroller: equations, parity, dropout."""

import copy
import warnings

import pytest
import torch
from twins import STOCK, torch_twin

from seqcast.nn import Recurrent, make_cell
from seqcast.nn.cells import LNSimpleRNNCell, PeepholeLSTMCell


@pytest.mark.parametrize("backend", ["loop", "python"])
@pytest.mark.parametrize("name", list(STOCK))
def test_stock_cells_step_path_equals_torch_nn(name, backend):
    """The hoisted step (what recurrent dropout and backend="loop" run) is torch.nn's cell."""
    torch.manual_seed(0)
    cell = make_cell(name, 3, 8)
    with torch.no_grad():  # non-zero biases so every term is checked
        cell.bias_ih.uniform_(-0.5, 0.5)
    ref = torch_twin(cell, STOCK[name])
    x = torch.randn(4, 50, 3)
    ours = Recurrent(cell, backend=backend)(x)[0]
    expected = ref(x)[0]
    assert (ours - expected).abs().max() <= 1e-5
    ours.square().sum().backward()
    expected.square().sum().backward()
    assert (cell.weight_hh.grad - ref.weight_hh_l0.grad).abs().max() <= 1e-4


def _layer_norm(a, gain, offset, eps=1e-3):
    mean = a.mean(-1, keepdim=True)
    var = ((a - mean) ** 2).mean(-1, keepdim=True)  # biased, as Keras and torch
    return (a - mean) / torch.sqrt(var + eps) * gain + offset


@pytest.mark.parametrize("backend", ["auto", "python"])
def test_layer_norm_cell_follows_its_equation(backend):
    torch.manual_seed(1)
    cell = LNSimpleRNNCell(3, 6)
    with torch.no_grad():
        cell.norm.weight.uniform_(0.5, 1.5)
        cell.norm.bias.uniform_(-0.5, 0.5)
        cell.bias_ih.uniform_(-0.5, 0.5)
    x = torch.randn(5, 50, 3)
    h = torch.zeros(5, 6)
    expected = []
    for t in range(50):  # tanh(LN(W x_t + b + U h_{t-1}))
        a = x[:, t] @ cell.weight_ih.T + cell.bias_ih + h @ cell.weight_hh.T
        h = torch.tanh(_layer_norm(a, cell.norm.weight, cell.norm.bias))
        expected.append(h)
    ours, last = Recurrent(cell, backend=backend)(x)
    assert (ours - torch.stack(expected, 1)).abs().max() <= 1e-5
    assert torch.equal(ours[:, -1], last)
    assert cell.norm.eps == 1e-3


@pytest.mark.parametrize("backend", ["auto", "python"])
def test_peephole_cell_follows_gers_and_schmidhuber(backend):
    torch.manual_seed(2)
    H = 5
    cell = PeepholeLSTMCell(2, H)
    x = torch.randn(3, 50, 2)
    W, U, b, w = cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.weight_ch
    h, c = torch.zeros(3, H), torch.zeros(3, H)
    expected = []
    for t in range(50):
        a = x[:, t] @ W.T + h @ U.T + b  # blocks i, f, g, o of H units
        i = torch.sigmoid(a[:, :H] + w[0] * c)  # input gate sees c_{t-1}
        f = torch.sigmoid(a[:, H : 2 * H] + w[1] * c)  # forget gate sees c_{t-1}
        c = f * c + i * torch.tanh(a[:, 2 * H : 3 * H])
        o = torch.sigmoid(a[:, 3 * H :] + w[2] * c)  # output gate sees c_t
        h = o * torch.tanh(c)
        expected.append(h)
    ours, (h_last, c_last) = Recurrent(cell, backend=backend)(x)
    assert (ours - torch.stack(expected, 1)).abs().max() <= 1e-5
    assert (c_last - c).abs().max() <= 1e-5
    # the peepholes matter: without them the cell is a plain LSTM with other outputs
    lstm = make_cell("lstm", 2, H)
    lstm.load_state_dict({k: v for k, v in cell.state_dict().items() if k != "weight_ch"})
    assert (Recurrent(lstm)(x)[0] - ours).abs().max() > 1e-3


def test_peephole_initialisation_like_keras():
    torch.manual_seed(0)
    cell = PeepholeLSTMCell(1, 20)
    assert torch.all(cell.bias_ih[20:40] == 1) and torch.all(cell.bias_ih[:20] == 0)
    assert cell.weight_ch.shape == (3, 20) and cell.weight_ch.std() > 0.1
    assert cell.weight_ch.abs().max() <= (3 / 20) ** 0.5
    assert "bias_hh" not in dict(cell.named_parameters())


def test_custom_cells_are_compiled_and_copies_are_independent():
    layer = Recurrent(make_cell("ln_simple", 1, 4), backend="loop")
    x = torch.randn(2, 7, 1)
    y = layer(x)[0]
    assert isinstance(layer._scripted["tensor"][1], torch.jit.ScriptModule)
    twin = copy.deepcopy(layer)
    assert torch.equal(twin(x)[0], y)
    with torch.no_grad():
        twin.cell.weight_hh.add_(1.0)  # the copy's compiled loop uses the copy's weights
    assert not torch.equal(twin(x)[0], y) and torch.equal(layer(x)[0], y)


class _NotScriptable(torch.nn.Module):
    """A valid cell TorchScript rejects (keyword-only varargs): it must still run."""

    def __init__(self, i, h):
        super().__init__()
        self.lin, self.hidden_size = torch.nn.Linear(i + h, h), h

    def initial_state(self, batch, like):
        return like.new_zeros(batch, self.hidden_size)

    def forward(self, x, h, *extra, **options):
        h = torch.tanh(self.lin(torch.cat([x, h], -1)))
        return h, h


def test_uncompilable_cell_falls_back_with_a_warning():
    torch.manual_seed(0)
    layer = Recurrent(_NotScriptable(2, 3))
    x = torch.randn(4, 6, 2)
    with pytest.warns(RuntimeWarning, match="could not be compiled"):
        y = layer(x)[0]
    assert torch.allclose(y, layer._loop(x, layer.cell.initial_state(4, x))[0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # warned once, not at every call
        layer(x)


class _Echo(torch.nn.Module):
    """Outputs what it is given: y_t = [x_t, h_{t-1}]; the next state is all ones."""

    hidden_size = 3

    def initial_state(self, batch, like):
        return like.new_ones(batch, self.hidden_size)

    def forward(self, x, h):
        return torch.cat([x, h], -1), torch.ones_like(h)


def test_dropout_masks_are_shared_across_time():
    torch.manual_seed(0)
    layer = Recurrent(_Echo(), dropout=0.5, recurrent_dropout=0.25)
    y = layer(torch.ones(64, 9, 2))[0]
    x_seen, h_seen = y[..., :2], y[..., 2:]
    assert set(x_seen.unique().tolist()) == {0.0, 2.0}  # inverted dropout: 1 / (1 - 0.5)
    assert torch.allclose(h_seen.unique(), torch.tensor([0.0, 1 / 0.75]))
    assert torch.equal(x_seen, x_seen[:, :1].expand_as(x_seen))  # one mask per sequence
    assert torch.equal(h_seen, h_seen[:, :1].expand_as(h_seen))
    assert 0.3 < (x_seen[:, 0] == 0).float().mean() < 0.7
    layer.eval()
    assert torch.equal(layer(torch.ones(4, 9, 2))[0], torch.ones(4, 9, 5))


def test_recurrent_dropout_on_stock_cells_leaves_the_kernel_only_in_training():
    torch.manual_seed(0)
    x = torch.randn(8, 20, 1)
    plain = Recurrent(make_cell("gru", 1, 6))
    dropped = Recurrent(copy.deepcopy(plain.cell), recurrent_dropout=0.5)
    assert not torch.allclose(dropped(x)[0], plain(x)[0])
    dropped.eval()
    assert torch.equal(dropped(x)[0], plain(x)[0])


@pytest.mark.parametrize(
    "kwargs,match",
    [({"backend": "jit"}, "valid backends: auto, native, script, torch, loop, python"),
     ({"dropout": 1.0}, r"dropout must be in \[0, 1\)"),
     ({"recurrent_dropout": -0.1}, r"recurrent_dropout must be in \[0, 1\)")],
)
def test_bad_unroller_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Recurrent(make_cell("gru", 1, 2), **kwargs)


def test_compiled_loop_follows_replaced_buffers():
    """``.to()`` swaps buffers for new tensors; the compiled loop must not keep the old ones."""
    torch.manual_seed(0)
    layer = Recurrent(make_cell("simple", 1, 3), backend="loop")  # its step reads bias_hh
    x = torch.randn(2, 5, 1)
    layer(x)
    layer.cell.bias_hh = torch.ones(3)
    expected = Recurrent(copy.deepcopy(layer.cell), backend="python")(x)[0]
    assert torch.allclose(layer(x)[0], expected)


def test_a_stock_cell_told_not_to_fuse_still_compiles():
    cell = make_cell("gru", 1, 3)
    cell.fused = None  # an instance attribute TorchScript must be able to type
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        Recurrent(cell)(torch.randn(2, 4, 1))
