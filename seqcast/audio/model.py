"""The audio model: a mu-law ``WaveNet`` with optional global (speaker) conditioning.

Global conditioning as in the paper (van den Oord et al. 2016, section 2.5): every layer's
gated unit becomes z = tanh(W_f * x + V_f^T h) * sigmoid(W_g * x + V_g^T h), with h a
learned embedding of the speaker and V_f, V_g a linear projection of it per layer. The
projections of all layers are one ``Linear`` (embedding -> layers x 2 channels), so a batch
costs one small product; the stack takes the result as per-row gate biases, natively where
it can ("wavenet_stack" with ``cond``, ``seqcast.backends.wavenet``). For generation h is
fixed, so each layer's V^T h is folded into its convolution's bias in a copy of the network
(``for_speaker``), which then generates as an unconditioned one does, through any
implementation of "wavenet_generate".
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..models.wavenet import WaveNet
from ..nn.dispatch import select
from .baselines import LN2
from .config import AudioConfig


class AudioModel(nn.Module):
    """``wavenet`` (mu-law head, 256 classes), plus for a conditioned model ``speaker``
    embeddings h (S, channels) and ``condition``, every layer's V_f | V_g: channels ->
    layers x 2 channels."""

    def __init__(self, config: AudioConfig):
        super().__init__()
        self.wavenet = WaveNet(channels=config.channels, blocks=config.blocks,
                               layers_per_block=config.layers_per_block, head="mulaw")
        n, c = len(config.speakers), config.channels
        self.speaker = nn.Embedding(n, c) if n else None
        self.condition = nn.Linear(c, len(self.wavenet.layers) * 2 * c, bias=False) if n else None
        if self.condition is not None:
            nn.init.zeros_(self.condition.weight)  # starts as the unconditioned network

    @property
    def receptive_field(self) -> int:
        return self.wavenet.receptive_field

    def gate_biases(self, speakers: Tensor) -> Tensor:
        """V_f^T h | V_g^T h of each layer for speaker ids (B,): (B, layers, 2 channels)."""
        return self.condition(self.speaker(speakers)).unflatten(-1, (len(self.wavenet.layers), -1))

    def forward(self, x: Tensor, speakers: Tensor | None = None) -> Tensor:
        """Logits (B, T, 256) of the next class from decoded amplitudes x (B, T, 1) and
        speaker ids (B,) (ignored without conditioning)."""
        if self.speaker is None or speakers is None:
            return self.wavenet(x)
        net, cond = self.wavenet, self.gate_biases(speakers)
        h = net.input_conv(x.transpose(0, 1), time_major=True)  # (T, B, R)
        # the stack as the network runs it (natively where it can): (T, B, S)
        skips = select("wavenet_stack", net.backend, net.layers, h, cond).run(net.layers, h, cond)
        return net.post(skips).transpose(0, 1)  # (B, T, 256)

    def for_speaker(self, speaker: int | None) -> WaveNet:
        """The WaveNet that generates as ``speaker`` (the network itself without one): each
        layer's gate biases V^T h folded into its convolution's bias."""
        if self.speaker is None or speaker is None:
            return self.wavenet
        net = copy.deepcopy(self.wavenet)
        with torch.no_grad():
            cond = self.gate_biases(torch.tensor([speaker], device=self.speaker.weight.device))
            for layer, bias in zip(net.layers, cond[0], strict=True):
                layer.conv.bias += bias
        return net


@torch.no_grad()
def bits_per_sample(model: AudioModel, classes: Tensor, speaker: int | None = None,
                    chunk: int = 32768) -> float:
    """Mean bits of classes (N,) at samples 1..N-1, each predicted from the decoded samples
    before it (zeros before the start). Runs in chunks with a receptive field of context, so
    memory stays bounded and the result equals one pass over the whole file."""
    from ..nn.mulaw import mu_law_decode

    x = mu_law_decode(classes)  # (N,)
    context, total, n = model.receptive_field - 1, 0.0, classes.shape[0] - 1
    spk = None if speaker is None else torch.tensor([speaker])
    for start in range(0, n, chunk):
        lo, hi = max(0, start - context), min(n, start + chunk)
        logits = model(x[None, lo:hi, None], spk)[0, start - lo:]  # (hi - start, 256)
        total += F.cross_entropy(logits, classes[start + 1:hi + 1], reduction="sum").item()
    return total / n / LN2
