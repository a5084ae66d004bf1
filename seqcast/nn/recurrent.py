"""The unroller: runs any cell over a sequence.

Stock cells (``cell.fused`` names a kernel) run through PyTorch's fused RNN kernels with
the cell's own parameters, so they train exactly like ``torch.nn.RNN/LSTM/GRU``. Any other
cell written against the step contract runs through a loop over time.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .cells import State

_KERNELS = {"rnn_tanh": torch.rnn_tanh, "lstm": torch.lstm, "gru": torch.gru}


class Recurrent(nn.Module):
    """Unroll ``cell`` over time, batch first.

    Args:
        cell: a module with ``forward(x_t, state) -> (y_t, state)`` and
            ``initial_state(batch, like)``.
        return_sequences: return outputs at every step (B, T, H), else the last (B, H).

    Example:
        >>> layer = Recurrent(GRUCell(1, 20))
        >>> layer(torch.zeros(4, 50, 1))[0].shape
        torch.Size([4, 50, 20])
    """

    def __init__(self, cell: nn.Module, return_sequences: bool = True):
        super().__init__()
        self.cell = cell
        self.return_sequences = return_sequences

    def forward(self, x: Tensor, state: State | None = None) -> tuple[Tensor, State]:
        if x.dim() != 3:
            raise ValueError(f"Recurrent expects (B, T, C) input, got shape {tuple(x.shape)}")
        if state is None:
            state = self.cell.initial_state(x.shape[0], x)
        kernel = _KERNELS.get(getattr(self.cell, "fused", None) or "")
        if kernel is not None:
            outputs, state = self._fused(kernel, x, state)
        else:
            outputs, state = self._loop(x, state)
        return (outputs if self.return_sequences else outputs[:, -1]), state

    def _fused(self, kernel, x: Tensor, state: State) -> tuple[Tensor, State]:
        # Kernels take (num_layers, B, H) states. (B, H) -> (1, B, H)
        hx = tuple(s.unsqueeze(0) for s in state) if isinstance(state, tuple) else state.unsqueeze(0)
        result = kernel(x, hx, self.cell.flat_weights(), True, 1, 0.0, self.training, False, True)
        outputs, finals = result[0], [s.squeeze(0) for s in result[1:]]
        return outputs, (tuple(finals) if isinstance(state, tuple) else finals[0])

    def _loop(self, x: Tensor, state: State) -> tuple[Tensor, State]:
        outputs = []
        for t in range(x.shape[1]):
            y, state = self.cell(x[:, t], state)
            outputs.append(y)
        return torch.stack(outputs, dim=1), state
