"""The LSTM, with or without peepholes, on the CPU through the C kernels of ``native.c``.

One C call runs a whole layer over all time steps, forward or backward, where oneDNN's LSTM
(what ``torch.lstm`` uses on the CPU) pays per-call setup and the peephole cell would
otherwise run a TorchScript loop of small ops. The kernels keep everything feature-major
with the batch along the vector lanes (padded to a multiple of ``seqcast_lanes()``), and the
layer's outputs and input gradients are views of that storage, which the next layer's
kernel reads as they are. The one matrix product left to PyTorch is the weight gradient,
over all steps at once. ``lstm_sequence`` equals ``torch.lstm`` to float precision and the
peephole variant equals the peephole cell's ``step`` (tests/test_kernels.py).
"""

from __future__ import annotations

import torch
from torch import Tensor

from .kernels import _float32
from .native import library


def _ptr(t: Tensor | None) -> int | None:
    return None if t is None else t.data_ptr()


class _LSTM(torch.autograd.Function):
    @staticmethod
    @_float32
    def forward(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_ch):
        lib = library()
        (B, T, I), H = x.shape, h0.shape[1]
        lanes = lib.seqcast_lanes()
        Bp = -(-B // lanes) * lanes
        bias = (b_ih if b_hh is None else b_ih + b_hh).contiguous()
        # Held here: the C code reads these after the lines that make them
        h0, c0, w_ih, w_hh = h0.contiguous(), c0.contiguous(), w_ih.contiguous(), w_hh.contiguous()
        w_ch = None if w_ch is None else w_ch.contiguous()
        h, c = x.new_empty(B, H), x.new_empty(B, H)
        training = any(ctx.needs_input_grad)
        # Feature-major, the batch padded to Bp (see native.c): when training, what backward
        # needs, [x_t; h_{t-1}] (whose rows I.. hold the outputs), the gates and the cell
        # states; otherwise only the outputs
        xh, act, cs, hs = ((x.new_empty(I + H, T + 1, Bp), x.new_empty(T, 4 * H, Bp),
                            x.new_empty(T, H, Bp), None) if training else
                           (None, None, None, x.new_empty(H, T, Bp)))
        status = lib.seqcast_lstm_forward(
            T, B, I, H, x.data_ptr(), *x.stride(), w_ih.data_ptr(), w_hh.data_ptr(),
            bias.data_ptr(), _ptr(w_ch), h0.data_ptr(), c0.data_ptr(), _ptr(hs), h.data_ptr(),
            c.data_ptr(), _ptr(xh), _ptr(act), _ptr(cs))
        if status:
            raise MemoryError("the LSTM kernel could not allocate its scratch memory")
        if training:
            ctx.save_for_backward(c0, w_ih, w_hh, w_ch, xh, act, cs)
            ctx.has_b_hh = b_hh is not None
            hs = xh[I:, 1:]
        # (B, T, H) views: the next layer's kernel reads them as they are
        return hs[:, :, :B].permute(2, 1, 0), h, c

    @staticmethod
    def backward(ctx, dy, dh, dc):
        c0, w_ih, w_hh, w_ch, xh, act, cs = ctx.saved_tensors
        K, T1, Bp = xh.shape
        T, B, H = act.shape[0], c0.shape[0], c0.shape[1]
        I = K - H
        need = ctx.needs_input_grad
        dh, dc = dh.contiguous(), dc.contiguous()
        dz, db = act.new_empty(4 * H, T * Bp), act.new_empty(4 * H)
        dh0, dc0 = c0.new_empty(B, H), c0.new_empty(B, H)
        dw_ch = act.new_empty(3, H) if w_ch is not None and need[7] else None
        dx = act.new_empty(I, T, Bp) if need[0] else None  # feature-major, as the outputs
        status = library().seqcast_lstm_backward(
            T, B, I, H, dy.data_ptr(), *dy.stride(), dh.data_ptr(), dc.data_ptr(),
            w_ih.data_ptr(), w_hh.data_ptr(), _ptr(w_ch), act.data_ptr(), cs.data_ptr(),
            c0.data_ptr(), dz.data_ptr(), db.data_ptr(), _ptr(dw_ch), _ptr(dx), 1, Bp, T * Bp,
            dh0.data_ptr(), dc0.data_ptr())
        if status:
            raise MemoryError("the LSTM kernel could not allocate its scratch memory")
        # both weight gradients in one product over all steps: dz [x; h_prev]^T
        rows = xh.as_strided((K, T * Bp), (T1 * Bp, 1))
        d_w = torch.mm(dz, rows.t())
        d_b_hh = db if ctx.has_b_hh and need[6] else None
        dx = None if dx is None else dx[:, :, :B].permute(2, 1, 0)
        return dx, dh0, dc0, d_w[:, :I], d_w[:, I:], db, d_b_hh, dw_ch


def available(x: Tensor, *weights: Tensor) -> bool:
    """Whether the C kernel can run these tensors: float32 on the CPU, kernels built here."""
    return (x.device.type == "cpu" and x.dtype == torch.float32
            and all(w.dtype == torch.float32 for w in weights) and x.shape[0] > 0 and x.shape[1] > 0
            and library() is not None)


def lstm_sequence(x: Tensor, state: tuple[Tensor, Tensor], w_ih: Tensor, w_hh: Tensor,
                  b_ih: Tensor, b_hh: Tensor | None = None,
                  w_ch: Tensor | None = None) -> tuple[Tensor, tuple[Tensor, Tensor]]:
    """LSTM over (B, T, I) from ``state`` (h0, c0), each (B, H), weights in torch.nn's layout
    (gates i, f, g, o): outputs (B, T, H) and the final (h, c). With ``w_ch`` (3, H), the
    peephole LSTM: gates i and f also see c_{t-1}, gate o sees c_t."""
    outputs, h, c = _LSTM.apply(x, state[0], state[1], w_ih, w_hh, b_ih, b_hh, w_ch)
    return outputs, (h, c)
