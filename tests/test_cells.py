import pytest
import torch
from twins import STOCK, torch_twin

from seqcast.nn import CELLS, Recurrent, make_cell


@pytest.mark.parametrize("name", list(STOCK))
@pytest.mark.parametrize("backend", ["auto", "torch"])
def test_stock_cells_equal_torch_nn(name, backend):
    torch.manual_seed(0)
    cell = make_cell(name, 3, 8)
    ref = torch_twin(cell, STOCK[name])
    x = torch.randn(4, 50, 3)
    layer = Recurrent(cell, backend=backend)
    fused, state = layer(x)
    expected, _ = ref(x)
    assert (fused - expected).abs().max() <= 1e-5
    # the step-by-step path (the cell contract itself) agrees as well
    looped, _ = layer._loop(x, cell.initial_state(4, x))
    assert (looped - expected).abs().max() <= 1e-5


@pytest.mark.parametrize("name", list(STOCK))
def test_gradients_match_torch_nn(name):
    torch.manual_seed(1)
    cell = make_cell(name, 2, 5)
    ref = torch_twin(cell, STOCK[name])
    x = torch.randn(3, 20, 2)
    Recurrent(cell)(x)[0].sum().backward()
    ref(x)[0].sum().backward()
    assert (cell.weight_hh.grad - ref.weight_hh_l0.grad).abs().max() <= 1e-5


def test_keras_initialisation():
    torch.manual_seed(0)
    lstm = make_cell("lstm", 3, 6)
    assert torch.all(lstm.bias_ih[6:12] == 1) and torch.all(lstm.bias_ih[:6] == 0)
    assert torch.all(lstm.bias_hh == 0)
    w = lstm.weight_hh  # (24, 6): orthonormal columns
    assert torch.allclose(w.T @ w, torch.eye(6), atol=1e-5)
    limit = (6 / (3 + 24)) ** 0.5  # glorot-uniform over the whole (3, 4*6) kernel
    assert lstm.weight_ih.abs().max() <= limit


def test_one_bias_vector_like_keras():
    names = [n for n, _ in make_cell("simple", 1, 1).named_parameters()]
    assert names == ["weight_ih", "weight_hh", "bias_ih"]
    assert "bias_hh" not in dict(make_cell("lstm", 1, 1).named_parameters())
    assert "bias_hh" in dict(make_cell("gru", 1, 1).named_parameters())  # reset-after: two


def test_return_last_and_state():
    layer = Recurrent(make_cell("lstm", 1, 4), return_sequences=False)
    y, (h, c) = layer(torch.randn(2, 7, 1))
    assert y.shape == (2, 4) and torch.equal(y, h) and c.shape == (2, 4)


def test_unknown_cell_lists_valid_ones():
    with pytest.raises(ValueError, match=", ".join(CELLS)):
        make_cell("transformer", 1, 1)


def test_custom_cell_runs_through_the_loop():
    class Leaky(torch.nn.Module):
        def __init__(self, i, h):
            super().__init__()
            self.lin = torch.nn.Linear(i + h, h)
            self.hidden_size = h

        def initial_state(self, batch, like):
            return like.new_zeros(batch, self.hidden_size)

        def forward(self, x, h):
            h = 0.5 * h + 0.5 * torch.tanh(self.lin(torch.cat([x, h], -1)))
            return h, h

    y, h = Recurrent(Leaky(2, 3))(torch.randn(4, 6, 2))
    assert y.shape == (4, 6, 3) and torch.equal(y[:, -1], h)


def test_recurrent_rejects_bad_rank():
    with pytest.raises(ValueError, match=r"\(B, T, C\)"):
        Recurrent(make_cell("gru", 1, 2))(torch.zeros(3, 4))
