"""Sampling audio from a trained model, primed with a recording's start or from silence."""

from __future__ import annotations

import time

import numpy as np
import torch

from .model import AudioModel


@torch.no_grad()
def generate_audio(model: AudioModel, samples: int, prime: torch.Tensor | None = None,
                   temperature: float = 1.0, seed: int = 0, speaker: int | None = None
                   ) -> tuple[np.ndarray, float, float]:
    """``samples`` new amplitudes (samples,) after ``prime`` (decoded amplitudes (P,); the
    last receptive field of it is used) or after silence, and the wall and CPU seconds it
    took (CPU: this process's, fair on a shared machine).

    Each sample is drawn from softmax(logits / temperature) and fed back; on a CPU the whole
    loop runs natively (``seqcast.backends.native.wavenet.generate``)."""
    if samples < 1:
        raise ValueError(f"samples must be >= 1, got {samples}")
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    net = model.for_speaker(speaker)
    if prime is None or prime.numel() == 0:
        history = torch.zeros(1, 1, 1)
    else:
        history = prime[-model.receptive_field:].reshape(1, -1, 1).float()
    generator = torch.Generator().manual_seed(seed)
    wall, cpu = time.perf_counter(), time.process_time()
    values = net.generate(history, samples, temperature=temperature, generator=generator)
    return values[0].numpy(), time.perf_counter() - wall, time.process_time() - cpu
