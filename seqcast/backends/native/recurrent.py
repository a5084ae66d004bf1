"""Recurrent layers on the CPU through the C kernels (``csrc/recurrent.c``, ``csrc/lstm.c``):
the Elman RNN, the GRU, the chapter's layer-norm SimpleRNN, the LSTM and the peephole LSTM.

One C call runs a whole layer over all time steps, forward or backward, weight gradients
included, where oneDNN's LSTM (what ``torch.lstm`` uses on the CPU) pays per-call setup and
the custom cells would otherwise run a loop of small ops. The kernels keep everything
feature-major with the batch along the vector lanes (padded to a multiple of
``library().lanes``), and the layer's outputs and input gradients are views of that
storage, which the next layer's kernel reads as they are. ``sequence`` equals
``torch.rnn_tanh`` / ``torch.gru`` / ``torch.lstm`` and the custom cells' own ``step`` to
float precision (tests/test_kernels.py). ``check`` runs before every call.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from .build import library
from .structs import Cell, RecurrentBackward, RecurrentForward, Status, ptr, strides

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
        (B, T, I), H = x.shape, w_hh.shape[1]
        Bp = -(-B // library().lanes) * library().lanes
        # forward runs with gradients off: whether they were on comes from the caller
        training = grad_enabled and any(ctx.needs_input_grad)
        n_xh, n_act, n_cs = _kept(cell, T, I, H, Bp)
        kept = x.new_empty(n_xh + n_act + n_cs if training else H * T * Bp)
        h, c = x.new_empty(B, H), x.new_empty(B, H if cell in _LSTMS else 0)
        base = kept.data_ptr()
        # the struct holds addresses only: these names keep the tensors alive through the call
        w_ih, w_hh, b_ih, b_hh, w_ch, gamma, beta, h0, c0 = (
            None if t is None else t.contiguous()
            for t in (w_ih, w_hh, b_ih, b_hh, w_ch, gamma, beta, h0, c0))
        args = RecurrentForward(
            cell=cell, T=T, B=B, I=I, H=H, x=x.data_ptr(), x_strides=strides(x),
            w_ih=w_ih.data_ptr(), w_hh=w_hh.data_ptr(), b_ih=b_ih.data_ptr(), b_hh=ptr(b_hh),
            w_ch=ptr(w_ch), gamma=ptr(gamma), beta=ptr(beta), eps=eps, h0=ptr(h0), c0=ptr(c0),
            hs=None if training else base, hT=h.data_ptr(), cT=ptr(c) if cell in _LSTMS else None,
            xh=base if training else None,
            act=base + 4 * n_xh if training and n_act else None,
            cs=base + 4 * (n_xh + n_act) if training and n_cs else None)
        _status(library().seqcast_recurrent_forward(args))
        ctx.set_materialize_grads(False)
        if cell not in _LSTMS:
            ctx.mark_non_differentiable(c)
        if training:
            ctx.save_for_backward(kept, w_ih, w_hh, w_ch, gamma, c0)
            ctx.dims, ctx.cell, ctx.has_b_hh = (B, T, I, H, Bp), cell, b_hh is not None
            # the outputs h_t are rows I.. of [x_t; h_{t-1}] at blocks 1..T
            return kept.as_strided((B, T, H), (1, Bp, (T + 1) * Bp), I * (T + 1) * Bp + Bp), h, c
        return kept.as_strided((B, T, H), (1, Bp, T * Bp)), h, c

    @staticmethod
    @once_differentiable  # the C code's gradients have no graph of their own
    def backward(ctx, dy, dh, dc):
        kept, w_ih, w_hh, w_ch, gamma, c0 = ctx.saved_tensors
        (B, T, I, H, Bp), cell, need = ctx.dims, ctx.cell, ctx.needs_input_grad
        n_xh, n_act, _ = _kept(cell, T, I, H, Bp)
        G = GATES[cell] * H
        # dw_ih, dw_hh, db_ih, db_hh, dw_ch, dgamma, dbeta, dh0, dc0 in one buffer
        sizes = [G * I, G * H, G, G, 3 * H, H, H, B * H, B * H]
        offsets = [sum(sizes[:i]) for i in range(len(sizes) + 1)]
        grads = kept.new_empty(offsets[-1])
        dx = kept.new_empty(I * T * Bp) if need[3] else None  # feature-major, as the outputs
        # held in variables: the struct only has their addresses
        dh = None if dh is None else dh.contiguous()
        dc = None if dc is None or cell not in _LSTMS else dc.contiguous()
        g, base = grads.data_ptr(), kept.data_ptr()
        at = [g + 4 * o for o in offsets]
        args = RecurrentBackward(
            cell=cell, T=T, B=B, I=I, H=H, dy=ptr(dy), dy_strides=strides(dy), dhT=ptr(dh),
            dcT=ptr(dc), w_ih=w_ih.data_ptr(), w_hh=w_hh.data_ptr(), w_ch=ptr(w_ch),
            gamma=ptr(gamma), xh=base, act=base + 4 * n_xh if n_act else None,
            cs=base + 4 * (n_xh + n_act) if cell in _LSTMS else None, c0=ptr(c0),
            dw_ih=at[0], dw_hh=at[1], db_ih=at[2], db_hh=at[3],
            dw_ch=at[4] if w_ch is not None and need[10] else None, dgamma=at[5], dbeta=at[6],
            dx=ptr(dx), dx_strides=(1, Bp, T * Bp), dh0=at[7] if need[4] else None,
            dc0=at[8] if need[5] else None)
        _status(library().seqcast_recurrent_backward(args))

        def view(i, shape):
            return grads.as_strided(shape, (shape[1], 1) if len(shape) == 2 else (1,), offsets[i])

        # the Elman RNN's and the LSTMs' two biases are one sum: the same gradient
        db_hh = view(3 if cell == Cell.GRU else 2, (G,)) if ctx.has_b_hh and need[9] else None
        return (None, None, None,
                None if dx is None else dx.as_strided((B, T, I), (1, Bp, T * Bp)),
                view(7, (B, H)) if need[4] else None, view(8, (B, H)) if need[5] else None,
                view(0, (G, I)), view(1, (G, H)), view(2, (G,)), db_hh,
                view(4, (3, H)) if w_ch is not None and need[10] else None,
                view(5, (H,)) if need[11] else None, view(6, (H,)) if need[12] else None)


def sequence(cell: Cell, x: Tensor, h0: Tensor | None, c0: Tensor | None, w_ih: Tensor,
             w_hh: Tensor, b_ih: Tensor, b_hh: Tensor | None = None, w_ch: Tensor | None = None,
             gamma: Tensor | None = None, beta: Tensor | None = None,
             eps: float = 0.0) -> tuple[Tensor, Tensor, Tensor]:
    """One recurrent layer over x (B, T, I) from h0 (and the LSTMs' c0), each (B, H) or None
    for zeros; weights in torch.nn's layout. Returns outputs (B, T, H), the final h (B, H)
    and the LSTMs' final c (B, H) (empty for the other cells). Arguments are checked first
    (``check``): a wrong shape, dtype or device raises, it never reaches C."""
    check(cell, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_ch, gamma, beta)
    return _Recurrent.apply(cell, torch.is_grad_enabled(), float(eps), x, h0, c0, w_ih, w_hh,
                            b_ih, b_hh, w_ch, gamma, beta)


_NEEDS = {Cell.GRU: ("bias_hh",), Cell.LN_RNN_TANH: ("gamma", "beta"),
          Cell.PEEPHOLE_LSTM: ("weight_ch",)}


def check(cell: Cell, x: Tensor, h0, c0, w_ih, w_hh, b_ih, b_hh=None, w_ch=None, gamma=None,
          beta=None) -> None:
    """Raise unless every tensor has the shape, dtype (float32) and device (the CPU) that
    the C kernel will read: its last line of defence, after the layer's own checks. (Called
    at every step of training: kept to a few microseconds.)"""
    if cell not in GATES:
        raise ValueError(f"unknown cell {cell!r}; valid: {', '.join(c.name for c in GATES)}")
    if x.dim() != 3 or x.shape[0] < 1 or x.shape[1] < 1:
        raise ValueError(f"the C kernel needs a non-empty (B, T, I) input, got {tuple(x.shape)}")
    (B, _, I), H = x.shape, w_hh.shape[-1]
    G = GATES[cell] * H
    any_dtype = torch.is_autocast_enabled("cpu")  # the kernels cast to float32 then
    for name, t, shape in (("x", x, x.shape), ("weight_ih", w_ih, (G, I)), ("weight_hh", w_hh, (G, H)),
                           ("bias_ih", b_ih, (G,)), ("bias_hh", b_hh, (G,)),
                           ("weight_ch", w_ch, (3, H)), ("gamma", gamma, (H,)), ("beta", beta, (H,)),
                           ("h0", h0, (B, H)), ("c0", c0, (B, H))):
        if t is None:
            if name in _NEEDS.get(cell, ()):
                raise ValueError(f"the C kernel for {cell.name} needs {name}")
        elif t.shape != shape or (t.dtype != torch.float32 and not any_dtype) or not t.is_cpu:
            if t.shape != shape:
                raise ValueError(f"{name} has shape {tuple(t.shape)}, expected {shape}")
            if not t.is_cpu:
                raise ValueError(f"{name} is on {t.device}; the C kernels run on the CPU")
            raise TypeError(f"{name} must have the type torch.float32, got type {t.dtype}")
