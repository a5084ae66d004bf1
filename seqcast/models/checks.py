"""Checks the models share: option names, and inputs against the first layer's weights."""

from __future__ import annotations

import torch
from torch import Tensor

from ..config import OUTPUTS  # noqa: F401  (re-exported: every model's output choices)


def check_choice(name: str, value: str, options: tuple[str, ...]) -> None:
    """Raise "unknown NAME 'value'; valid: ..." unless ``value`` is one of ``options``."""
    if value not in options:
        raise ValueError(f"unknown {name} {value!r}; valid: {', '.join(options)}")


def check_input(x: Tensor, weight: Tensor, name: str) -> None:
    """Raise unless ``x`` (B, T, C) is non-empty and has the channels, dtype (any float
    under autocast) and device of a first convolution's ``weight`` (C_out, C, K)."""
    if x.dim() != 3 or x.shape[0] < 1 or x.shape[1] < 1:
        raise ValueError(f"{name} must be a non-empty (B, T, C), got shape {tuple(x.shape)}")
    if x.shape[2] != weight.shape[1]:
        raise ValueError(f"{name} has {x.shape[2]} channels, expected {weight.shape[1]}")
    autocast = x.is_floating_point() and torch.is_autocast_enabled(x.device.type)
    if x.dtype != weight.dtype and not autocast:
        raise ValueError(f"{name} dtype ({x.dtype}) does not match weight dtype ({weight.dtype})")
    if x.device != weight.device:
        raise ValueError(f"{name} is on {x.device} but the weights are on {weight.device}")
