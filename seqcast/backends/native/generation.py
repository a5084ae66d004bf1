"""WaveNet generation on the CPU through the C loop of ``csrc/wavenet.c``: every layer of a
step, the head (dense, or mu-law with its softmax draw) and the feedback of each value, for
every step of a forecast, in one call."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ...nn.mulaw import mu_law_decode
from .build import library
from .structs import Head, WavenetGenerate, addresses, int64s, ptr
from .wavenet import _input_reason, _status, stack_reason


def generation_reason(input_conv, layers, head, first: Tensor) -> str | None:
    """Why ``generate`` cannot run: ``head`` must be the dense head's (ReLU, Linear, ReLU,
    Linear) and the input convolution take one channel with the layers' kernel size."""
    if len(head) != 4 or not (isinstance(head[0], nn.ReLU) and isinstance(head[2], nn.ReLU)
                              and all(isinstance(p, nn.Linear) and p.bias is not None
                                      for p in head[1::2])):
        return "the C generation needs the dense head (ReLU, Linear, ReLU, Linear)"
    if input_conv.in_channels != 1 or input_conv.bias is None or not len(layers) or (
            input_conv.kernel_size != layers[0].conv.kernel_size):
        return "the C generation needs one input channel and one kernel size"
    history = first.detach()[:, None, :1] if first.dim() == 2 else first  # (B, 1, 1)
    params = [*input_conv.parameters(), *(p for m in head for p in m.parameters())]
    return stack_reason(torch.zeros(1, 1, layers[0].channels), layers) or _input_reason(
        history, 1, params)


@torch.no_grad()
def generate(input_conv, layers, head, queues, first: Tensor, steps: int,
             temperature: float = 1.0, uniforms: Tensor | None = None) -> Tensor:
    """``steps`` fed-back values (B, steps) from ``first`` (B, 1), the value that follows the
    history; ``queues`` are the ``ConvQueue``s of ``input_conv`` and of each layer after the
    history, advanced in place.

    Without ``uniforms`` the head is a dense head whose first output is fed back. With
    ``uniforms`` (B, steps) it is a mu-law head: value i is the amplitude of the class drawn
    from softmax(logits / temperature) at uniforms[:, i] (``seqcast.nn.mulaw.sample_mulaw``;
    column 0 drew ``first``)."""
    reason = generation_reason(input_conv, layers, head, first)
    if reason is not None:
        raise ValueError(reason)
    mulaw, outputs = uniforms is not None, head[3].out_features
    if mulaw:
        if (tuple(uniforms.shape) != (first.shape[0], steps) or uniforms.dtype != torch.float32
                or uniforms.device.type != "cpu"):
            raise ValueError(f"uniforms must be ({first.shape[0]}, {steps}) float32 on the CPU, "
                             f"got {tuple(uniforms.shape)} {uniforms.dtype} on {uniforms.device}")
        if not temperature > 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        uniforms = uniforms.contiguous()
    table = mu_law_decode(torch.arange(outputs), outputs)  # (O,) each class's amplitude
    if first.dim() != 2 or first.shape[1] != 1 or len(queues) != len(layers) + 1:
        raise ValueError("generate needs first (B, 1) and one queue per convolution")
    B, C = first.shape[0], layers[0].channels
    buffers = [q.buffer.contiguous() if q.size else None for q in queues]
    for i, (q, buf) in enumerate(zip(queues, buffers, strict=True)):
        if buf is not None:
            q.buffer = buf  # advanced in place by the C code
            want = (B, q.size, 1 if i == 0 else C)
            if tuple(buf.shape) != want or buf.dtype != torch.float32 or buf.device.type != "cpu":
                raise ValueError(f"queue {i} holds {tuple(buf.shape)} {buf.dtype} on "
                                 f"{buf.device}, expected {want} float32 on the CPU")
    w_conv = [layer.conv.weight.contiguous() for layer in layers]
    b_conv = [layer.conv.bias.contiguous() for layer in layers]
    w_out = [layer.out.weight.contiguous() for layer in layers]
    b_out = [layer.out.bias.contiguous() for layer in layers]
    lin1, lin2 = head[1], head[3]
    w1, b1, w2, b2 = (t.contiguous() for t in (lin1.weight, lin1.bias, lin2.weight, lin2.bias))
    w_in, b_in = input_conv.weight.contiguous(), input_conv.bias.contiguous()
    values = first.new_empty(B, steps)
    values[:, 0] = first[:, 0]
    arrays = [addresses(t) for t in (w_conv, b_conv, w_out, b_out, buffers[1:])]
    args = WavenetGenerate(
        L=len(layers), C=C, S=layers[0].out.out_features - C, K=layers[0].conv.kernel_size,
        dilations=int64s([layer.conv.dilation for layer in layers]),
        input_dilation=input_conv.dilation, B=B, steps=steps, t0=queues[0].t,
        w_in=w_in.data_ptr(), b_in=b_in.data_ptr(), q_in=ptr(buffers[0]), w_conv=arrays[0],
        b_conv=arrays[1], w_out=arrays[2], b_out=arrays[3], queues=arrays[4],
        head=Head.MULAW if mulaw else Head.DENSE, hidden=lin1.out_features,
        outputs=lin2.out_features, w1=w1.data_ptr(), b1=b1.data_ptr(), w2=w2.data_ptr(),
        b2=b2.data_ptr(), values=values.data_ptr(), temperature=float(temperature),
        uniforms=ptr(uniforms), table=table.data_ptr() if mulaw else None)
    _status(library().seqcast_wavenet_generate(args), "WaveNet generation")
    for q in queues:
        q.t += steps - 1
    return values
