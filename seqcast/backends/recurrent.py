"""The fast implementations of a recurrent layer (``seqcast.nn.Recurrent``), best first.

Each is called as ``run(layer, x, state, mask)`` on inputs the layer has checked (x (B, T, I)
with at least one step, states (B, H) on x's device and dtype; ``mask`` (B, H) is the
recurrent-dropout mask or None) and returns (outputs (B, T, H), final state). Its
``reason`` says why it cannot run them. Each is kept because it is the first that can run
some inputs and is faster there than the next (``benchmarks/tiers.py``, measured on this
repository's 2-core CPU, benchmarks/README.md): the C kernels train the chapter's cells
2-6x faster than the next; without them the TorchScript BPTT kernels beat torch's kernels
(SimpleRNN, GRU) and the step loop (layer norm, peephole) 1.9-2.7x in training, torch's LSTM
the step loop over 4x; the TorchScript step loop, which alone runs recurrent dropout and
other cells, takes 0.73-0.90 of the Python loop's time there.
"""

from __future__ import annotations

import torch

from ..nn.dispatch import Implementation
from .native import recurrent as native
from .native.build import library, unavailable_reason
from .native.structs import Cell
from .script import cells as script_cells
from .script import rnn as script_rnn
from .script.loops import script_loop

_NATIVE = {"rnn_tanh": Cell.RNN_TANH, "gru": Cell.GRU, "ln_rnn_tanh": Cell.LN_RNN_TANH,
           "lstm": Cell.LSTM, "peephole_lstm": Cell.PEEPHOLE_LSTM}
_SCRIPT = ("rnn_tanh", "gru", "ln_rnn_tanh", "peephole_lstm")
_TORCH = {"rnn_tanh": torch.rnn_tanh, "lstm": torch.lstm, "gru": torch.gru}


def _fused(layer) -> str:
    return getattr(layer.cell, "fused", None) or ""


def _kernel_reason(layer, x, mask, table, what: str) -> str | None:
    """What stops a whole-sequence kernel: recurrent dropout, no kernel for the cell."""
    if mask is not None:
        return "recurrent dropout needs a step loop"
    if _fused(layer) not in table:
        return f"no {what} kernel for {type(layer.cell).__name__}"
    return None


def _native_reason(layer, x, state, mask) -> str | None:
    why = _kernel_reason(layer, x, mask, _NATIVE, "C")
    if why is None and (not x.is_cpu or x.shape[0] == 0):
        why = "the C kernels run non-empty batches on the CPU"
    if why is None and (x.dtype != torch.float32 or layer.cell.weight_hh.dtype != torch.float32):
        why = "the C kernels are float32"
    return why or unavailable_reason()


def _native(layer, x, state, mask):
    # x was checked by the layer and _native_reason; the weights and states are checked here
    cell = layer.cell
    kind = _NATIVE[cell.fused]
    h0, c0 = state if isinstance(state, tuple) else (state, None)
    if kind == Cell.LN_RNN_TANH:
        norm = cell.norm
        out, h, c = native.sequence_checked(kind, x, h0, c0, cell.weight_ih, cell.weight_hh,
                                            cell.bias_ih, None, None, norm.weight, norm.bias,
                                            norm.eps)
    elif kind == Cell.PEEPHOLE_LSTM:
        out, h, c = native.sequence_checked(kind, x, h0, c0, cell.weight_ih, cell.weight_hh,
                                            cell.bias_ih, None, cell.weight_ch)
    else:
        out, h, c = native.sequence_checked(kind, x, h0, c0, cell.weight_ih, cell.weight_hh,
                                            cell.bias_ih, cell.bias_hh)
    return out, (h if c is None else (h, c))


def _script_reason(layer, x, state, mask) -> str | None:
    why = _kernel_reason(layer, x, mask, _SCRIPT, "TorchScript BPTT")
    if why is None and (x.device.type != "cpu" or x.shape[0] == 0):
        why = "the TorchScript BPTT kernels run non-empty batches on the CPU"
    return why


def _script(layer, x, state, mask):
    cell, fused = layer.cell, _fused(layer)
    if state is None:
        state = cell.initial_state(x.shape[0], x)
    if fused == "rnn_tanh":
        return script_rnn.rnn_tanh_sequence(x, state, *cell.flat_weights())
    if fused == "gru":
        return script_rnn.gru_sequence(x, state, *cell.flat_weights())
    if fused == "ln_rnn_tanh":
        return script_cells.ln_rnn_tanh_sequence(
            x, state, cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.norm.weight,
            cell.norm.bias, cell.norm.eps)
    return script_cells.peephole_lstm_sequence(x, state, cell.weight_ih, cell.weight_hh,
                                               cell.bias_ih, cell.weight_ch)


def _torch_reason(layer, x, state, mask) -> str | None:
    return _kernel_reason(layer, x, mask, _TORCH, "torch")


def _torch(layer, x, state, mask):
    cell = layer.cell
    if state is None:
        state = cell.initial_state(x.shape[0], x)
    # Kernels take (num_layers, B, H) states. (B, H) -> (1, B, H)
    pair = isinstance(state, tuple)
    hx = tuple(s.unsqueeze(0) for s in state) if pair else state.unsqueeze(0)
    result = _TORCH[_fused(layer)](x, hx, cell.flat_weights(), True, 1, 0.0, layer.training,
                                   False, True)
    outputs, finals = result[0], [s.squeeze(0) for s in result[1:]]
    return outputs, (tuple(finals) if pair else finals[0])


def _compiled(layer, state_kind: str):
    """The layer's TorchScript loop for this kind of state, or None where it cannot compile.
    It shares the cell's tensors, so it is rebuilt when one was replaced (``.to()`` replaces
    buffers; a copy of the layer has none)."""
    params = (*layer.cell.parameters(), *layer.cell.buffers())
    cached = layer._scripted.get(state_kind)
    if cached is None or len(cached[0]) != len(params) or any(
            a is not b for a, b in zip(cached[0], params, strict=True)):
        probe = torch.zeros(0)
        cached = (params, script_loop(layer.stepper(), (probe, probe) if state_kind == "pair"
                                      else probe))
        layer._scripted[state_kind] = cached
    return cached[1]


def _kind(layer, x, state) -> str:
    s = state if state is not None else layer.cell.initial_state(0, x)
    return "pair" if isinstance(s, tuple) else "tensor"


def _loop_reason(layer, x, state, mask) -> str | None:
    if _compiled(layer, _kind(layer, x, state)) is None:
        return f"TorchScript cannot compile {type(layer.cell).__name__}'s step"
    return None


def _loop(layer, x, state, mask):
    loop = _compiled(layer, _kind(layer, x, state))
    if loop.training != layer.training:
        loop.train(layer.training)
    if state is None:
        state = layer.cell.initial_state(x.shape[0], x)
    return loop(layer.stepper().project(x), state, mask)  # one matmul projects every step


def signature(layer, x, state, mask):
    """What the reasons above read, where that fixes the choice: a stock cell's kernel name,
    the dtypes and whether the C kernels loaded, for a non-empty batch on the CPU without
    recurrent dropout (one of native, script and torch then always runs). None elsewhere
    (the loop's reason depends on the cell itself): then ``select`` asks every time."""
    cell = layer.cell
    fused = getattr(cell, "fused", None)
    if mask is not None or fused not in _NATIVE or not x.is_cpu or x.shape[0] == 0:
        return None
    return fused, x.dtype, cell.weight_hh.dtype, library() is None


IMPLEMENTATIONS = [
    Implementation("native", _native_reason, _native),
    Implementation("script", _script_reason, _script),
    Implementation("torch", _torch_reason, _torch),
    Implementation("loop", _loop_reason, _loop),
]
