"""WaveNet's gated residual stack on the CPU through the C kernels of ``native.c``.

A small WaveNet's training step is hundreds of small tensor operations (per layer: the
taps' products, the gate, the 1x1's residual and skip parts, and as many again backward),
each costing microseconds of dispatch. Here one C call runs the whole stack forward and one
backward, weight gradients included, on feature-major activations: each channel a row of
(step, batch row) columns, so vectors run over batch rows and steps alike and one series
fills them as well as many. ``residual_stack`` equals the layers' own computation to float precision
(tests/test_conv.py).
"""

from __future__ import annotations

import ctypes

import torch
from torch import Tensor

from .kernels import _float32
from .native import library


def _pointers(tensors) -> ctypes.Array:
    return (ctypes.c_void_p * len(tensors))(*[t.data_ptr() for t in tensors])


class _Stack(torch.autograd.Function):
    @staticmethod
    @_float32
    def forward(ctx, h0, dilations, kernel_size, skip_channels, grad_enabled, *weights):
        lib = library()
        (B, T, R), L, S, K = h0.shape, len(dilations), skip_channels, kernel_size
        # columns t B + b, whole vectors; the causal zero padding in front
        N, P = -(-T * B // lib.lanes) * lib.lanes, (K - 1) * max(dilations) * B
        # Held in a list: the C code reads them after the line that makes them
        ws = [w.contiguous() for w in weights]  # conv weights, conv biases, 1x1 weights, biases
        training = grad_enabled and any(ctx.needs_input_grad)
        hs = h0.new_empty((L + 1 if training else 2) * R * (P + N))
        gates = h0.new_empty((L if training else 1) * 2 * R * N)
        skips = h0.new_empty(S * N)
        dil = (ctypes.c_int * L)(*dilations)
        status = lib.seqcast_wavenet_forward(
            L, R, S, K, dil, T, B, P, *(_pointers(ws[i * L:(i + 1) * L]) for i in range(4)),
            h0.data_ptr(), *h0.stride(), hs.data_ptr(), gates.data_ptr(), skips.data_ptr(),
            int(training))
        if status:
            raise MemoryError("the WaveNet kernel could not allocate its scratch memory")
        if training:
            ctx.save_for_backward(hs, gates, *ws[:L], *ws[2 * L:3 * L])
            ctx.dims = (L, R, S, K, T, B, P, tuple(dilations))
        return skips.as_strided((B, T, S), (1, B, N))  # feature-major

    @staticmethod
    def backward(ctx, dy):
        hs, gates, *ws = ctx.saved_tensors
        L, R, S, K, T, B, P, dilations = ctx.dims
        w_conv, w_out = ws[:L], ws[L:]
        d_conv = [torch.empty_like(w) for w in w_conv]
        d_out = [torch.empty_like(w) for w in w_out]
        db_conv = [w.new_empty(2 * R) for w in w_conv]
        db_out = [w.new_empty(R + S) for w in w_out]
        dx = hs.new_empty(T, B, R).transpose(0, 1) if ctx.needs_input_grad[0] else None
        status = library().seqcast_wavenet_backward(
            L, R, S, K, (ctypes.c_int * L)(*dilations), T, B, P, _pointers(w_conv),
            _pointers(w_out), dy.data_ptr(), *dy.stride(), hs.data_ptr(), gates.data_ptr(),
            None if dx is None else dx.data_ptr(), *(dx.stride() if dx is not None else (0, 0, 0)),
            _pointers(d_conv), _pointers(db_conv), _pointers(d_out), _pointers(db_out))
        if status:
            raise MemoryError("the WaveNet kernel could not allocate its scratch memory")
        return (dx, None, None, None, None, *d_conv, *db_conv, *d_out, *db_out)


def available(h: Tensor, layers) -> bool:
    """Whether the C kernels can run this stack: float32 on the CPU, one kernel size, one
    skip width, kernels built here."""
    if h.device.type != "cpu" or h.dtype != torch.float32 or not len(layers):
        return False
    if library() is None or h.shape[0] == 0 or h.shape[1] == 0:
        return False
    first = layers[0]
    return all(layer.conv.kernel_size == first.conv.kernel_size and layer.channels == first.channels
               and layer.out.out_features == first.out.out_features
               and layer.conv.bias is not None and layer.out.bias is not None
               and all(p.dtype == torch.float32 for p in layer.parameters())
               for layer in layers)


def residual_stack(h: Tensor, layers) -> Tensor:
    """The skip sum (B, T, S) of WaveNet ``ResidualLayer``s run in order on ``h`` (B, T, R),
    all skip biases included; a view of feature-major storage."""
    first = layers[0]
    weights = ([layer.conv.weight for layer in layers] + [layer.conv.bias for layer in layers]
               + [layer.out.weight for layer in layers] + [layer.out.bias for layer in layers])
    return _Stack.apply(h, [layer.conv.dilation for layer in layers], first.conv.kernel_size,
                        first.out.out_features - first.channels, torch.is_grad_enabled(), *weights)
