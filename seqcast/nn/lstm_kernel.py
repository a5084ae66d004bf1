"""The LSTM, with or without peepholes, on the CPU through the C kernels of ``csrc/lstm.c``.

One C call runs a whole layer over all time steps, forward or backward, where oneDNN's LSTM
(what ``torch.lstm`` uses on the CPU) pays per-call setup and the peephole cell would
otherwise run a TorchScript loop of small ops. The kernels keep everything feature-major
with the batch along the vector lanes (padded to a multiple of ``seqcast_lanes()``), and the
layer's outputs and input gradients are views of that storage, which the next layer's
kernel reads as they are; the weight gradients are computed there too, as one product over
all steps. ``lstm_sequence`` equals ``torch.lstm`` to float precision and the
peephole variant equals the peephole cell's ``step`` (tests/test_kernels.py).
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from .kernels import _float32
from .native import library
from .native import pointer as _ptr


def _kept_sizes(T: int, I: int, H: int, Bp: int) -> tuple[int, int, int]:
    """Elements of what the forward pass keeps for backward, in one buffer: [x_t; h_{t-1}]
    (I + H, T + 1, Bp), the gates (T, 4H, Bp), the cell states (T, H, Bp)."""
    return (I + H) * (T + 1) * Bp, 4 * H * T * Bp, H * T * Bp


class _LSTM(torch.autograd.Function):
    # Few tensor operations per call: in a training step each costs microseconds. One buffer
    # holds what backward needs, the outputs are a view of it, biases are summed and zero
    # states made in C, and gradients of unused outputs are not materialized.

    @staticmethod
    @_float32
    def forward(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_ch, grad_enabled):
        (B, T, I), H = x.shape, w_hh.shape[1]
        lanes = library().lanes
        Bp = -(-B // lanes) * lanes
        # Held in variables: the C code reads them after the lines that make them
        w_ih, w_hh, b_ih = w_ih.contiguous(), w_hh.contiguous(), b_ih.contiguous()
        b_hh = None if b_hh is None else b_hh.contiguous()
        w_ch = None if w_ch is None else w_ch.contiguous()
        h0 = None if h0 is None else h0.contiguous()
        c0 = None if c0 is None else c0.contiguous()
        # forward runs with gradients off: whether they were on comes from the caller
        training = grad_enabled and any(ctx.needs_input_grad)
        sizes = _kept_sizes(T, I, H, Bp) if training else (0, 0, 0)
        # feature-major, the batch padded to Bp (see csrc/common.h); without training, the outputs
        kept = x.new_empty(sum(sizes) if training else H * T * Bp)
        h, c = x.new_empty(B, H), x.new_empty(B, H)
        base = kept.data_ptr()
        xh, act, cs = ((base, base + 4 * sizes[0], base + 4 * (sizes[0] + sizes[1]))
                       if training else (None, None, None))
        status = library().seqcast_lstm_forward(
            T, B, I, H, x.data_ptr(), *x.stride(), w_ih.data_ptr(), w_hh.data_ptr(),
            b_ih.data_ptr(), _ptr(b_hh), _ptr(w_ch), _ptr(h0), _ptr(c0),
            None if training else base, h.data_ptr(), c.data_ptr(), xh, act, cs)
        if status:
            raise MemoryError("the LSTM kernel could not allocate its scratch memory")
        ctx.set_materialize_grads(False)
        if training:
            ctx.save_for_backward(kept, w_ih, w_hh, w_ch, c0)
            ctx.dims, ctx.has_b_hh = (B, T, I, H, Bp), b_hh is not None
            # the outputs h_t are rows I.. of [x_t; h_{t-1}] at blocks 1..T
            return kept.as_strided((B, T, H), (1, Bp, (T + 1) * Bp), I * (T + 1) * Bp + Bp), h, c
        return kept.as_strided((B, T, H), (1, Bp, T * Bp)), h, c

    @staticmethod
    @once_differentiable  # the C code's gradients have no graph of their own
    def backward(ctx, dy, dh, dc):
        kept, w_ih, w_hh, w_ch, c0 = ctx.saved_tensors
        B, T, I, H = ctx.dims[:4]
        Bp, G, need = ctx.dims[4], 4 * ctx.dims[3], ctx.needs_input_grad
        sizes = _kept_sizes(T, I, H, Bp)
        base = kept.data_ptr()
        n_wc = 3 * H if w_ch is not None and need[7] else 0
        # dw_ih, dw_hh, db, dh0, dc0, dw_ch in one buffer
        offsets = [0, G * I, G * (I + H), G * (I + H + 1), G * (I + H + 1) + B * H,
                   G * (I + H + 1) + 2 * B * H]
        grads = kept.new_empty(offsets[5] + n_wc)
        dx = kept.new_empty(I * T * Bp) if need[0] else None  # feature-major, as the outputs
        # Held in variables: the C code reads them after the lines that make them
        dh = None if dh is None else dh.contiguous()
        dc = None if dc is None else dc.contiguous()
        g = grads.data_ptr()
        status = library().seqcast_lstm_backward(
            T, B, I, H, _ptr(dy), *(dy.stride() if dy is not None else (0, 0, 0)), _ptr(dh),
            _ptr(dc), w_ih.data_ptr(), w_hh.data_ptr(), _ptr(w_ch), base,
            base + 4 * sizes[0], base + 4 * (sizes[0] + sizes[1]), _ptr(c0), g,
            g + 4 * offsets[1], g + 4 * offsets[2], g + 4 * offsets[5] if n_wc else None,
            _ptr(dx), 1, Bp, T * Bp, g + 4 * offsets[3] if need[1] else None,
            g + 4 * offsets[4] if need[2] else None)
        if status:
            raise MemoryError("the LSTM kernel could not allocate its scratch memory")
        db = grads.as_strided((G,), (1,), offsets[2])
        return (None if dx is None else dx.as_strided((B, T, I), (1, Bp, T * Bp)),
                grads.as_strided((B, H), (H, 1), offsets[3]) if need[1] else None,
                grads.as_strided((B, H), (H, 1), offsets[4]) if need[2] else None,
                grads.as_strided((G, I), (I, 1)), grads.as_strided((G, H), (H, 1), offsets[1]),
                db, db if ctx.has_b_hh and need[6] else None,
                grads.as_strided((3, H), (H, 1), offsets[5]) if n_wc else None, None)


def available(x: Tensor, *weights: Tensor) -> bool:
    """Whether the C kernel can run these tensors: float32 on the CPU, kernels built here."""
    return (x.device.type == "cpu" and x.dtype == torch.float32
            and all(w.dtype == torch.float32 for w in weights) and x.shape[0] > 0 and x.shape[1] > 0
            and library() is not None)


def lstm_sequence(x: Tensor, state: tuple[Tensor, Tensor] | None, w_ih: Tensor, w_hh: Tensor,
                  b_ih: Tensor, b_hh: Tensor | None = None,
                  w_ch: Tensor | None = None) -> tuple[Tensor, tuple[Tensor, Tensor]]:
    """LSTM over (B, T, I) from ``state`` (h0, c0), each (B, H), or zeros for None; weights
    in torch.nn's layout (gates i, f, g, o): outputs (B, T, H) and the final (h, c). With
    ``w_ch`` (3, H), the peephole LSTM: gates i and f also see c_{t-1}, gate o sees c_t."""
    h0, c0 = (None, None) if state is None else state
    outputs, h, c = _LSTM.apply(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_ch,
                                torch.is_grad_enabled())
    return outputs, (h, c)
