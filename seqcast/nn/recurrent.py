"""The unroller: runs any cell over a sequence, with dropout on inputs and recurrent state.

What it computes is the reference below: the cell's input projection for all steps at once,
then its ``step`` in a Python loop (``python``). How fast it runs is chosen per call among
the implementations of the "recurrent" operation (``seqcast.nn.dispatch``): the C kernels
(``native``), TorchScript BPTT kernels (``script``), torch's fused kernels (``torch``),
a TorchScript loop over ``step`` (``loop``), then the reference; see
``seqcast/backends/recurrent.py`` for what each can run. Inputs are checked here first, with
torch.nn's wording, so every implementation sees the same valid shapes, dtypes and devices.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .cells import State
from .dispatch import available, reference, select


def _check_rate(name: str, p: float) -> float:
    if not 0.0 <= p < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {p}")
    return float(p)


class Recurrent(nn.Module):
    """Unroll ``cell`` over time, batch first.

    Args:
        cell: a module with ``forward(x_t, state) -> (y_t, state)`` and
            ``initial_state(batch, like)``; optionally ``project(x)`` and
            ``step(p_t, state)`` so the input projection is done once for all steps.
        return_sequences: return outputs at every step (B, T, H), else the last (B, H).
        dropout: drop rate of the inputs, one mask per sequence shared by all steps (Keras).
        recurrent_dropout: drop rate of h_{t-1} fed to each step, one mask per sequence
            (Gal and Ghahramani 2016). Only the step loops can apply it.
        backend: "auto" (the first implementation that can run the inputs) or one of them
            by name: "native", "script", "torch", "loop", "python" (the reference). A named
            one that cannot run the inputs raises ``BackendUnavailable`` saying why.

    Example:
        >>> layer = Recurrent(GRUCell(1, 20))
        >>> layer(torch.zeros(4, 50, 1))[0].shape
        torch.Size([4, 50, 20])
    """

    def __init__(
        self,
        cell: nn.Module,
        return_sequences: bool = True,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        backend: str = "auto",
    ):
        super().__init__()
        self.cell = cell
        self.return_sequences = return_sequences
        self.dropout = _check_rate("dropout", dropout)
        self.recurrent_dropout = _check_rate("recurrent_dropout", recurrent_dropout)
        if backend not in BACKENDS:
            raise ValueError(f"unknown backend {backend!r}; valid backends: {', '.join(BACKENDS)}")
        self.backend = backend
        self._scripted: dict = {}  # state kind -> (cell parameters, TorchScript loop or None)

    def forward(self, x: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        """x (B, T, I), state (B, H) or a tuple of them (None: zeros) -> outputs (B, T, H)
        (or (B, H) without ``return_sequences``) and the final state."""
        check_inputs(self.cell, x, state)
        if self.training and self.dropout > 0:
            x = x * _mask(x.new_empty(x.shape[0], 1, x.shape[2]), self.dropout)  # (B, 1, C)
        mask = None
        if self.training and self.recurrent_dropout > 0:
            h = _first(state if state is not None else self.cell.initial_state(x.shape[0], x))
            mask = _mask(torch.empty_like(h), self.recurrent_dropout)  # (B, H)
        impl = select("recurrent", self.backend, self, x, state, mask)
        outputs, state = impl.run(self, x, state, mask)
        return (outputs if self.return_sequences else outputs[:, -1]), state

    def backends(self, x: Tensor, state: State | None = None) -> list[str]:
        """The implementations that can run ``x`` (and ``state``) here, best first: "auto"
        takes the first. Example: ``['native', 'script', 'torch', 'loop', 'python']``."""
        check_inputs(self.cell, x, state)
        dropout = self.training and self.recurrent_dropout > 0  # only step loops apply it
        return available("recurrent", self, x, state, x.new_ones(1) if dropout else None)

    def plain_backend(self) -> str:
        """What plain PyTorch code runs for this layer: torch's fused kernel where torch has
        one for the cell (and no recurrent dropout), else the cell's step in a Python loop."""
        fused = getattr(self.cell, "fused", None) in TORCH_FUSED and not self.recurrent_dropout
        return "torch" if fused else "python"

    def stepper(self) -> nn.Module:
        """The cell with ``project``/``step`` (a cell with only ``forward`` gets an identity
        projection)."""
        return self.cell if hasattr(self.cell, "step") else _Stepper(self.cell)

    def _loop(self, x: Tensor, state: State) -> tuple[Tensor, State]:
        """The cell's own ``forward`` at every step, in Python (what the tests compare with)."""
        outputs = []
        for t in range(x.shape[1]):
            y, state = self.cell(x[:, t], state)
            outputs.append(y)
        return torch.stack(outputs, dim=1), state

    def __getstate__(self):
        return {**super().__getstate__(), "_scripted": {}}  # compiled loops are rebuilt

    def extra_repr(self) -> str:
        rates = f", dropout={self.dropout}" if self.dropout else ""
        rates += f", recurrent_dropout={self.recurrent_dropout}" if self.recurrent_dropout else ""
        return f"return_sequences={self.return_sequences}{rates}"


class _Stepper(nn.Module):
    """Gives a cell that only has ``forward(x_t, state)`` the ``project``/``step`` pair
    (the projection is the identity, so nothing is hoisted)."""

    def __init__(self, cell: nn.Module):
        super().__init__()
        self.cell = cell

    def project(self, x: Tensor) -> Tensor:
        return x

    def step(self, x_t: Tensor, state: Tensor) -> tuple[Tensor, Tensor]:
        return self.cell(x_t, state)


def eager_loop(cell: nn.Module, p: Tensor, state, mask: Tensor | None):
    """The time loop over ``cell.step`` in plain Python: p (B, T, G) projected inputs ->
    outputs (B, T, H) and the final state; ``mask`` (B, H) multiplies h_{t-1} (recurrent
    dropout) unless None."""
    outputs = []
    for p_t in p.unbind(1):  # unbind, not p[:, t]: its backward is one stack, not T scatters
        if mask is not None:
            state = (state[0] * mask, *state[1:]) if isinstance(state, tuple) else state * mask
        y, state = cell.step(p_t, state)
        outputs.append(y)
    return torch.stack(outputs, dim=1), state


def _reference(layer: Recurrent, x: Tensor, state, mask):
    cell = layer.stepper()
    if state is None:
        state = layer.cell.initial_state(x.shape[0], x)
    return eager_loop(cell, cell.project(x), state, mask)  # one matmul projects every step


reference("recurrent", "python", _reference)
BACKENDS = ("auto", "native", "script", "torch", "loop", "python")
TORCH_FUSED = ("rnn_tanh", "lstm", "gru")  # cells (by ``cell.fused``) torch has a kernel for


def set_backend(model: nn.Module, backend: str) -> nn.Module:
    """Set ``backend`` on every layer of ``model`` that knows it (``Recurrent``, ``Conv1d``,
    the WaveNets); returns ``model``. "torch" means what plain PyTorch code does in every
    layer (``plain_backend``): torch.nn's fused recurrent kernels, a Python loop for custom
    cells, ``F.conv1d`` on channels-first data, WaveNet layers one by one."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; valid backends: {', '.join(BACKENDS)}")
    for module in model.modules():
        plain = getattr(module, "plain_backend", None)
        if backend == "torch" and plain is not None:
            module.backend = plain()
        elif backend in getattr(module, "BACKENDS", ()):
            module.backend = backend
    return model


def _first(state) -> Tensor:
    return state[0] if isinstance(state, tuple) else state


def check_inputs(cell: nn.Module, x: Tensor, state) -> None:
    """Raise, with torch.nn's wording, unless x (B, T, I) and ``state`` fit ``cell``: the
    feature size, at least one step, the dtype of the weights (any float under autocast),
    and states of shape (B, H) on x's device and dtype."""
    if not isinstance(x, Tensor) or x.dim() != 3:
        shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f"Recurrent expects (B, T, C) input, got shape {shape}")
    size = getattr(cell, "input_size", None)
    if size is not None and x.shape[2] != size:
        raise ValueError(f"input.size(-1) must be equal to input_size. Expected {size}, got {x.shape[2]}")
    if x.shape[1] == 0:
        raise ValueError("Expected sequence length to be larger than 0 in RNN")
    weight = getattr(cell, "weight_hh", None)
    if isinstance(weight, Tensor):
        if x.dtype != weight.dtype and not _autocast(x):
            raise ValueError(
                f"Recurrent input dtype ({x.dtype}) does not match weight dtype ({weight.dtype}). "
                f"Convert input: input.to({weight.dtype}), or convert model: model.to({x.dtype})")
        if not (x.is_cpu and weight.is_cpu) and x.device != weight.device:
            raise ValueError("Input and parameter tensors are not at the same device, found "
                             f"input tensor at {x.device} and parameter tensor at {weight.device}")
    if state is None:
        return
    hidden = getattr(cell, "hidden_size", None)
    pair = isinstance(cell.initial_state(0, x), tuple)
    if pair != isinstance(state, tuple) or (pair and len(state) != 2):
        raise ValueError(f"{type(cell).__name__} expects a state of "
                         f"{'a pair (h, c)' if pair else 'one tensor h'}, got {type(state).__name__}")
    for i, s in enumerate(state if pair else (state,)):
        name = f"hidden[{i}]" if pair else "hidden"
        want = (x.shape[0], hidden if hidden is not None else s.shape[-1])
        if not isinstance(s, Tensor) or tuple(s.shape) != want:
            got = list(s.shape) if isinstance(s, Tensor) else type(s).__name__
            raise ValueError(f"Expected {name} size {want}, got {got}")
        if s.dtype != x.dtype and not _autocast(x):
            raise ValueError(f"{name} dtype ({s.dtype}) does not match input dtype ({x.dtype})")
        if not (s.is_cpu and x.is_cpu) and s.device != x.device:
            raise ValueError("Input and hidden tensors are not at the same device, found input "
                             f"tensor at {x.device} and hidden tensor at {s.device}")


def _autocast(x: Tensor) -> bool:
    """Whether autocast may have changed x's dtype (then any float dtype is accepted)."""
    return x.is_floating_point() and torch.is_autocast_enabled(x.device.type)


def _mask(like: Tensor, rate: float) -> Tensor:
    """Inverted-dropout mask: 0 with probability ``rate``, else 1 / (1 - rate)."""
    return torch.bernoulli(like.fill_(1.0 - rate)) / (1.0 - rate)
