"""The audio model: a mu-law ``WaveNet`` with optional global (speaker) conditioning.

Global conditioning (van den Oord et al. 2016, section 2.5) adds a learned vector per speaker;
here it is added once, to the input convolution's output, so it reaches every gated layer
through the residual path and the stack keeps running in the native kernels. For generation
the speaker's vector is folded into the input convolution's bias of a copy of the network,
which then generates exactly as an unconditioned one does.
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
    """``wavenet`` (mu-law head, 256 classes) plus ``speaker`` embeddings (S, channels)."""

    def __init__(self, config: AudioConfig):
        super().__init__()
        self.wavenet = WaveNet(channels=config.channels, blocks=config.blocks,
                               layers_per_block=config.layers_per_block, head="mulaw")
        n = len(config.speakers)
        self.speaker = nn.Embedding(n, config.channels) if n else None
        if self.speaker is not None:
            nn.init.zeros_(self.speaker.weight)  # starts as the unconditioned network

    @property
    def receptive_field(self) -> int:
        return self.wavenet.receptive_field

    def forward(self, x: Tensor, speakers: Tensor | None = None) -> Tensor:
        """Logits (B, T, 256) of the next class from decoded amplitudes x (B, T, 1) and
        speaker ids (B,) (ignored without conditioning)."""
        if self.speaker is None or speakers is None:
            return self.wavenet(x)
        net = self.wavenet
        h = net.input_conv(x.transpose(0, 1), time_major=True) + self.speaker(speakers)  # (T, B, R)
        # the stack as the network runs it (natively where it can): (T, B, S)
        skips = select("wavenet_stack", net.backend, net.layers, h).run(net.layers, h)
        return net.post(skips).transpose(0, 1)  # (B, T, 256)

    def for_speaker(self, speaker: int | None) -> WaveNet:
        """The WaveNet that generates as ``speaker`` (the network itself without one)."""
        if self.speaker is None or speaker is None:
            return self.wavenet
        net = copy.deepcopy(self.wavenet)
        with torch.no_grad():
            net.input_conv.bias += self.speaker.weight[speaker]
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
