"""WaveNet's gated residual stack and the chapter's simple WaveNet's stack of causal ReLU
convolutions, on the CPU through the C kernels of ``csrc/wavenet.c`` (generation:
``generation.py``).

A small WaveNet's training step is hundreds of small tensor operations (per layer: the
taps' products, the gate, the 1x1's residual and skip parts, and as many again backward),
each costing microseconds of dispatch. Here one C call runs the whole stack forward and one
backward, weight gradients included, on feature-major activations: each channel a row of
(step, batch row) columns, so vectors run over batch rows and steps alike and one series
fills them as well as many. ``residual_stack`` and ``conv_stack`` equal the layers' own
computation to float precision (tests/test_conv.py). The ``*_reason`` functions say why a
stack cannot run here (None when it can); the selector calls them before any tensor is
handed to C.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from .build import library
from .structs import (
    ConvsBackward,
    ConvsForward,
    Status,
    WavenetBackward,
    WavenetForward,
    addresses,
    int64s,
    ptr,
    strides,
)

_float32 = torch.amp.custom_fwd(device_type="cpu", cast_inputs=torch.float32)


def _status(code: int, what: str) -> None:
    if code == Status.NO_MEMORY:
        raise MemoryError(f"the {what} C kernel could not allocate its scratch memory")
    if code != Status.OK:
        raise ValueError(f"the {what} C kernel refused its arguments (a size out of range)")


def _input_reason(x: Tensor, channels: int, params) -> str | None:
    """Why the C kernels cannot take input ``x`` (B, T, channels) with these parameters."""
    if library() is None:
        return "the C kernels could not be built here"
    if not x.is_cpu or not all(p.is_cpu for p in params):
        return "the C kernels run on the CPU"
    if x.dtype != torch.float32 and not torch.is_autocast_enabled("cpu"):
        return f"the C kernels need float32 inputs, got {x.dtype}"
    if any(p.dtype != torch.float32 for p in params):
        return "the C kernels need float32 parameters"
    if x.dim() != 3 or x.shape[0] < 1 or x.shape[1] < 1 or x.shape[2] != channels:
        return f"expected a non-empty (B, T, {channels}) input, got {tuple(x.shape)}"
    return None


def stack_reason(h: Tensor, layers, cond: Tensor | None = None) -> str | None:
    """Why ``residual_stack`` cannot run these ``ResidualLayer``s on ``h`` (with the gate
    biases ``cond``, where given), or None."""
    if not len(layers):
        return "no layers"
    first = layers[0]
    K, C, O = first.conv.kernel_size, first.channels, first.out.out_features
    params = []
    for layer in layers:  # attributes, not .parameters(): that walk cost ~10 us a layer
        conv, out = layer.conv, layer.out
        conv_b, out_b = conv.bias, out.bias
        if (conv.kernel_size != K or layer.channels != C or out.out_features != O
                or conv_b is None or out_b is None):
            return "the C stack needs one kernel size, one width and biases in every layer"
        # the shapes C reads, from the tensors themselves (a weight resized in place after
        # construction must not reach C with the attributes' sizes)
        if (conv.weight.shape != (2 * C, C, K) or conv_b.shape != (2 * C,)
                or out.weight.shape != (O, C) or out_b.shape != (O,)):
            return "a layer's weights do not have the shapes its sizes give"
        params += (conv.weight, conv_b, out.weight, out_b)
    if cond is not None:
        if tuple(cond.shape) != (h.shape[0], len(layers), 2 * C):
            return (f"the gate biases must be (B, layers, 2C) = ({h.shape[0]}, {len(layers)}, "
                    f"{2 * C}), got {tuple(cond.shape)}")
        params.append(cond)
    return _input_reason(h, C, params)


class _Stack(torch.autograd.Function):
    @staticmethod
    @_float32
    def forward(ctx, h0, dilations, kernel_size, skip_channels, grad_enabled, cond, *weights):
        lib = library()
        (B, T, C), L, S, K = h0.shape, len(dilations), skip_channels, kernel_size
        # columns t B + b, whole vectors; the causal zero padding in front
        N, P = -(-T * B // lib.lanes) * lib.lanes, (K - 1) * max(dilations) * B
        ws = [w.contiguous() for w in weights]  # conv weights, conv biases, 1x1 weights, biases
        cond = None if cond is None else cond.contiguous()  # (B, L, 2C) gate biases per row
        training = grad_enabled and any(ctx.needs_input_grad)
        hs = h0.new_empty((L + 1 if training else 2) * C * (P + N))
        gates = h0.new_empty((L if training else 1) * 2 * C * N)
        skips = h0.new_empty(S * N)
        parts = [addresses(ws[i * L:(i + 1) * L]) for i in range(4)]  # held through the call
        args = WavenetForward(
            L=L, C=C, S=S, K=K, T=T, B=B, P=P, dilations=int64s(dilations), w_conv=parts[0],
            b_conv=parts[1], w_out=parts[2], b_out=parts[3], x=h0.data_ptr(),
            x_strides=strides(h0), hs=hs.data_ptr(), gates=gates.data_ptr(),
            skips=skips.data_ptr(), training=int(training), b_rows=ptr(cond))
        _status(lib.seqcast_wavenet_forward(args), "WaveNet")
        if training:
            ctx.save_for_backward(hs, gates, *ws[:L], *ws[2 * L:3 * L])
            ctx.dims = (L, C, S, K, T, B, P, tuple(dilations))
            ctx.conditioned = cond is not None
        return skips.as_strided((B, T, S), (1, B, N))  # feature-major

    @staticmethod
    @once_differentiable  # the C code's gradients have no graph of their own
    def backward(ctx, dy):
        hs, gates, *ws = ctx.saved_tensors
        L, C, S, K, T, B, P, dilations = ctx.dims
        w_conv, w_out = ws[:L], ws[L:]
        d_conv = [torch.empty_like(w) for w in w_conv]
        d_out = [torch.empty_like(w) for w in w_out]
        db_conv = [w.new_empty(2 * C) for w in w_conv]
        db_out = [w.new_empty(C + S) for w in w_out]
        dx = hs.new_empty(T, B, C).transpose(0, 1) if ctx.needs_input_grad[0] else None
        d_cond = hs.new_empty(B, L, 2 * C) if ctx.conditioned and ctx.needs_input_grad[5] else None
        arrays = [addresses(t) for t in (w_conv, w_out, d_conv, db_conv, d_out, db_out)]
        args = WavenetBackward(
            L=L, C=C, S=S, K=K, T=T, B=B, P=P, dilations=int64s(dilations), w_conv=arrays[0],
            w_out=arrays[1], dy=dy.data_ptr(), dy_strides=strides(dy), hs=hs.data_ptr(),
            gates=gates.data_ptr(), dx=ptr(dx), dx_strides=strides(dx), dw_conv=arrays[2],
            db_conv=arrays[3], dw_out=arrays[4], db_out=arrays[5], db_rows=ptr(d_cond))
        _status(library().seqcast_wavenet_backward(args), "WaveNet")
        return (dx, None, None, None, None, d_cond, *d_conv, *db_conv, *d_out, *db_out)


def residual_stack(h: Tensor, layers, cond: Tensor | None = None) -> Tensor:
    """The skip sum (B, T, S) of WaveNet ``ResidualLayer``s run in order on ``h`` (B, T, C),
    all skip biases included; a view of feature-major storage. ``cond`` (B, L, 2C), where
    given, is added to layer l's gate pre-activations (filter | gate) of batch row b at
    every step: global conditioning."""
    reason = stack_reason(h, layers, cond)
    if reason is not None:
        raise ValueError(reason)
    return residual_stack_checked(h, layers, cond)


def residual_stack_checked(h: Tensor, layers, cond: Tensor | None = None) -> Tensor:
    """``residual_stack`` for a caller that has just had None from ``stack_reason``."""
    first = layers[0]
    weights = ([layer.conv.weight for layer in layers] + [layer.conv.bias for layer in layers]
               + [layer.out.weight for layer in layers] + [layer.out.bias for layer in layers])
    return _Stack.apply(h, [layer.conv.dilation for layer in layers], first.conv.kernel_size,
                        first.out.out_features - first.channels, torch.is_grad_enabled(), cond,
                        *weights)


def convs_reason(x: Tensor, convs) -> str | None:
    """Why ``conv_stack`` cannot run these ``Conv1d``s on ``x``, or None."""
    if not len(convs):
        return "no layers"
    K, params, channels = convs[0].kernel_size, [], convs[0].in_channels
    for conv in convs:  # attributes, not .parameters(): that walk cost ~10 us a layer
        bias = conv.bias
        if conv.padding != "causal" or conv.stride != 1 or bias is None or conv.kernel_size != K:
            return "the C stack needs causal stride-1 convolutions of one kernel size with biases"
        if conv.in_channels != channels:
            return "each convolution's input channels must be the previous one's outputs"
        if conv.weight.shape != (conv.out_channels, channels, K) or bias.shape != (conv.out_channels,):
            return "a convolution's weights do not have the shapes its sizes give"
        channels = conv.out_channels
        params += (conv.weight, bias)
    return _input_reason(x, convs[0].in_channels, params)


class _Convs(torch.autograd.Function):
    @staticmethod
    @_float32
    def forward(ctx, x, dilations, kernel_size, grad_enabled, *weights):
        lib = library()
        (B, T, _), L = x.shape, len(dilations)
        channels = [x.shape[2]] + [w.shape[0] for w in weights[:L]]
        N, P = -(-T * B // lib.lanes) * lib.lanes, (kernel_size - 1) * max(dilations) * B
        ws = [w.contiguous() for w in weights]  # held: the C code reads them below
        training = grad_enabled and any(ctx.needs_input_grad)
        rows = sum(channels) if training else 2 * max(channels)
        hs = x.new_empty(rows * (P + N))
        w, b = addresses(ws[:L]), addresses(ws[L:])
        args = ConvsForward(L=L, K=kernel_size, T=T, B=B, P=P, channels=int64s(channels),
                            dilations=int64s(dilations), w=w, b=b, x=x.data_ptr(),
                            x_strides=strides(x), hs=hs.data_ptr(), training=int(training))
        _status(lib.seqcast_convs_forward(args), "convolution")
        last = (sum(channels[:-1]) if training else (L % 2) * max(channels)) * (P + N) + P
        if training:
            ctx.save_for_backward(hs, *ws[:L])
            ctx.dims = (L, kernel_size, T, B, P, tuple(dilations), tuple(channels))
        return hs.as_strided((B, T, channels[-1]), (1, B, P + N), last)  # feature-major

    @staticmethod
    @once_differentiable  # the C code's gradients have no graph of their own
    def backward(ctx, dy):
        hs, *ws = ctx.saved_tensors
        L, K, T, B, P, dilations, channels = ctx.dims
        dw = [torch.empty_like(w) for w in ws]
        db = [w.new_empty(w.shape[0]) for w in ws]
        dx = hs.new_empty(B, T, channels[0]) if ctx.needs_input_grad[0] else None
        arrays = [addresses(t) for t in (ws, dw, db)]
        args = ConvsBackward(L=L, K=K, T=T, B=B, P=P, channels=int64s(channels),
                             dilations=int64s(dilations), w=arrays[0], dy=dy.data_ptr(),
                             dy_strides=strides(dy), hs=hs.data_ptr(), dx=ptr(dx),
                             dx_strides=strides(dx), dw=arrays[1], db=arrays[2])
        _status(library().seqcast_convs_backward(args), "convolution")
        return (dx, None, None, None, *dw, *db)


def conv_stack(x: Tensor, convs) -> Tensor:
    """ReLU(conv(...ReLU(conv(x)))) for causal stride-1 ``Conv1d``s, (B, T, C_in) ->
    (B, T, C_out); a view of feature-major storage."""
    reason = convs_reason(x, convs)
    if reason is not None:
        raise ValueError(reason)
    return conv_stack_checked(x, convs)


def conv_stack_checked(x: Tensor, convs) -> Tensor:
    """``conv_stack`` for a caller that has just had None from ``convs_reason``."""
    weights = [conv.weight for conv in convs] + [conv.bias for conv in convs]
    return _Convs.apply(x, [conv.dilation for conv in convs], convs[0].kernel_size,
                        torch.is_grad_enabled(), *weights)
