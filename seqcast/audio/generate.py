"""Sampling audio from a trained model, primed with a recording's start or from silence."""

from __future__ import annotations

import contextlib
import time

import numpy as np
import torch

from .model import AudioModel


@torch.no_grad()
def generate_audio(model: AudioModel, samples: int, prime: torch.Tensor | None = None,
                   temperature: float = 1.0, seed: int = 0, speaker: int | None = None,
                   device: str = "cpu") -> tuple[np.ndarray, float, float]:
    """``samples`` new amplitudes (samples,) after ``prime`` (decoded amplitudes (P,); the
    last receptive field of it is used) or after silence, and the wall and CPU seconds it
    took (CPU: this process's, fair on a shared machine).

    Each sample is drawn from softmax(logits / temperature) and fed back; on a CPU the whole
    loop runs natively (``seqcast.backends.native.generation.generate``), on a CUDA ``device``
    in one Triton kernel (``seqcast.backends.triton.wavenet``) with TF32 products allowed
    for the call (PyTorch's float32 matmul precision "high"), compiled by a short untimed
    generation first. The uniforms come from a generator on ``device``: a seed draws
    different audio on a GPU than on the CPU."""
    if samples < 1:
        raise ValueError(f"samples must be >= 1, got {samples}")
    if not 0 < temperature < float("inf"):
        raise ValueError(f"temperature must be positive, got {temperature}")
    net = model.for_speaker(speaker).to(device)
    if prime is None or prime.numel() == 0:
        history = torch.zeros(1, 1, 1, device=device)
    else:
        history = prime[-model.receptive_field:].reshape(1, -1, 1).float().to(device)
    cuda = torch.device(device).type == "cuda"
    with _tf32() if cuda else contextlib.nullcontext():
        if cuda:  # compile (or load) the kernel outside the timing
            net.generate(history, 2, temperature=temperature,
                         generator=torch.Generator(device).manual_seed(seed))
            torch.cuda.synchronize(device)
        generator = torch.Generator(device).manual_seed(seed)
        wall, cpu = time.perf_counter(), time.process_time()
        values = net.generate(history, samples, temperature=temperature, generator=generator)
        values = values[0].cpu().numpy()  # waits for the GPU
    return values, time.perf_counter() - wall, time.process_time() - cpu


@contextlib.contextmanager
def _tf32():
    before = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("high")
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(before)
