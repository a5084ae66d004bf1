"""WaveNet (van den Oord et al. 2016) in two forms, with fast cached generation.

``SimpleWaveNet`` is the chapter's stack of ReLU causal convolutions; ``WaveNet`` is the
paper's: gated residual layers with skip connections. Both generate with one queue per
dilated layer (Paine et al. 2016, "Fast Wavenet Generation Algorithm"): O(layers) work per
new sample instead of re-running the receptive field.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..nn.conv import Alignment, Conv1d, ConvQueue, ResidualLayer, receptive_field, stack_alignment
from ..nn.dense import dense
from ..nn.dispatch import select
from ..nn.mulaw import sample_mulaw
from ..nn.wavenet import Generation
from .checks import OUTPUTS, check_choice, check_input
from .wavenet_stream import Stream, graphed

HEADS = ("dense", "mulaw")


def dilations(blocks: int, layers_per_block: int) -> list[int]:
    """1, 2, ..., 2^(layers_per_block - 1), repeated ``blocks`` times."""
    if blocks < 1 or layers_per_block < 1:
        raise ValueError(
            f"blocks and layers_per_block must be >= 1, got {blocks}, {layers_per_block}")
    return [2**i for i in range(layers_per_block)] * blocks


class _Generative(nn.Module):
    """What both WaveNets share: output arrangement, alignment, receptive field, generation.
    Subclasses define ``_run(x, queues)`` (full pass, (B, T, C) -> (B, T, out), optionally
    filling one ``ConvQueue`` per conv) and ``_step(x_t, state)`` ((B, C) -> (B, out)) on the
    streaming state that ``_state(queues)`` builds from those queues."""

    output: str
    head: str = "dense"
    # How the stack runs (see seqcast.backends.wavenet): "auto", "native" or "python" (the
    # reference); ``set_backend(model, "torch")`` makes it "python" with F.conv1d convolutions
    backend = "auto"
    BACKENDS = ("auto", "native", "python")

    def plain_backend(self) -> str:
        return "python"

    def forward(self, x: Tensor) -> Tensor:
        """(B, T, C) -> (B, T, out) for output="sequence", (B, out) for "last"."""
        y = self._run(x)
        return y[:, -1] if self.output == "last" else y

    def alignment(self, input_len: int) -> Alignment:
        """Causal, stride 1: output t answers to input step t."""
        return stack_alignment([self], input_len)

    @property
    def receptive_field(self) -> int:
        return receptive_field([self])

    @torch.no_grad()
    def generate(self, history: Tensor, steps: int, temperature: float = 1.0,
                 generator: torch.Generator | None = None, cuda_graph: bool = True,
                 fused: bool = True, backend: str = "auto") -> Tensor:
        """Continue ``history`` (B, T, 1) by ``steps`` values, feeding each back as input.

        The dense head feeds back its first output (the next value); the mu-law head samples
        a class from softmax(logits / temperature) at a uniform draw from ``generator``
        (``seqcast.nn.mulaw.sample_mulaw``) and feeds back its decoded value; the C kernels
        draw the same classes from the same uniforms. How the
        full WaveNet's steps run is chosen among the implementations of "wavenet_generate"
        (``backend``: "auto", "triton", "native" or "python"; see seqcast.backends): one
        persistent Triton kernel on a GPU with TF32 allowed
        (``torch.set_float32_matmul_precision("high")``; ``fused=False`` skips it), the C
        kernels on the CPU, both heads in each; the reference steps replay as CUDA graphs on a
        GPU (``cuda_graph``) and run eagerly elsewhere, and for sampling.

        Returns:
            (B, steps) float32.

        Example:
            >>> WaveNet(blocks=1, layers_per_block=4).generate(torch.zeros(2, 16, 1), 8).shape
            torch.Size([2, 8])
        """
        if history.dim() != 3 or history.shape[-1] != 1 or history.shape[1] < 1:
            raise ValueError(
                f"generate needs a univariate history (B, T>=1, 1), got {tuple(history.shape)}")
        if steps < 1:
            raise ValueError(f"steps must be >= 1, got {steps}")
        check_input(history, next(self.parameters()), "history")
        if not temperature > 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        queues: list[ConvQueue] = []
        out = self._run(history, queues)[:, -1]  # (B, out): the forecast made at the last step
        state = self._state(queues)
        uniforms = None
        if self.head == "mulaw":  # one draw per value, so every path samples the same classes
            uniforms = torch.rand(out.shape[0], steps, generator=generator, device=out.device)

        def steps_of_the_model() -> Tensor:
            return self._reference_generate(out, state, steps, temperature, uniforms, cuda_graph)

        if not isinstance(self, WaveNet):
            return steps_of_the_model()
        if backend == "auto" and not fused and history.is_cuda:
            backend = "python"  # the Triton kernel is the only fast path on a GPU
        g = Generation(self.input_conv, self.layers, self.post, self.head, queues, out, steps,
                       steps_of_the_model, temperature, uniforms)
        return select("wavenet_generate", backend, g).run(g)

    def _reference_generate(self, out: Tensor, state, steps: int, temperature: float,
                            uniforms: Tensor | None, cuda_graph: bool) -> Tensor:
        """The model's own steps from ``out`` (B, out), the head's output at the last step."""
        if cuda_graph and out.is_cuda and self.head == "dense" and steps > 1:
            spans = [m.span for m in self.modules() if isinstance(m, Conv1d)]
            return graphed(self._step, out[:, :1], state, steps, spans)
        values = []
        for i in range(steps):
            if self.head == "mulaw":
                nxt = sample_mulaw(out, uniforms[:, i:i + 1], temperature)
            else:
                nxt = out[:, :1]  # (B, 1)
            values.append(nxt)
            if i + 1 < steps:
                out = self._step(nxt, state)
        return torch.cat(values, dim=1)

    def _state(self, queues: list[ConvQueue]):
        return queues


class SimpleWaveNet(_Generative):
    """The chapter's WaveNet: causal ReLU convs of ``filters`` channels with the given
    dilations, then a 1x1 conv to ``horizon`` outputs.

    Example:
        >>> SimpleWaveNet(dilations=[1, 2, 4, 8] * 2, horizon=10)(torch.zeros(4, 50, 1)).shape
        torch.Size([4, 50, 10])
    """

    def __init__(self, input_size: int = 1, filters: int = 20,
                 dilations: Sequence[int] = (1, 2, 4, 8), kernel_size: int = 2, horizon: int = 10,
                 output: str = "sequence"):
        super().__init__()
        check_choice("output", output, OUTPUTS)
        sizes = [input_size] + [filters] * len(dilations)
        self.convs = nn.ModuleList(
            Conv1d(a, b, kernel_size, dilation=d)
            for a, b, d in zip(sizes[:-1], sizes[1:], dilations, strict=True))
        self.head_layer = dense(filters, horizon)
        self.output = output

    def _run(self, x: Tensor, queues: list | None = None) -> Tensor:
        if queues is None:
            check_input(x, self.convs[0].weight, "input")
            h = select("conv_stack", self.backend, self.convs, x).run(self.convs, x)  # (T, B, C)
            return self.head_layer(h).transpose(0, 1)  # (B, T, out)
        x = x.transpose(0, 1)  # time major (T, B, C): each causal conv is a few matmuls
        for conv in self.convs:
            if queues is not None:
                queues.append(ConvQueue(conv, x.transpose(0, 1)))
            x = F.relu(conv(x, time_major=True))  # (T, B, filters)
        return self.head_layer(x).transpose(0, 1)  # (B, T, out)

    def _step(self, x_t: Tensor, queues: list[ConvQueue]) -> Tensor:
        for queue in queues:
            x_t = F.relu(queue(x_t))
        return self.head_layer(x_t)


class WaveNet(_Generative):
    """The full WaveNet: a causal input conv to ``channels``, ``blocks`` x ``layers_per_block``
    gated residual layers (dilations 1..2^(layers_per_block-1) per block), the sum of their
    skips through ReLU-1x1-ReLU-1x1.

    Args:
        head: "dense" regresses ``horizon`` values per step (forecasting); "mulaw" gives
            ``quantization`` class logits per step (audio; train with cross-entropy).
        output: "sequence" (B, T, out) or "last" (B, out).

    Example:
        >>> WaveNet(channels=32, blocks=3, layers_per_block=10).receptive_field
        3071
    """

    def __init__(self, input_size: int = 1, channels: int = 32, blocks: int = 3,
                 layers_per_block: int = 10, kernel_size: int = 2, horizon: int = 1,
                 output: str = "sequence", head: str = "dense", quantization: int = 256):
        super().__init__()
        check_choice("output", output, OUTPUTS)
        check_choice("head", head, HEADS)
        self.input_conv = Conv1d(input_size, channels, kernel_size)
        self.layers = nn.ModuleList(
            ResidualLayer(channels, channels, kernel_size, d)
            for d in dilations(blocks, layers_per_block))
        out = quantization if head == "mulaw" else horizon
        self.post = nn.Sequential(  # ReLU-1x1-ReLU-1x1 on the summed skips
            nn.ReLU(), dense(channels, channels), nn.ReLU(), dense(channels, out))
        self.output, self.head = output, head

    def _run(self, x: Tensor, queues: list | None = None) -> Tensor:
        if queues is None and self.input_conv.backend != "torch":
            return self._run_fast(x)
        check_input(x, self.input_conv.weight, "input")
        if queues is not None:
            queues.append(ConvQueue(self.input_conv, x))
        x = x.transpose(0, 1)  # time major (T, B, C): each causal conv is a few matmuls
        h, skips = self.input_conv(x, time_major=True), 0  # (T, B, R)
        for layer in self.layers:
            if queues is not None:
                queues.append(ConvQueue(layer.conv, h.transpose(0, 1)))
            h, skip = layer(h, time_major=True)
            skips = skips + skip  # (T, B, S)
        return self.post(skips).transpose(0, 1)  # (B, T, out)

    def _run_fast(self, x: Tensor) -> Tensor:
        """``_run`` without queues: time major, the stack by the selected implementation of
        "wavenet_stack" (the reference sums the skips in place, see ``nn.wavenet``)."""
        check_input(x, self.input_conv.weight, "input")
        h = self.input_conv(x.transpose(0, 1), time_major=True)  # (T, B, C)
        skips = select("wavenet_stack", self.backend, self.layers, h).run(self.layers, h)
        return self.post(skips).transpose(0, 1)  # (T, B, S) -> (B, T, out)

    def _state(self, queues: list[ConvQueue]) -> Stream:
        return Stream(self.layers, queues)

    def _step(self, x_t: Tensor, state: Stream) -> Tensor:
        h, gated = state.input(x_t), []  # (B, R)
        for queue, res_weight, res_bias in state.layers:
            f, g = queue(h).chunk(2, dim=-1)
            a = torch.tanh(f).mul_(torch.sigmoid(g))  # (B, R)
            gated.append(a)
            h = torch.addmm(res_bias, a, res_weight).add_(h)  # residual
        # the skips of every layer in one matmul: sum_l a_l W_l = [a_1 .. a_L] [W_1; ..; W_L]
        return self.post(torch.addmm(state.skip_bias, torch.cat(gated, -1), state.skip_weight))
