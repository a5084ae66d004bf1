"""One-step recurrent cells: ``forward(x_t, state) -> (y_t, state)``.

Shapes: ``x_t`` (B, I), ``y_t`` (B, H); the state is a tensor (B, H) or a tuple of them.
Parameters use torch.nn's layout (``weight_ih`` (G*H, I), ``weight_hh`` (G*H, H),
``bias_ih``, ``bias_hh`` (G*H,), gates in torch.nn's order) so the unroller can hand stock
cells to PyTorch's fused kernels, named by the class attribute ``fused``. Initialisation
follows Keras (glorot-uniform input weights, orthogonal recurrent weights, zero biases,
LSTM forget-gate bias 1), since the chapter's figures come from it.

Every cell here also splits its step in two so the unroller can hoist the input projection
out of the time loop: ``project(x)`` maps inputs of any leading shape (..., I) to (..., G*H)
in one matmul, and ``step(p_t, state)`` does the rest, so ``forward(x_t, state)`` equals
``step(project(x_t), state)``. Stock cells use ``step`` only where the fused kernel cannot
run (recurrent dropout, ``Recurrent(backend="script")``); the layer-norm and peephole cells
always do. ``step`` is written for TorchScript: typed, no ``*args``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

State = Tensor | tuple[Tensor, ...]
Pair = tuple[Tensor, Tensor]  # (h, c) of the LSTMs


class _GatedCell(nn.Module):
    """Shared parameters of a cell with ``gates`` blocks of ``hidden_size`` units."""

    gates = 1
    # Name of the torch kernel that runs this cell over a sequence, or None. (Not annotated:
    # TorchScript cannot read a ``str | None`` annotation if an instance overrides it.)
    fused = None
    # Keras' SimpleRNN and LSTM learn one bias vector, its reset-after GRU two; a cell without
    # a recurrent bias keeps ``bias_hh`` as a zero buffer so the fused kernels still apply.
    recurrent_bias = True

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        if input_size < 1 or hidden_size < 1:
            raise ValueError(f"input_size and hidden_size must be >= 1, got {input_size}, {hidden_size}")
        self.input_size, self.hidden_size = input_size, hidden_size
        g = self.gates * hidden_size
        self.weight_ih = nn.Parameter(torch.empty(g, input_size))
        self.weight_hh = nn.Parameter(torch.empty(g, hidden_size))
        self.bias_ih = nn.Parameter(torch.empty(g))
        if self.recurrent_bias:
            self.bias_hh = nn.Parameter(torch.empty(g))
        else:
            self.register_buffer("bias_hh", torch.zeros(g))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Keras defaults: glorot-uniform kernel, orthogonal recurrent kernel, zero biases."""
        nn.init.xavier_uniform_(self.weight_ih)
        nn.init.orthogonal_(self.weight_hh)
        nn.init.zeros_(self.bias_ih)
        if isinstance(self.bias_hh, nn.Parameter):
            nn.init.zeros_(self.bias_hh)

    def project(self, x: Tensor) -> Tensor:
        """Input projection W_ih x + b_ih: (..., I) -> (..., G*H)."""
        return F.linear(x, self.weight_ih, self.bias_ih)

    def flat_weights(self) -> list[Tensor]:
        return [self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh]

    def initial_state(self, batch: int, like: Tensor) -> State:
        return like.new_zeros(batch, self.hidden_size)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}"


class SimpleRNNCell(_GatedCell):
    """Elman cell: h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh); y_t = h_t."""

    fused = "rnn_tanh"
    recurrent_bias = False

    def forward(self, x_t: Tensor, state: Tensor) -> tuple[Tensor, Tensor]:
        h = torch.rnn_tanh_cell(
            x_t, state, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh
        )
        return h, h

    def step(self, p_t: Tensor, state: Tensor) -> tuple[Tensor, Tensor]:
        """The step after ``project``: p_t (B, H), state (B, H)."""
        h = torch.tanh(p_t + F.linear(state, self.weight_hh, self.bias_hh))
        return h, h


class LSTMCell(_GatedCell):
    """LSTM (Hochreiter and Schmidhuber 1997); gates i, f, g, o; state (h, c)."""

    gates = 4
    fused = "lstm"
    recurrent_bias = False

    def reset_parameters(self) -> None:
        super().reset_parameters()
        with torch.no_grad():  # Keras' unit_forget_bias: remember by default
            self.bias_ih[self.hidden_size : 2 * self.hidden_size].fill_(1.0)

    def initial_state(self, batch: int, like: Tensor) -> Pair:
        zeros = like.new_zeros(batch, self.hidden_size)
        return zeros, zeros

    def forward(self, x_t: Tensor, state: Pair) -> tuple[Tensor, Pair]:
        h, c = torch.lstm_cell(
            x_t, state, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh
        )
        return h, (h, c)

    def step(self, p_t: Tensor, state: Pair) -> tuple[Tensor, Pair]:
        """The step after ``project``: p_t (B, 4H), state (h, c), each (B, H)."""
        h, c = state
        i, f, g, o = (p_t + F.linear(h, self.weight_hh, self.bias_hh)).chunk(4, dim=-1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, (h, c)


class GRUCell(_GatedCell):
    """GRU (Cho et al. 2014), reset gate applied after the recurrent product (Keras and torch)."""

    gates = 3
    fused = "gru"

    def forward(self, x_t: Tensor, state: Tensor) -> tuple[Tensor, Tensor]:
        h = torch.gru_cell(
            x_t, state, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh
        )
        return h, h

    def step(self, p_t: Tensor, state: Tensor) -> tuple[Tensor, Tensor]:
        """The step after ``project``: p_t (B, 3H), state (B, H). Gates r, z, n."""
        x_r, x_z, x_n = p_t.chunk(3, dim=-1)
        h_r, h_z, h_n = F.linear(state, self.weight_hh, self.bias_hh).chunk(3, dim=-1)
        r = torch.sigmoid(x_r + h_r)
        z = torch.sigmoid(x_z + h_z)
        n = torch.tanh(x_n + r * h_n)  # reset after the recurrent product
        h = n + z * (state - n)  # (1 - z) * n + z * h_{t-1}
        return h, h


class LNSimpleRNNCell(_GatedCell):
    """The chapter's ``LNSimpleRNNCell``: h_t = tanh(LN(W_ih x_t + b_ih + W_hh h_{t-1})).

    A SimpleRNN cell without activation, then layer normalization over the units (Ba et al.
    2016; Keras' ``LayerNormalization``: epsilon 1e-3, gain 1, offset 0), then tanh.
    """

    recurrent_bias = False
    fused = "ln_rnn_tanh"  # a BPTT kernel on the CPU (``seqcast.backends.script.cells``)

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__(input_size, hidden_size)
        self.norm = nn.LayerNorm(hidden_size, eps=1e-3)

    def step(self, p_t: Tensor, state: Tensor) -> tuple[Tensor, Tensor]:
        """Args: p_t (B, H) from ``project``; state (B, H)."""
        h = torch.tanh(self.norm(p_t + F.linear(state, self.weight_hh)))
        return h, h

    def forward(self, x_t: Tensor, state: Tensor) -> tuple[Tensor, Tensor]:
        return self.step(self.project(x_t), state)


class PeepholeLSTMCell(_GatedCell):
    """LSTM with peephole connections (Gers and Schmidhuber 2000), like Keras'
    ``PeepholeLSTMCell``: the input and forget gates see c_{t-1}, the output gate sees c_t.

        i = sigmoid(W_i x + U_i h + w_ci * c_{t-1} + b_i)
        f = sigmoid(W_f x + U_f h + w_cf * c_{t-1} + b_f)
        c_t = f * c_{t-1} + i * tanh(W_g x + U_g h + b_g)
        o = sigmoid(W_o x + U_o h + w_co * c_t + b_o);  h_t = o * tanh(c_t)

    ``weight_ch`` (3, H) holds w_ci, w_cf, w_co; gates are in torch.nn's order i, f, g, o.
    """

    gates = 4
    recurrent_bias = False
    fused = "peephole_lstm"  # a BPTT kernel on the CPU (``seqcast.backends.script.cells``)

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__(input_size, hidden_size)
        self.weight_ch = nn.Parameter(torch.empty(3, hidden_size))
        self._reset_peepholes()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        with torch.no_grad():  # Keras' unit_forget_bias
            self.bias_ih[self.hidden_size : 2 * self.hidden_size].fill_(1.0)
        if hasattr(self, "weight_ch"):  # absent while the base class builds the cell
            self._reset_peepholes()

    def _reset_peepholes(self) -> None:
        # Keras draws each peephole vector glorot-uniform, fan_in = fan_out = H
        bound = (3.0 / self.hidden_size) ** 0.5
        nn.init.uniform_(self.weight_ch, -bound, bound)

    def initial_state(self, batch: int, like: Tensor) -> Pair:
        zeros = like.new_zeros(batch, self.hidden_size)
        return zeros, zeros

    def step(self, p_t: Tensor, state: Pair) -> tuple[Tensor, Pair]:
        """Args: p_t (B, 4H) from ``project``; state (h, c), each (B, H)."""
        h, c = state
        i, f, g, o = (p_t + F.linear(h, self.weight_hh)).chunk(4, dim=-1)  # 4 x (B, H)
        i = torch.sigmoid(i + self.weight_ch[0] * c)
        f = torch.sigmoid(f + self.weight_ch[1] * c)
        c = f * c + i * torch.tanh(g)
        h = torch.sigmoid(o + self.weight_ch[2] * c) * torch.tanh(c)
        return h, (h, c)

    def forward(self, x_t: Tensor, state: Pair) -> tuple[Tensor, Pair]:
        return self.step(self.project(x_t), state)


CELLS: dict[str, type[nn.Module]] = {
    "simple": SimpleRNNCell,
    "lstm": LSTMCell,
    "gru": GRUCell,
    "ln_simple": LNSimpleRNNCell,
    "peephole": PeepholeLSTMCell,
}


def make_cell(name: str, input_size: int, hidden_size: int) -> nn.Module:
    """Build a registered cell by name, e.g. ``make_cell("gru", 1, 20)``."""
    if name not in CELLS:
        raise ValueError(f"unknown cell {name!r}; valid cells: {', '.join(CELLS)}")
    return CELLS[name](input_size, hidden_size)
