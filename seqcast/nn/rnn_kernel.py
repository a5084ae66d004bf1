"""The Elman RNN, the GRU and the chapter's layer-norm SimpleRNN on the CPU through the C
kernels of ``csrc/recurrent.c``.

As for the LSTM (``lstm_kernel.py``): one C call runs a whole layer over all steps, forward
or backward, weight gradients included; the batch runs along the vector lanes and the
outputs are views of the feature-major storage. ``rnn_sequence`` equals ``torch.rnn_tanh``
and ``torch.gru``, and ``ln_rnn_sequence`` the cell's own ``step``, to float precision
(tests/test_kernels.py).
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from .kernels import _float32
from .native import library
from .native import pointer as _ptr

CELLS = {"rnn_tanh": 0, "gru": 1, "ln_rnn_tanh": 2}


def _sizes(cell: int, T: int, I: int, H: int, Bp: int) -> tuple[int, int, int]:
    """Rows of gates per unit, and what training keeps: [x_t; h_{t-1}] (I + H, T + 1, Bp)
    and the cell's own (the GRU's r, z, n, W_hn h + b_hn; the layer norm's output, 1/std)."""
    gates = 3 if cell == 1 else 1
    act = {0: 0, 1: 4 * H, 2: H + 1}[cell] * T * Bp
    return gates, (I + H) * (T + 1) * Bp, act


class _RNN(torch.autograd.Function):
    @staticmethod
    @_float32
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh, gamma, beta, eps, cell, grad_enabled):
        (B, T, I), H = x.shape, w_hh.shape[1]
        lanes = library().lanes
        Bp = -(-B // lanes) * lanes
        # Held in variables: the C code reads them after the lines that make them
        w_ih, w_hh, b_ih = w_ih.contiguous(), w_hh.contiguous(), b_ih.contiguous()
        b_hh, gamma, beta, h0 = (None if t is None else t.contiguous()
                                 for t in (b_hh, gamma, beta, h0))
        training = grad_enabled and any(ctx.needs_input_grad)
        _, n_xh, n_act = _sizes(cell, T, I, H, Bp)
        kept = x.new_empty(n_xh + n_act if training else H * T * Bp)
        h = x.new_empty(B, H)
        base = kept.data_ptr()
        status = library().seqcast_rnn_forward(
            cell, T, B, I, H, x.data_ptr(), *x.stride(), w_ih.data_ptr(), w_hh.data_ptr(),
            b_ih.data_ptr(), _ptr(b_hh), _ptr(gamma), _ptr(beta), eps, _ptr(h0),
            None if training else base, h.data_ptr(), base if training else None,
            base + 4 * n_xh if training and n_act else None)
        if status:
            raise MemoryError("the RNN kernel could not allocate its scratch memory")
        ctx.set_materialize_grads(False)
        if training:
            ctx.save_for_backward(kept, w_ih, w_hh, gamma)
            ctx.dims, ctx.cell, ctx.has_b_hh = (B, T, I, H, Bp), cell, b_hh is not None
            # the outputs h_t are rows I.. of [x_t; h_{t-1}] at blocks 1..T
            return kept.as_strided((B, T, H), (1, Bp, (T + 1) * Bp), I * (T + 1) * Bp + Bp), h
        return kept.as_strided((B, T, H), (1, Bp, T * Bp)), h

    @staticmethod
    @once_differentiable  # the C code's gradients have no graph of their own
    def backward(ctx, dy, dh):
        kept, w_ih, w_hh, gamma = ctx.saved_tensors
        (B, T, I, H, Bp), cell, need = ctx.dims, ctx.cell, ctx.needs_input_grad
        gates, n_xh, n_act = _sizes(cell, T, I, H, Bp)
        G = gates * H
        # dw_ih, dw_hh, db_ih, db_hh (the GRU's) or dgamma (the layer norm's), dbeta, dh0
        offsets = [0, G * I, G * (I + H), G * (I + H + 1), G * (I + H + 2), G * (I + H + 2) + H]
        grads = kept.new_empty(offsets[5] + B * H)
        dx = kept.new_empty(I * T * Bp) if need[0] else None  # feature-major, as the outputs
        dh = None if dh is None else dh.contiguous()  # held: the C code reads it below
        g, base = grads.data_ptr(), kept.data_ptr()
        status = library().seqcast_rnn_backward(
            cell, T, B, I, H, _ptr(dy), *(dy.stride() if dy is not None else (0, 0, 0)),
            _ptr(dh), w_ih.data_ptr(), w_hh.data_ptr(), _ptr(gamma), base,
            base + 4 * n_xh if n_act else None, g, g + 4 * offsets[1], g + 4 * offsets[2],
            g + 4 * offsets[3], g + 4 * offsets[3], g + 4 * offsets[4], _ptr(dx), 1, Bp, T * Bp,
            g + 4 * offsets[5] if need[1] else None)
        if status:
            raise MemoryError("the RNN kernel could not allocate its scratch memory")
        d_w_ih = grads.as_strided((G, I), (I, 1))
        d_w_hh = grads.as_strided((G, H), (H, 1), offsets[1])
        d_b_ih = grads.as_strided((G,), (1,), offsets[2])
        # the Elman RNN's two biases are one sum: the same gradient
        d_b_hh = (grads.as_strided((G,), (1,), offsets[3 if cell == 1 else 2])
                  if ctx.has_b_hh and need[5] else None)
        d_gamma = grads.as_strided((H,), (1,), offsets[3]) if cell == 2 and need[6] else None
        d_beta = grads.as_strided((H,), (1,), offsets[4]) if cell == 2 and need[7] else None
        return (None if dx is None else dx.as_strided((B, T, I), (1, Bp, T * Bp)),
                grads.as_strided((B, H), (H, 1), offsets[5]) if need[1] else None,
                d_w_ih, d_w_hh, d_b_ih, d_b_hh, d_gamma, d_beta, None, None, None)


def rnn_sequence(name: str, x: Tensor, h0: Tensor | None, w_ih: Tensor, w_hh: Tensor,
                 b_ih: Tensor, b_hh: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """``name`` "rnn_tanh" or "gru" over (B, T, I) from h0 (B, H), or zeros for None; weights
    in torch.nn's layout: outputs (B, T, H) and the final state (B, H)."""
    return _RNN.apply(x, h0, w_ih, w_hh, b_ih, b_hh, None, None, 0.0, CELLS[name],
                      torch.is_grad_enabled())


def ln_rnn_sequence(x: Tensor, h0: Tensor | None, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor,
                    gamma: Tensor, beta: Tensor, eps: float) -> tuple[Tensor, Tensor]:
    """The chapter's layer-norm SimpleRNN, h_t = tanh(LN(W_ih x_t + b_ih + W_hh h_{t-1})) with
    the layer norm's gain ``gamma``, offset ``beta`` and ``eps``: outputs (B, T, H) and the
    final state (B, H)."""
    return _RNN.apply(x, h0, w_ih, w_hh, b_ih, None, gamma, beta, float(eps), CELLS["ln_rnn_tanh"],
                      torch.is_grad_enabled())
