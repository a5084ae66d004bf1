"""Recurrent layers on the CPU through the C kernels (``csrc/recurrent.c``, ``csrc/lstm.c``):
the Elman RNN, the GRU, the chapter's layer-norm SimpleRNN, the LSTM and the peephole LSTM.

One C call runs a whole layer over all time steps, forward or backward, weight gradients
included, where oneDNN's LSTM (what ``torch.lstm`` uses on the CPU) pays per-call setup and
the custom cells would otherwise run a loop of small ops. The kernels keep everything
feature-major with the batch along the vector lanes (padded to a multiple of
``library().lanes``), and the layer's outputs and input gradients are views of that
storage, which the next layer's kernel reads as they are. ``sequence`` equals
``torch.rnn_tanh`` / ``torch.gru`` / ``torch.lstm`` and the custom cells' own ``step`` to
float precision (tests/test_kernels.py). Every tensor the kernel reads is checked before
the call (``sequence_checked``), once: the autograd function trusts what was checked.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from .build import library
from .structs import Cell, RecurrentBackward, RecurrentForward, Status, packer, ptr

GATES = {Cell.RNN_TANH: 1, Cell.GRU: 3, Cell.LN_RNN_TANH: 1, Cell.LSTM: 4, Cell.PEEPHOLE_LSTM: 4}
_LSTMS = (Cell.LSTM, Cell.PEEPHOLE_LSTM)
_FORWARD, _BACKWARD = packer(RecurrentForward), packer(RecurrentBackward)


def _kept(cell: Cell, T: int, I: int, H: int, Bp: int) -> tuple[int, int, int]:
    """Elements of what training keeps for backward, in one buffer: [x_t; h_{t-1}]
    (I + H, T + 1, Bp), the cell's activations (the GRU's r, z, n, W_hn h + b_hn; the layer
    norm's output and 1/std; the LSTMs' gates) and the LSTMs' cell states (T, H, Bp)."""
    act = {Cell.RNN_TANH: 0, Cell.GRU: 4 * H, Cell.LN_RNN_TANH: H + 1}.get(cell, 4 * H)
    return (I + H) * (T + 1) * Bp, act * T * Bp, H * T * Bp if cell in _LSTMS else 0


def _status(code: int) -> None:
    if code == Status.NO_MEMORY:
        raise MemoryError("the recurrent C kernel could not allocate its scratch memory")
    if code != Status.OK:
        raise ValueError("the recurrent C kernel refused its arguments (a size out of range)")


class _Recurrent(torch.autograd.Function):
    # Few tensor operations per call: in a training step each costs microseconds. One buffer
    # holds what backward needs, the outputs are a view of it, biases are summed and zero
    # states made in C, and gradients of unused outputs are not materialized. The Python
    # around the C call is kept short too, since a layer runs it twice per step: every
    # tensor was checked by the caller (``sequence_checked``), backward reuses what forward
    # worked out, and the argument structs are packed in one call (``structs.packer``).
    #
    # Inputs: (cell, whether gradients were on, the layer norm's eps), x, h0, c0, w_ih,
    # w_hh, b_ih, then the cell's own: b_hh (the Elman RNN, GRU and LSTM), w_ch (the
    # peephole LSTM) or gamma, beta (the layer-norm RNN).

    @staticmethod
    def forward(ctx, how, x, h0, c0, w_ih, w_hh, b_ih, *own):
        cell, grad_enabled, eps = how
        (B, T, I), H, lanes = x.shape, w_hh.shape[1], library().lanes
        Bp = -(-B // lanes) * lanes
        lstm = cell in _LSTMS
        b_hh = w_ch = gamma = beta = None
        if cell == Cell.LN_RNN_TANH:
            gamma, beta = own
        elif cell == Cell.PEEPHOLE_LSTM:
            w_ch = own[0]
        else:
            b_hh = own[0]
        # forward runs with gradients off: whether they were on comes from the caller
        training = grad_enabled and any(ctx.needs_input_grad)
        n_xh, n_act, n_cs = _kept(cell, T, I, H, Bp)
        kept = x.new_empty(n_xh + n_act + n_cs if training else H * T * Bp)
        h = x.new_empty(B, H)
        c = x.new_empty(B, H) if lstm else None
        base = kept.data_ptr()
        # the struct holds addresses only: the tensors stay alive in these names (the caller
        # made every one contiguous)
        args = _FORWARD.pack(
            cell, T, B, I, H, x.data_ptr(), *x.stride(), w_ih.data_ptr(), w_hh.data_ptr(),
            b_ih.data_ptr(), ptr(b_hh), ptr(w_ch), ptr(gamma), ptr(beta), eps, ptr(h0), ptr(c0),
            0 if training else base, h.data_ptr(), ptr(c), base if training else 0,
            base + 4 * n_xh if training and n_act else 0,
            base + 4 * (n_xh + n_act) if training and n_cs else 0)
        _status(library().seqcast_recurrent_forward_bytes(args))
        ctx.set_materialize_grads(False)
        if training:
            ctx.save_for_backward(kept, w_ih, w_hh, w_ch, gamma, c0)
            ctx.sizes = (cell, B, T, I, H, Bp, n_xh, n_act, b_hh is not None)
            # the outputs h_t are rows I.. of [x_t; h_{t-1}] at blocks 1..T
            out = kept.as_strided((B, T, H), (1, Bp, (T + 1) * Bp), I * (T + 1) * Bp + Bp)
        else:
            out = kept.as_strided((B, T, H), (1, Bp, T * Bp))
        # the other cells have no c: two outputs, so autograd tracks one tensor fewer
        return (out, h, c) if lstm else (out, h)

    @staticmethod
    @once_differentiable  # the C code's gradients have no graph of their own
    def backward(ctx, dy, dh, dc=None):
        kept, w_ih, w_hh, w_ch, gamma, c0 = ctx.saved_tensors
        cell, B, T, I, H, Bp, n_xh, n_act, has_b_hh = ctx.sizes
        need = ctx.needs_input_grad
        G = GATES[cell] * H
        # dw_ih, dw_hh, db_ih, db_hh, dw_ch (3 H), dgamma, dbeta, dh0, dc0 in one buffer
        o_hh, o_bih = G * I, G * (I + H)
        o_bhh, o_ch = o_bih + G, o_bih + 2 * G
        o_gamma = o_ch + 3 * H
        o_beta, o_h0 = o_gamma + H, o_gamma + 2 * H
        o_c0 = o_h0 + B * H
        grads = kept.new_empty(o_c0 + B * H)
        dx = kept.new_empty(I * T * Bp) if need[1] else None  # feature-major, as the outputs
        # held in variables: the struct only has their addresses
        dh = None if dh is None else dh.contiguous()
        dc = None if dc is None else dc.contiguous()
        g, base = grads.data_ptr(), kept.data_ptr()
        peep = w_ch is not None and need[7]
        args = _BACKWARD.pack(
            cell, T, B, I, H, ptr(dy), *((0, 0, 0) if dy is None else dy.stride()), ptr(dh),
            ptr(dc), w_ih.data_ptr(), w_hh.data_ptr(), ptr(w_ch), ptr(gamma), base,
            base + 4 * n_xh if n_act else 0,
            base + 4 * (n_xh + n_act) if cell in _LSTMS else 0, ptr(c0),
            g, g + 4 * o_hh, g + 4 * o_bih, g + 4 * o_bhh, g + 4 * o_ch if peep else 0,
            g + 4 * o_gamma, g + 4 * o_beta, ptr(dx), 1, Bp, T * Bp,
            g + 4 * o_h0 if need[2] else 0, g + 4 * o_c0 if need[3] else 0)
        _status(library().seqcast_recurrent_backward_bytes(args))
        first = (None,
                 None if dx is None else dx.as_strided((B, T, I), (1, Bp, T * Bp)),
                 grads.as_strided((B, H), (H, 1), o_h0) if need[2] else None,
                 grads.as_strided((B, H), (H, 1), o_c0) if need[3] else None,
                 grads.as_strided((G, I), (I, 1)), grads.as_strided((G, H), (H, 1), o_hh),
                 grads.as_strided((G,), (1,), o_bih))
        if cell == Cell.LN_RNN_TANH:
            return (*first, grads.as_strided((H,), (1,), o_gamma) if need[7] else None,
                    grads.as_strided((H,), (1,), o_beta) if need[8] else None)
        if cell == Cell.PEEPHOLE_LSTM:
            return (*first, grads.as_strided((3, H), (H, 1), o_ch) if peep else None)
        # the Elman RNN's and the LSTM's two biases are one sum: the same gradient
        return (*first, grads.as_strided((G,), (1,), o_bhh if cell == Cell.GRU else o_bih)
                if has_b_hh and need[7] else None)


def sequence(cell: Cell, x: Tensor, h0: Tensor | None, c0: Tensor | None, w_ih: Tensor,
             w_hh: Tensor, b_ih: Tensor, b_hh: Tensor | None = None, w_ch: Tensor | None = None,
             gamma: Tensor | None = None, beta: Tensor | None = None,
             eps: float = 0.0) -> tuple[Tensor, Tensor, Tensor | None]:
    """One recurrent layer over x (B, T, I) from h0 (and the LSTMs' c0), each (B, H) or None
    for zeros; weights in torch.nn's layout. Returns outputs (B, T, H), the final h (B, H)
    and the LSTMs' final c (B, H) (None for the other cells). Arguments are checked first:
    a wrong shape, dtype or device raises, it never reaches C."""
    if cell not in GATES:
        raise ValueError(f"unknown cell {cell!r}; valid: {', '.join(c.name for c in GATES)}")
    if x.dim() != 3 or x.shape[0] < 1 or x.shape[1] < 1:
        raise ValueError(f"the C kernel needs a non-empty (B, T, I) input, got {tuple(x.shape)}")
    x = _checked("x", x, x.shape)
    return sequence_checked(cell, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_ch, gamma, beta, eps)


def sequence_checked(cell: Cell, x: Tensor, h0, c0, w_ih, w_hh, b_ih, b_hh=None, w_ch=None,
                     gamma=None, beta=None, eps: float = 0.0):
    """``sequence`` for a caller that has checked x: a non-empty (B, T, I) float32 tensor on
    the CPU (``Recurrent`` does, with torch.nn's wording, and its selector's reason). Every
    other tensor the kernel reads is checked here against x and w_hh, once per call; the
    autograd function then trusts them, forward and backward."""
    (B, _, I), H = x.shape, w_hh.shape[-1]
    G = GATES[cell] * H
    if cell == Cell.LN_RNN_TANH:
        own, names, shapes = [gamma, beta], _LN_NAMES, ((H,), (H,))
    elif cell == Cell.PEEPHOLE_LSTM:
        own, names, shapes = [w_ch], _PEEPHOLE_NAMES, ((3, H),)
    else:
        own, names, shapes = [b_hh], _BIAS_NAMES, ((G,),)
    given = [h0, c0, w_ih, w_hh, b_ih, *own]
    for i, shape in enumerate(((B, H), (B, H), (G, I), (G, H), (G,), *shapes)):
        t = given[i]
        if t is None:  # zeros for the states; the Elman RNN's and LSTM's b_hh may be left out
            if i > 1 and not (i == 5 and (cell == Cell.RNN_TANH or cell == Cell.LSTM)):
                raise ValueError(f"the C kernel for {cell.name} needs {names[i]}")
        elif t.shape != shape or t.dtype != torch.float32 or not t.is_cpu or not t.is_contiguous():
            given[i] = _checked(names[i], t, shape)
    return _apply(cell, eps, x, given)


def _apply(cell: Cell, eps: float, x: Tensor, given: list) -> tuple:
    out = _Recurrent.apply((cell, torch.is_grad_enabled(), float(eps)), x, *given)
    return out if cell in _LSTMS else (*out, None)


_NAMES = ("h0", "c0", "weight_ih", "weight_hh", "bias_ih")
_BIAS_NAMES = (*_NAMES, "bias_hh")
_PEEPHOLE_NAMES = (*_NAMES, "weight_ch")
_LN_NAMES = (*_NAMES, "gamma", "beta")


def _checked(name: str, t: Tensor, shape) -> Tensor:
    """``t`` as the kernels read it (contiguous, float32), or raise if it has another shape
    than ``shape``, is not on the CPU or not float32 (any float under autocast: the kernels
    run in float32 then, as for ``precision="bf16"``)."""
    if t.shape != shape:
        raise ValueError(f"{name} has shape {tuple(t.shape)}, expected {shape}")
    if not t.is_cpu:
        raise ValueError(f"{name} is on {t.device}; the C kernels run on the CPU")
    if t.dtype != torch.float32:
        if not (t.is_floating_point() and torch.is_autocast_enabled("cpu")):
            raise TypeError(f"{name} must have the type torch.float32, got type {t.dtype}")
        t = t.float()
    return t.contiguous()
