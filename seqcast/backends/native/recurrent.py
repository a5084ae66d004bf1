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
the call (``sequence_checked``).
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from .build import library
from .structs import Cell, RecurrentBackward, RecurrentForward, Status, ptr

GATES = {Cell.RNN_TANH: 1, Cell.GRU: 3, Cell.LN_RNN_TANH: 1, Cell.LSTM: 4, Cell.PEEPHOLE_LSTM: 4}
_LSTMS = (Cell.LSTM, Cell.PEEPHOLE_LSTM)
# Under autocast (precision="bf16") the kernels run in float32: they are written for it.
_float32 = torch.amp.custom_fwd(device_type="cpu", cast_inputs=torch.float32)


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
    # states made in C, and gradients of unused outputs are not materialized.

    @staticmethod
    @_float32
    def forward(ctx, cell, grad_enabled, eps, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_ch, gamma,
                beta):
        (B, T, I), H, lanes = x.shape, w_hh.shape[1], library().lanes
        Bp = -(-B // lanes) * lanes
        lstm = cell in _LSTMS
        # forward runs with gradients off: whether they were on comes from the caller
        training = grad_enabled and any(ctx.needs_input_grad)
        n_xh, n_act, n_cs = _kept(cell, T, I, H, Bp)
        kept = x.new_empty(n_xh + n_act + n_cs if training else H * T * Bp)
        h = x.new_empty(B, H)
        c = x.new_empty(B, H) if lstm else None
        base = kept.data_ptr()
        # the struct holds addresses only: these names keep the tensors alive through the call
        w_ih, w_hh, b_ih = w_ih.contiguous(), w_hh.contiguous(), b_ih.contiguous()
        b_hh, w_ch, gamma, beta, h0, c0 = (
            None if t is None else t.contiguous() for t in (b_hh, w_ch, gamma, beta, h0, c0))
        args = RecurrentForward(
            cell=cell, T=T, B=B, I=I, H=H, x=x.data_ptr(), x_strides=x.stride(),
            w_ih=w_ih.data_ptr(), w_hh=w_hh.data_ptr(), b_ih=b_ih.data_ptr(), b_hh=ptr(b_hh),
            w_ch=ptr(w_ch), gamma=ptr(gamma), beta=ptr(beta), eps=eps, h0=ptr(h0), c0=ptr(c0),
            hs=None if training else base, hT=h.data_ptr(), cT=ptr(c),
            xh=base if training else None, act=base + 4 * n_xh if training and n_act else None,
            cs=base + 4 * (n_xh + n_act) if training and n_cs else None)
        _status(library().seqcast_recurrent_forward(args))
        ctx.set_materialize_grads(False)
        if training:
            ctx.save_for_backward(kept, w_ih, w_hh, w_ch, gamma, c0)
            ctx.dims, ctx.cell, ctx.has_b_hh = (B, T, I, H, Bp), cell, b_hh is not None
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
        (B, T, I, H, Bp), cell, need = ctx.dims, ctx.cell, ctx.needs_input_grad
        n_xh, n_act, _ = _kept(cell, T, I, H, Bp)
        G = GATES[cell] * H
        # dw_ih, dw_hh, db_ih, db_hh, dw_ch (3 H), dgamma, dbeta, dh0, dc0 in one buffer
        o_hh, o_bih = G * I, G * (I + H)
        o_bhh, o_ch = o_bih + G, o_bih + 2 * G
        o_gamma = o_ch + 3 * H
        o_beta, o_h0 = o_gamma + H, o_gamma + 2 * H
        o_c0 = o_h0 + B * H
        grads = kept.new_empty(o_c0 + B * H)
        dx = kept.new_empty(I * T * Bp) if need[3] else None  # feature-major, as the outputs
        # held in variables: the struct only has their addresses
        dh = None if dh is None else dh.contiguous()
        dc = None if dc is None else dc.contiguous()
        g, base = grads.data_ptr(), kept.data_ptr()
        peep = w_ch is not None and need[10]
        args = RecurrentBackward(
            cell=cell, T=T, B=B, I=I, H=H, dy=ptr(dy),
            dy_strides=(0, 0, 0) if dy is None else dy.stride(), dhT=ptr(dh), dcT=ptr(dc),
            w_ih=w_ih.data_ptr(), w_hh=w_hh.data_ptr(), w_ch=ptr(w_ch), gamma=ptr(gamma),
            xh=base, act=base + 4 * n_xh if n_act else None,
            cs=base + 4 * (n_xh + n_act) if cell in _LSTMS else None, c0=ptr(c0),
            dw_ih=g, dw_hh=g + 4 * o_hh, db_ih=g + 4 * o_bih, db_hh=g + 4 * o_bhh,
            dw_ch=g + 4 * o_ch if peep else None, dgamma=g + 4 * o_gamma, dbeta=g + 4 * o_beta,
            dx=ptr(dx), dx_strides=(1, Bp, T * Bp), dh0=g + 4 * o_h0 if need[4] else None,
            dc0=g + 4 * o_c0 if need[5] else None)
        _status(library().seqcast_recurrent_backward(args))
        # the Elman RNN's and the LSTMs' two biases are one sum: the same gradient
        db_hh = (grads.as_strided((G,), (1,), o_bhh if cell == Cell.GRU else o_bih)
                 if ctx.has_b_hh and need[9] else None)
        return (None, None, None,
                None if dx is None else dx.as_strided((B, T, I), (1, Bp, T * Bp)),
                grads.as_strided((B, H), (H, 1), o_h0) if need[4] else None,
                grads.as_strided((B, H), (H, 1), o_c0) if need[5] else None,
                grads.as_strided((G, I), (I, 1)), grads.as_strided((G, H), (H, 1), o_hh),
                grads.as_strided((G,), (1,), o_bih), db_hh,
                grads.as_strided((3, H), (H, 1), o_ch) if peep else None,
                grads.as_strided((H,), (1,), o_gamma) if need[11] else None,
                grads.as_strided((H,), (1,), o_beta) if need[12] else None)


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
    _check("x", x, x.shape)
    return sequence_checked(cell, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_ch, gamma, beta, eps)


def sequence_checked(cell: Cell, x: Tensor, h0, c0, w_ih, w_hh, b_ih, b_hh=None, w_ch=None,
                     gamma=None, beta=None, eps: float = 0.0):
    """``sequence`` for a caller that has checked x: a non-empty (B, T, I) float32 tensor on
    the CPU (``Recurrent`` does, with torch.nn's wording, and its selector's reason). Every
    other tensor the kernel reads is checked here against x and w_hh, once per call."""
    (B, _, I), H = x.shape, w_hh.shape[-1]
    G = GATES[cell] * H
    for name, t, shape in (("weight_ih", w_ih, (G, I)), ("weight_hh", w_hh, (G, H)),
                           ("bias_ih", b_ih, (G,)), ("bias_hh", b_hh, (G,)),
                           ("weight_ch", w_ch, (3, H)), ("gamma", gamma, (H,)),
                           ("beta", beta, (H,)), ("h0", h0, (B, H)), ("c0", c0, (B, H))):
        if t is None:
            if name in _NEEDS[cell]:
                raise ValueError(f"the C kernel for {cell.name} needs {name}")
        elif t.shape != shape or t.dtype != torch.float32 or not t.is_cpu:
            _check(name, t, shape)
    out = _Recurrent.apply(cell, torch.is_grad_enabled(), float(eps), x, h0, c0, w_ih, w_hh,
                           b_ih, b_hh, w_ch, gamma, beta)
    return out if cell in _LSTMS else (*out, None)


_NEEDS = {Cell.RNN_TANH: (), Cell.GRU: ("bias_hh",), Cell.LN_RNN_TANH: ("gamma", "beta"),
          Cell.LSTM: (), Cell.PEEPHOLE_LSTM: ("weight_ch",)}


def _check(name: str, t: Tensor, shape) -> None:
    """Raise if ``t`` has another shape than ``shape``, is not on the CPU or not float32
    (any float under autocast: the kernels cast to float32 then)."""
    if t.shape != shape:
        raise ValueError(f"{name} has shape {tuple(t.shape)}, expected {shape}")
    if not t.is_cpu:
        raise ValueError(f"{name} is on {t.device}; the C kernels run on the CPU")
    if t.dtype != torch.float32 and not torch.is_autocast_enabled("cpu"):
        raise TypeError(f"{name} must have the type torch.float32, got type {t.dtype}")
