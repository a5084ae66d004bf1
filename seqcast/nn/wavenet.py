"""WaveNet's operations on stacks of layers, defined by their reference code: the gated
residual stack, the simple WaveNet's causal ReLU convolutions, and the state of cached
generation (Paine et al. 2016). Their fast implementations are in
``seqcast.backends.wavenet``; ``select`` (``seqcast.nn.dispatch``) picks one per call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .conv import Conv1d, ConvQueue, ResidualLayer
from .dispatch import reference


def residual_stack(layers: Sequence[ResidualLayer], h: Tensor, cond: Tensor | None = None
                   ) -> Tensor:
    """The skip sum (T, B, S) of ``layers`` run in order on time-major h (T, B, C), every
    skip bias included (added once, see ``ResidualLayer.accumulate``).

    Global conditioning (van den Oord et al. 2016, section 2.5): ``cond`` (B, L, 2C), where
    given, holds V_f^T h | V_g^T h of each batch row's speaker embedding h for each layer,
    added to that layer's filter and gate pre-activations at every step."""
    r = layers[0].channels
    skips = torch.stack([layer.out.bias[r:] for layer in layers]).sum(0)  # (S,)
    for i, layer in enumerate(layers):
        h, skips = layer.accumulate(h, skips, None if cond is None else cond[:, i])
    return skips.view(h.shape[0], h.shape[1], -1)


def conv_stack(convs: Sequence[Conv1d], x: Tensor) -> Tensor:
    """ReLU after each causal convolution, in order: (B, T, C_in) -> time-major
    (T, B, C_out)."""
    x = x.transpose(0, 1)  # time major (T, B, C): each causal conv is a few matmuls
    for conv in convs:
        x = F.relu(conv(x, time_major=True))
    return x


@dataclass(frozen=True)
class Generation:
    """A WaveNet's generation state after its history: what every implementation of
    "wavenet_generate" reads.

    Args:
        input_conv: the causal input convolution (one input channel to C).
        layers: the gated residual layers, in order.
        post: the head on the summed skips (ReLU, Linear, ReLU, Linear).
        head: "dense" (the first output is the next value) or "mulaw" (class logits).
        queues: one ``ConvQueue`` per convolution (the input's first) after the history.
        first: (B, out) the head's output at the last step of the history.
        steps: how many values to return, the first included.
        reference: the model's own step loop, ``() -> (B, steps)``.
        temperature: the mu-law head's softmax temperature.
        uniforms: (B, steps) the mu-law head's draws in [0, 1), column i for value i
            (``seqcast.nn.mulaw.sample_mulaw``); None for the dense head.
    """

    input_conv: Conv1d
    layers: Sequence[ResidualLayer]
    post: nn.Module
    head: str
    queues: list[ConvQueue]
    first: Tensor
    steps: int
    reference: Callable[[], Tensor]
    temperature: float = 1.0
    uniforms: Tensor | None = None


reference("wavenet_stack", "python", residual_stack)
reference("conv_stack", "python", conv_stack)
reference("wavenet_generate", "python", lambda g: g.reference())
