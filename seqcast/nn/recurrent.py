"""The unroller: runs any cell over a sequence, with dropout on inputs and recurrent state.

Stock cells (``cell.fused`` names a kernel) run through fused sequence kernels with the
cell's own parameters, so they train exactly like ``torch.nn.RNN/LSTM/GRU``: on the CPU our
C kernels (``rnn_kernel.py``, ``lstm_kernel.py``) where a C compiler is found, else our
TorchScript BPTT kernels for SimpleRNN and GRU (``kernels.py``) and oneDNN for the LSTM;
elsewhere PyTorch's (cuDNN on a GPU). The chapter's peephole LSTM and layer-norm SimpleRNN
run in C too, with TorchScript BPTT kernels (``cell_kernels.py``) as their fallback. Any
other cell runs through a TorchScript loop over its ``step`` with the input projection
hoisted out of the loop (see ``loops.py``); a cell without ``project``/``step`` has only its
``forward`` looped, and one TorchScript cannot compile runs eagerly.
"""

from __future__ import annotations

import warnings

import torch
from torch import Tensor, nn

from .cell_kernels import ln_rnn_tanh_sequence, peephole_lstm_sequence
from .cells import State
from .conv import Conv1d
from .kernels import gru_sequence, rnn_tanh_sequence
from .loops import Stepper, eager_loop, script_loop
from .lstm_kernel import available as native_available
from .lstm_kernel import lstm_sequence
from .rnn_kernel import ln_rnn_sequence, rnn_sequence

_KERNELS = {"rnn_tanh": torch.rnn_tanh, "lstm": torch.lstm, "gru": torch.gru}
# Our CPU sequence kernels, called as kernel(cell, x, state)
_CPU_KERNELS = {
    "rnn_tanh": lambda cell, x, h: rnn_tanh_sequence(x, h, *cell.flat_weights()),
    "gru": lambda cell, x, h: gru_sequence(x, h, *cell.flat_weights()),
    "ln_rnn_tanh": lambda cell, x, h: ln_rnn_tanh_sequence(
        x, h, cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.norm.weight, cell.norm.bias,
        cell.norm.eps),
    "peephole_lstm": lambda cell, x, s: peephole_lstm_sequence(
        x, s, cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.weight_ch),
}
# The C kernels (``lstm_kernel.py``, ``rnn_kernel.py``), where they can be built and run:
# faster than oneDNN's and the TorchScript loops, with or without gradients
_NATIVE_KERNELS = {
    "rnn_tanh": lambda cell, x, h: rnn_sequence("rnn_tanh", x, h, *cell.flat_weights()),
    "gru": lambda cell, x, h: rnn_sequence("gru", x, h, *cell.flat_weights()),
    "ln_rnn_tanh": lambda cell, x, h: ln_rnn_sequence(
        x, h, cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.norm.weight, cell.norm.bias,
        cell.norm.eps),
    "lstm": lambda cell, x, s: lstm_sequence(x, s, *cell.flat_weights()),
    "peephole_lstm": lambda cell, x, s: lstm_sequence(
        x, s, cell.weight_ih, cell.weight_hh, cell.bias_ih, None, cell.weight_ch),
}
# Kernels that only pay off when gradients are needed: without them (validation, forecasts)
# the TorchScript loop keeps fewer intermediates and is faster
_TRAINING_ONLY = {"peephole_lstm"}
BACKENDS = ("auto", "torch", "script", "python")
# cuDNN copies the cell's separate weight tensors into one buffer per call (a few KB for the
# chapter's cells, cheaper than keeping a flat copy in sync); its warning about it is noise
warnings.filterwarnings("ignore", message="RNN module weights are not part of single contiguous")


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
            (Gal and Ghahramani 2016). Stock cells leave the fused kernel while it is on.
        backend: "auto" (the fastest fused kernel for stock cells, TorchScript for the
            others), "torch" (what plain PyTorch does: torch's fused kernels for stock cells, a
            Python loop for the others), "script" (TorchScript for every cell) or "python"
            (a Python loop for every cell).

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
        if x.dim() != 3:
            raise ValueError(f"Recurrent expects (B, T, C) input, got shape {tuple(x.shape)}")
        if self.training and self.dropout > 0:
            x = x * _mask(x.new_empty(x.shape[0], 1, x.shape[2]), self.dropout)  # (B, 1, C)
        recurrent_dropout = self.training and self.recurrent_dropout > 0
        fused = getattr(self.cell, "fused", None) or ""
        cpu_kernel = (self._cpu_kernel(fused, x) if not recurrent_dropout and self.backend == "auto"
                      else None)
        if cpu_kernel is not None and cpu_kernel is _NATIVE_KERNELS.get(fused):
            # the C kernels start from zeros without being given them
            outputs, state = cpu_kernel(self.cell, x, state)
            return (outputs if self.return_sequences else outputs[:, -1]), state
        if state is None:
            state = self.cell.initial_state(x.shape[0], x)
        mask = None
        if recurrent_dropout:
            h = state[0] if isinstance(state, tuple) else state
            mask = _mask(torch.empty_like(h), self.recurrent_dropout)  # (B, H)
        kernel = _KERNELS.get(fused)
        if cpu_kernel is not None:
            outputs, state = cpu_kernel(self.cell, x, state)
        elif kernel is not None and mask is None and self.backend in ("auto", "torch"):
            outputs, state = self._fused(kernel, x, state)
        elif self.backend == "torch":
            outputs, state = eager_loop(self._stepper(), self._stepper().project(x), state, mask)
        else:
            outputs, state = self._unroll(x, state, mask)
        return (outputs if self.return_sequences else outputs[:, -1]), state

    def _cpu_kernel(self, fused: str, x: Tensor):
        """Our CPU sequence kernel for this cell, or None where another path is faster."""
        if x.device.type != "cpu" or not fused:
            return None
        if fused in _NATIVE_KERNELS and native_available(x, self.cell.weight_hh):
            return _NATIVE_KERNELS[fused]
        if fused in _CPU_KERNELS and (fused not in _TRAINING_ONLY or torch.is_grad_enabled()):
            return _CPU_KERNELS[fused]
        return None

    def _fused(self, kernel, x: Tensor, state: State) -> tuple[Tensor, State]:
        # Kernels take (num_layers, B, H) states. (B, H) -> (1, B, H)
        hx = tuple(s.unsqueeze(0) for s in state) if isinstance(state, tuple) else state.unsqueeze(0)
        result = kernel(x, hx, self.cell.flat_weights(), True, 1, 0.0, self.training, False, True)
        outputs, finals = result[0], [s.squeeze(0) for s in result[1:]]
        return outputs, (tuple(finals) if isinstance(state, tuple) else finals[0])

    def _stepper(self) -> nn.Module:
        return self.cell if hasattr(self.cell, "step") else Stepper(self.cell)

    def _unroll(self, x: Tensor, state: State, mask: Tensor | None) -> tuple[Tensor, State]:
        cell = self._stepper()
        p = cell.project(x)  # (B, T, C) -> (B, T, G): one matmul instead of one per step
        loop = self._script(cell, state) if self.backend != "python" else None
        if loop is None:
            return eager_loop(cell, p, state, mask)
        if loop.training != self.training:
            loop.train(self.training)
        return loop(p, state, mask)

    def _script(self, cell: nn.Module, state: State):
        # One compiled loop per kind of state. It shares the cell's tensors, so it is rebuilt
        # when one was replaced (``.to()`` replaces buffers; a copy of this layer has none).
        kind = "pair" if isinstance(state, tuple) else "tensor"
        params = (*self.cell.parameters(), *self.cell.buffers())
        cached = self._scripted.get(kind)
        if cached is None or len(cached[0]) != len(params) or any(
            a is not b for a, b in zip(cached[0], params, strict=True)
        ):
            cached = (params, script_loop(cell, state))
            self._scripted[kind] = cached
        return cached[1]

    def _loop(self, x: Tensor, state: State) -> tuple[Tensor, State]:
        """Reference path: the cell's own ``forward`` at every step, in Python."""
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


def _mask(like: Tensor, rate: float) -> Tensor:
    """Inverted-dropout mask: 0 with probability ``rate``, else 1 / (1 - rate)."""
    return torch.bernoulli(like.fill_(1.0 - rate)) / (1.0 - rate)


def set_backend(model: nn.Module, backend: str) -> nn.Module:
    """Set ``backend`` on every ``Recurrent`` and ``Conv1d`` layer of ``model``; returns it.
    "torch" is what plain PyTorch code does: torch.nn's fused recurrent kernels, a Python
    loop for custom cells, ``F.conv1d`` on channels-first data for convolutions."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; valid backends: {', '.join(BACKENDS)}")
    for module in model.modules():
        if isinstance(module, (Recurrent, Conv1d)):
            module.backend = backend
    return model
