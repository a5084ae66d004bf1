"""WaveNet's gated residual stack, and the chapter's simple WaveNet's stack of causal ReLU
convolutions, on the CPU through the C kernels of ``csrc/wavenet.c``.

A small WaveNet's training step is hundreds of small tensor operations (per layer: the
taps' products, the gate, the 1x1's residual and skip parts, and as many again backward),
each costing microseconds of dispatch. Here one C call runs the whole stack forward and one
backward, weight gradients included, on feature-major activations: each channel a row of
(step, batch row) columns, so vectors run over batch rows and steps alike and one series
fills them as well as many. ``residual_stack`` and ``conv_stack`` equal the layers' own
computation to float precision (tests/test_conv.py).
"""

from __future__ import annotations

import ctypes

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from .kernels import _float32
from .mulaw import mu_law_decode
from .native import library

HEADS = ("dense", "mulaw")  # the C code's HEAD_DENSE, HEAD_MULAW


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
    @once_differentiable  # the C code's gradients have no graph of their own
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
        C, dil = (ctypes.c_int * (L + 1))(*channels), (ctypes.c_int * L)(*dilations)
        status = lib.seqcast_convs_forward(
            L, C, kernel_size, dil, T, B, P, _pointers(ws[:L]), _pointers(ws[L:]), x.data_ptr(),
            *x.stride(), hs.data_ptr(), int(training))
        if status:
            raise MemoryError("the convolution kernel could not allocate its scratch memory")
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
        status = library().seqcast_convs_backward(
            L, (ctypes.c_int * (L + 1))(*channels), K, (ctypes.c_int * L)(*dilations), T, B, P,
            _pointers(ws), dy.data_ptr(), *dy.stride(), hs.data_ptr(),
            None if dx is None else dx.data_ptr(), *(dx.stride() if dx is not None else (0, 0, 0)),
            _pointers(dw), _pointers(db))
        if status:
            raise MemoryError("the convolution kernel could not allocate its scratch memory")
        return (dx, None, None, None, *dw, *db)


def convs_available(x: Tensor, convs) -> bool:
    """Whether the C kernels can run this stack of causal ``Conv1d``s: stride 1, one kernel
    size, biases, float32 on the CPU, kernels built here."""
    if x.device.type != "cpu" or x.dtype != torch.float32 or not len(convs):
        return False
    if library() is None or x.shape[0] == 0 or x.shape[1] == 0:
        return False
    first = convs[0]
    return all(conv.padding == "causal" and conv.stride == 1 and conv.bias is not None
               and conv.kernel_size == first.kernel_size and conv.backend != "torch"
               and conv.weight.dtype == torch.float32 for conv in convs)


def conv_stack(x: Tensor, convs) -> Tensor:
    """ReLU(conv(...ReLU(conv(x)))) for causal stride-1 ``Conv1d``s, (B, T, C_in) ->
    (B, T, C_out); a view of feature-major storage."""
    weights = [conv.weight for conv in convs] + [conv.bias for conv in convs]
    return _Convs.apply(x, [conv.dilation for conv in convs], convs[0].kernel_size,
                        torch.is_grad_enabled(), *weights)


def generation_available(model, history: Tensor) -> bool:
    """Whether ``generate`` can run this full WaveNet's steps in C (either head): float32
    on the CPU, one input channel, one kernel size, kernels built here."""
    post = list(model.post)
    return (history.device.type == "cpu" and history.dtype == torch.float32
            and model.head in HEADS and model.input_conv.in_channels == 1
            and available(history, model.layers)
            and model.input_conv.kernel_size == model.layers[0].conv.kernel_size
            and model.input_conv.bias is not None and len(post) == 4
            and isinstance(post[0], torch.nn.ReLU) and isinstance(post[2], torch.nn.ReLU)
            and all(isinstance(p, torch.nn.Linear) and p.bias is not None for p in post[1::2]))


def generate(model, queues, first: Tensor, steps: int, temperature: float = 1.0,
             uniforms: Tensor | None = None) -> Tensor:
    """``steps`` fed-back values (B, steps) of a full WaveNet from ``first`` (B, 1), the value
    that follows the history, whose ring buffers ``queues`` (``ConvQueue``s of the input
    convolution and of each layer, as ``_run`` makes them) advance in place.

    The dense head feeds back its first output. The mu-law head draws class k from
    softmax(logits / temperature) at ``uniforms`` (B, steps) (column i for value i; column 0
    is ``first``'s) as ``sample_mulaw`` does, and feeds back its decoded amplitude."""
    mulaw = model.head == "mulaw"
    if mulaw and (uniforms is None or uniforms.shape != (first.shape[0], steps)
                  or uniforms.dtype != torch.float32 or uniforms.device != first.device):
        raise ValueError(f"the mu-law head needs uniforms (B, steps) = ({first.shape[0]}, {steps}),"
                         f" float32 on {first.device}")
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    layers, (_, lin1, _, lin2) = model.layers, list(model.post)
    B, R = first.shape[0], layers[0].channels
    # Held in variables: the C code reads them after the lines that make them
    w_conv = [layer.conv.weight.detach().contiguous() for layer in layers]
    b_conv = [layer.conv.bias.detach().contiguous() for layer in layers]
    w_out = [layer.out.weight.detach().contiguous() for layer in layers]
    b_out = [layer.out.bias.detach().contiguous() for layer in layers]
    head = [t.detach().contiguous() for t in (lin1.weight, lin1.bias, lin2.weight, lin2.bias)]
    w_in, b_in = model.input_conv.weight.detach().contiguous(), model.input_conv.bias.detach()
    buffers = [q.buffer if q.size else None for q in queues]
    if any(b is not None and not b.is_contiguous() for b in buffers):
        raise RuntimeError("generation needs contiguous queue buffers")
    table = mu_law_decode(torch.arange(lin2.out_features), lin2.out_features)  # (O,) amplitudes
    values = first.new_empty(B, steps)
    values[:, 0] = first[:, 0]
    status = library().seqcast_wavenet_generate(
        len(layers), R, layers[0].out.out_features - R, layers[0].conv.kernel_size,
        (ctypes.c_int * len(layers))(*[layer.conv.dilation for layer in layers]),
        model.input_conv.dilation, B, steps, queues[0].t, w_in.data_ptr(), b_in.data_ptr(),
        None if buffers[0] is None else buffers[0].data_ptr(), _pointers(w_conv),
        _pointers(b_conv), _pointers(w_out), _pointers(b_out),
        (ctypes.c_void_p * len(layers))(*[None if b is None else b.data_ptr() for b in buffers[1:]]),
        lin1.out_features, head[0].data_ptr(), head[1].data_ptr(), lin2.out_features,
        head[2].data_ptr(), head[3].data_ptr(), values.data_ptr(), HEADS.index(model.head),
        float(temperature), uniforms.contiguous().data_ptr() if mulaw else None,
        table.data_ptr() if mulaw else None)
    if status:
        raise MemoryError("the WaveNet kernel could not allocate its scratch memory")
    for q in queues:
        q.t += steps - 1
    return values
