"""The time-major causal convolution kernel behind ``Conv1d(time_major=True)`` and
``Conv1d.split``: WaveNet's dilated causal convolutions as in-place matrix products on
(T, B, C) activations, with its backward pass written out (tests/test_conv.py checks it
with gradcheck and against the batch-first convolution).
"""

from __future__ import annotations

import torch


def _compute_dtype(x: torch.Tensor) -> torch.dtype:
    """What autocast runs matrix products in on ``x``'s device (bf16 under
    ``precision="bf16"``), else ``x``'s dtype. The kernel's in-place and ``out=`` products
    are not autocast themselves, so it casts its operands to this once."""
    kind = x.device.type
    try:
        on = torch.is_autocast_enabled(kind)
        return torch.get_autocast_dtype(kind) if on else x.dtype
    except (TypeError, AttributeError):  # torch < 2.4: per-device functions
        if kind == "cuda":
            return torch.get_autocast_gpu_dtype() if torch.is_autocast_enabled() else x.dtype
        return torch.get_autocast_cpu_dtype() if torch.is_autocast_cpu_enabled() else x.dtype


class _CausalTimeMajor(torch.autograd.Function):
    """Causal dilated convolution on time-major (T, B, C) inputs with no padding or copies.

    In time-major order a shift of s steps is a shift of s*B rows of the (T*B, C) view, so
    tap k (looking back s_k = (K-1-k) * dilation steps) adds ``x[:-s_k*B] @ W_k^T`` into
    ``y[s_k*B:]``: one in-place matrix product per tap, forward and backward. Rows before
    s_k get nothing from tap k, which is exactly causal zero padding.

    The output channels come as ``parts`` separate contiguous tensors (a gated unit's filter
    and gate halves), and the input gradient of all parts is accumulated in one buffer.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, dilation, parts):
        T, B, C = x.shape
        dtype = _compute_dtype(x)
        x, weight = x.to(dtype), weight.to(dtype)
        bias = bias.to(dtype) if bias is not None else None
        taps = weight.permute(2, 0, 1).contiguous()  # (K, C_out, C_in), tap K-1 = step t
        k_last = taps.shape[0] - 1
        flat = x.contiguous().view(T * B, C)
        outs = []
        for j, w in enumerate(taps.chunk(parts, dim=1)):  # (K, C_out / parts, C_in) each
            out = x.new_empty(T, B, w.shape[1])  # not a view: callers may work in place on it
            y = out.view(T * B, -1)
            if bias is not None:
                torch.addmm(bias.chunk(parts)[j], flat, w[k_last].t(), out=y)
            else:
                torch.mm(flat, w[k_last].t(), out=y)
            for k in range(k_last):
                s = (k_last - k) * dilation * B
                if s < T * B:
                    y[s:].addmm_(flat[:-s], w[k].t())
            outs.append(out)
        ctx.save_for_backward(flat, taps)
        ctx.shape, ctx.dilation, ctx.has_bias, ctx.parts = (T, B), dilation, bias is not None, parts
        return tuple(outs)

    @staticmethod
    def backward(ctx, *grads):
        flat, taps = ctx.saved_tensors
        (T, B), k_last = ctx.shape, taps.shape[0] - 1
        grad_taps = torch.zeros_like(taps)
        grad_x, grad_bias = None, []
        for grad, w, gw in zip(grads, taps.chunk(ctx.parts, dim=1),
                               grad_taps.chunk(ctx.parts, dim=1), strict=True):
            g = grad.contiguous().view(T * B, -1)
            if ctx.needs_input_grad[0]:
                grad_x = g @ w[k_last] if grad_x is None else grad_x.addmm_(g, w[k_last])
            torch.mm(g.t(), flat, out=gw[k_last])
            for k in range(k_last):
                s = (k_last - k) * ctx.dilation * B
                if s < T * B:
                    if grad_x is not None:
                        grad_x[:-s].addmm_(g[s:], w[k])
                    torch.mm(g[s:].t(), flat[:-s], out=gw[k])
            if ctx.has_bias:
                grad_bias.append(g.sum(0))
        grad_x = grad_x.view(T, B, -1) if grad_x is not None else None
        grad_bias = torch.cat(grad_bias) if ctx.has_bias else None
        return grad_x, grad_taps.permute(1, 2, 0), grad_bias, None, None
