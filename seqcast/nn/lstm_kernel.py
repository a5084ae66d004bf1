"""The LSTM, with or without peepholes, on the CPU through the C kernels of ``native.c``.

One C call runs all the time steps of a layer, forward or backward, where oneDNN's LSTM
(what ``torch.lstm`` uses on the CPU) pays per-call setup and the peephole cell would
otherwise run a TorchScript loop of small ops. Input projections and weight gradients stay
single matrix products in PyTorch, as in ``kernels.py``; W_ih's rows are padded so the
projection lands in the kernel's padded layout. ``lstm_sequence`` equals ``torch.lstm`` to
float precision and the peephole variant equals the peephole cell's ``step``
(tests/test_kernels.py).
"""

from __future__ import annotations

import torch
from torch import Tensor

from .kernels import _float32, _project, _weight_grads
from .native import library


def _ptr(t: Tensor | None) -> int | None:
    return None if t is None else t.data_ptr()


def _pad_gates(w: Tensor, H: int, Hp: int) -> Tensor:
    """(4H, ...) -> (4Hp, ...): each gate's rows padded with zeros to the kernel's layout."""
    if Hp == H:
        return w
    out = w.new_zeros(4, Hp, *w.shape[1:])
    out[:, :H] = w.view(4, H, *w.shape[1:])
    return out.view(4 * Hp, *w.shape[1:])


def _unpad_gates(w: Tensor, H: int, Hp: int) -> Tensor:
    """(4Hp, ...) -> (4H, ...), the inverse of ``_pad_gates``."""
    if Hp == H:
        return w
    return w.view(4, Hp, *w.shape[1:])[:, :H].reshape(4 * H, *w.shape[1:])


class _LSTM(torch.autograd.Function):
    @staticmethod
    @_float32
    def forward(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_ch):
        lib = library()
        B, T, H = x.shape[0], x.shape[1], h0.shape[1]
        Hp = lib.seqcast_padded(H)
        bias = b_ih if b_hh is None else b_ih + b_hh
        w_ih_p = _pad_gates(w_ih, H, Hp)
        # (T, B, 4Hp) projections; the kernel turns them into the gate activations in place
        act = _project(x, w_ih_p, _pad_gates(bias, H, Hp))
        # Held here: the C code reads these after the lines that make them
        h0, c0, w_hh = h0.contiguous(), c0.contiguous(), w_hh.contiguous()
        w_ch = None if w_ch is None else w_ch.contiguous()
        hs = act.new_empty(T, B, H)
        h, c = act.new_empty(B, H), act.new_empty(B, H)
        training = any(ctx.needs_input_grad)
        cs = act.new_empty(T, B, Hp) if training else None
        tcs = act.new_empty(T, B, Hp) if training else None
        status = lib.seqcast_lstm_forward(
            T, B, H, act.data_ptr(), w_hh.data_ptr(), _ptr(w_ch), h0.data_ptr(), c0.data_ptr(),
            hs.data_ptr(), _ptr(cs), _ptr(tcs), h.data_ptr(), c.data_ptr())
        if status:
            raise MemoryError("the LSTM kernel could not allocate its scratch memory")
        if training:
            ctx.save_for_backward(x, h0, c0, w_ih_p, w_hh, w_ch, hs, act, cs, tcs)
            ctx.has_b_hh = b_hh is not None
        return hs.transpose(0, 1), h, c

    @staticmethod
    def backward(ctx, dy, dh, dc):
        x, h0, c0, w_ih_p, w_hh, w_ch, hs, act, cs, tcs = ctx.saved_tensors
        T, B, H = hs.shape
        Hp = cs.shape[2]  # act, cs, tcs are in the kernel's padded layout
        dy = dy.transpose(0, 1)  # (T, B, H) view
        if dy.stride(2) != 1:
            dy = dy.contiguous()
        dh, dc = dh.contiguous(), dc.contiguous()
        dz = act.new_empty(T, B, 4 * Hp)
        dh0, dc0 = hs.new_empty(B, H), hs.new_empty(B, H)
        status = library().seqcast_lstm_backward(
            T, B, H, dy.data_ptr(), dy.stride(0), dy.stride(1), dh.data_ptr(), dc.data_ptr(),
            w_hh.data_ptr(), _ptr(w_ch), act.data_ptr(), cs.data_ptr(), tcs.data_ptr(),
            c0.data_ptr(), dz.data_ptr(), dh0.data_ptr(), dc0.data_ptr())
        if status:
            raise MemoryError("the LSTM kernel could not allocate its scratch memory")
        hprev = torch.cat([h0.unsqueeze(0), hs[:-1]])
        d_w_ih, d_w_hh, d_b, dx = _weight_grads(dz, x, hprev, w_ih_p, ctx.needs_input_grad[0])
        d_w_ih, d_w_hh, d_b = (_unpad_gates(g, H, Hp) for g in (d_w_ih, d_w_hh, d_b))
        d_w_ch = None
        if w_ch is not None and ctx.needs_input_grad[7]:
            dzv, cs = dz.view(T, B, 4, Hp)[..., :H], cs[..., :H]
            c_prev = torch.cat([c0.unsqueeze(0), cs[:-1]])
            d_w_ch = torch.stack([(dzv[:, :, 0] * c_prev).sum((0, 1)),
                                  (dzv[:, :, 1] * c_prev).sum((0, 1)),
                                  (dzv[:, :, 3] * cs).sum((0, 1))])
        d_b_hh = d_b if ctx.has_b_hh and ctx.needs_input_grad[6] else None
        return dx, dh0, dc0, d_w_ih, d_w_hh, d_b, d_b_hh, d_w_ch


def available(x: Tensor, *weights: Tensor) -> bool:
    """Whether the C kernel can run these tensors: float32 on the CPU, kernels built here."""
    return (x.device.type == "cpu" and x.dtype == torch.float32
            and all(w.dtype == torch.float32 for w in weights) and x.shape[1] > 0
            and library() is not None)


def lstm_sequence(x: Tensor, state: tuple[Tensor, Tensor], w_ih: Tensor, w_hh: Tensor,
                  b_ih: Tensor, b_hh: Tensor | None = None,
                  w_ch: Tensor | None = None) -> tuple[Tensor, tuple[Tensor, Tensor]]:
    """LSTM over (B, T, I) from ``state`` (h0, c0), each (B, H), weights in torch.nn's layout
    (gates i, f, g, o): outputs (B, T, H) and the final (h, c). With ``w_ch`` (3, H), the
    peephole LSTM: gates i and f also see c_{t-1}, gate o sees c_t."""
    outputs, h, c = _LSTM.apply(x, state[0], state[1], w_ih, w_hh, b_ih, b_hh, w_ch)
    return outputs, (h, c)
