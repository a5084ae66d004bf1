"""The fast implementations of the WaveNets' operations, best first, each with the reason
it cannot run given inputs (the models' own code is the reference, last):

- "wavenet_stack": ``run(layers, h, cond=None)``, the skip sum (T, B, S) of gated residual
  layers on time-major h (T, B, C), all skip biases included; ``cond`` (B, L, 2C) adds a
  bias per batch row to each layer's gate pre-activations (global conditioning);
- "conv_stack": ``run(convs, x)``, the simple WaveNet's causal ReLU convolutions,
  (B, T, C_in) -> time-major (T, B, C_out);
- "wavenet_generate": ``run(g)`` for a ``seqcast.nn.wavenet.Generation``, (B, steps).
"""

from __future__ import annotations

from ..nn.dispatch import Implementation
from ..nn.mulaw import sample_mulaw
from .native import generation as native_generation
from .native import wavenet as native
from .triton import wavenet as triton_wavenet


# The selector has just called the reason function: the checked entry points skip a second
def _stack_native(layers, h, cond=None):
    return native.residual_stack_checked(h.transpose(0, 1), layers, cond).transpose(0, 1)


def _stack_reason(layers, h, cond=None):
    return native.stack_reason(h.transpose(0, 1), layers, cond)


def _convs_native(convs, x):
    return native.conv_stack_checked(x, convs).transpose(0, 1)  # (T, B, C_out)


def _generation_reason(g) -> str | None:
    if g.head == "mulaw" and g.uniforms is None:
        return "the C generation of the mu-law head needs its uniform draws"
    return native_generation.generation_reason(g.input_conv, g.layers, list(g.post), g.first)


def _generate_native(g):
    if g.head == "mulaw":  # the first value is drawn here, the rest in C from the same stream
        first = sample_mulaw(g.first, g.uniforms[:, :1], g.temperature)
        return native_generation.generate(g.input_conv, g.layers, list(g.post), g.queues, first, g.steps,
                               g.temperature, g.uniforms)
    return native_generation.generate(g.input_conv, g.layers, list(g.post), g.queues, g.first[:, :1], g.steps)


def _triton_reason(g) -> str | None:
    return triton_wavenet.reason(g)


def _generate_triton(g):
    if g.head == "mulaw":  # the first value is drawn here, the rest in the kernel
        return triton_wavenet.generate(g, sample_mulaw(g.first, g.uniforms[:, :1], g.temperature))
    return triton_wavenet.generate(g, g.first[:, :1].float())


STACK = [Implementation("native", _stack_reason, _stack_native)]
CONVS = [Implementation("native", lambda convs, x: native.convs_reason(x, convs), _convs_native)]
GENERATE = [Implementation("triton", _triton_reason, _generate_triton),
            Implementation("native", _generation_reason, _generate_native)]

