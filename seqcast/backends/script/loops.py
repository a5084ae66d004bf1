"""Time loops over a cell's ``step`` compiled with TorchScript (the "loop" backend).

The input projection is hoisted out of the loop by the caller (one matmul for the whole
sequence), so each step only does the recurrent product and the gates. TorchScript runs the
loop without Python overhead and compiles in about a second, where ``torch.compile`` of an
unrolled 50-step loop takes over a minute on a small CPU. A cell that TorchScript cannot
compile runs the reference loop instead (``seqcast.nn.recurrent``), with one warning.

Shapes: ``p`` (B, T, G) projected inputs, states (B, H) or a pair of them, ``mask`` (B, H)
the recurrent-dropout mask applied to h_{t-1} (or ``None``).
"""

from __future__ import annotations

import warnings
from typing import Optional

import torch
from torch import Tensor, nn


class _TensorLoop(nn.Module):
    """Unroll a cell whose state is one tensor h."""

    def __init__(self, cell: nn.Module):
        super().__init__()
        self.cell = cell

    def forward(self, p: Tensor, h: Tensor, mask: Optional[Tensor]) -> tuple[Tensor, Tensor]:  # noqa: UP045 (TorchScript)
        outputs = []
        for p_t in p.unbind(1):
            h_in = h if mask is None else h * mask
            y, h = self.cell.step(p_t, h_in)
            outputs.append(y)
        return torch.stack(outputs, dim=1), h


class _PairLoop(nn.Module):
    """Unroll a cell whose state is a pair (h, c), like the LSTMs."""

    def __init__(self, cell: nn.Module):
        super().__init__()
        self.cell = cell

    def forward(
        self, p: Tensor, state: tuple[Tensor, Tensor], mask: Optional[Tensor]  # noqa: UP045
    ) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        h, c = state
        outputs = []
        for p_t in p.unbind(1):
            h_in = h if mask is None else h * mask
            y, (h, c) = self.cell.step(p_t, (h_in, c))
            outputs.append(y)
        return torch.stack(outputs, dim=1), (h, c)


def script_loop(cell: nn.Module, state) -> nn.Module | None:
    """A TorchScript loop over ``cell.step`` for this kind of state, or ``None`` (with a
    warning) when the cell or the state cannot be compiled. The loop shares the cell's
    parameters."""
    if isinstance(state, Tensor):
        loop = _TensorLoop(cell)
    elif isinstance(state, tuple) and len(state) == 2:
        loop = _PairLoop(cell)
    else:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit's notice
            return torch.jit.script(loop)
    except Exception as exc:  # any compile failure: run eagerly instead
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        name = type(getattr(cell, "cell", cell)).__name__  # the cell a wrapper holds
        warnings.warn(
            f"{name} could not be compiled with TorchScript, so it runs in a "
            f"Python loop (slower): {message}", RuntimeWarning, stacklevel=3,
        )
        return None
