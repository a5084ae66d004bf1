"""Dense layers initialised like Keras (glorot-uniform weight, zero bias)."""

from __future__ import annotations

from torch import nn


def dense(in_features: int, out_features: int) -> nn.Linear:
    """``nn.Linear`` with Keras' ``Dense`` initialisation."""
    layer = nn.Linear(in_features, out_features)
    nn.init.xavier_uniform_(layer.weight)
    nn.init.zeros_(layer.bias)
    return layer
