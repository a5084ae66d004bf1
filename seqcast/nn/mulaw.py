"""Mu-law companding and 256-level quantisation of audio in [-1, 1] (WaveNet, section 2.2)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor


def mu_law_encode(x: Tensor, channels: int = 256) -> Tensor:
    """Quantise ``x`` in [-1, 1] to class ids 0..channels-1 (long, same shape).

    f(x) = sign(x) ln(1 + mu |x|) / ln(1 + mu), mu = channels - 1.
    """
    mu = channels - 1
    y = torch.sign(x) * torch.log1p(mu * x.abs().clamp(max=1)) / math.log1p(mu)
    return ((y + 1) / 2 * mu + 0.5).long().clamp(0, mu)


def mu_law_decode(q: Tensor, channels: int = 256) -> Tensor:
    """Class ids back to values in [-1, 1] (float32, same shape); inverse of the encoding."""
    mu = channels - 1
    y = 2 * q.float() / mu - 1
    return torch.sign(y) * torch.expm1(y.abs() * math.log1p(mu)) / mu


def sample_mulaw(logits: Tensor, u: Tensor, temperature: float = 1.0) -> Tensor:
    """Decoded amplitudes (B, 1) of the classes drawn from softmax(logits / temperature)
    (logits (B, Q)) at uniforms ``u`` (B, 1) in [0, 1): the first class whose cumulative
    probability exceeds u (inverse-CDF sampling, which the C generation loop repeats)."""
    cdf = F.softmax(logits / temperature, dim=-1).cumsum(-1)  # (B, Q)
    k = torch.searchsorted(cdf, u.contiguous(), right=True).clamp_(max=logits.shape[-1] - 1)
    return mu_law_decode(k, logits.shape[-1])
