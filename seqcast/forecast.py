"""Forecasting strategies on trained models: batched prediction and iterative rollout."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn


def _device_of(model: nn.Module) -> torch.device:
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


@torch.no_grad()
def predict(model: nn.Module, x, batch_size: int = 512) -> Tensor:
    """Run ``model`` in eval mode over ``x`` (B, T, C) in chunks; returns a CPU tensor."""
    was_training = model.training
    model.eval()
    device = _device_of(model)
    x = torch.as_tensor(np.asarray(x) if not isinstance(x, Tensor) else x, dtype=torch.float32)
    outs = [model(x[i : i + batch_size].to(device)).cpu() for i in range(0, len(x), batch_size)]
    model.train(was_training)
    return torch.cat(outs)


@torch.no_grad()
def rollout(model: nn.Module, x, steps: int, batch_size: int = 512,
            window: int | None = None, ahead=None) -> Tensor:
    """Iterative forecast: predict one step, append it to the input, repeat ``steps`` times.

    The model must map (B, T, 1) to (B, >=1) (its first output is the next value), as the
    chapter's one-step models do.

    Args:
        x: (B, T, 1) history.
        window: feed only the last ``window`` steps each time (models trained on windows of
            a fixed length, e.g. ``linear``); ``None`` feeds the whole growing input.
        ahead: (B, steps, C - 1) covariate channels of each future step, fed back beside
            that step's forecast; ``None`` for a univariate history (B, T, 1).

    Returns:
        (B, steps) forecasts.

    Example:
        >>> rollout(one_step_model, x_valid, 10).shape  # doctest: +SKIP
        torch.Size([2000, 10])
    """
    x = torch.as_tensor(np.asarray(x) if not isinstance(x, Tensor) else x, dtype=torch.float32)
    channels = 1 if ahead is None else 1 + np.shape(ahead)[-1]
    if x.dim() != 3 or x.shape[-1] != channels:
        raise ValueError(f"rollout needs a history (B, T, {channels}), got {tuple(x.shape)}")
    if ahead is not None:
        ahead = torch.as_tensor(np.asarray(ahead), dtype=torch.float32)
    # cached (WaveNet): O(layers) per step
    if hasattr(model, "generate") and window is None and ahead is None:
        was_training = model.training
        model.eval()
        out = [model.generate(x[i : i + batch_size].to(_device_of(model)), steps).cpu()
               for i in range(0, len(x), batch_size)]
        model.train(was_training)
        return torch.cat(out)
    for k in range(steps):
        nxt = predict(model, x if window is None else x[:, -window:], batch_size)[:, :1]  # (B, 1)
        row = nxt.unsqueeze(-1)  # (B, 1, 1), then the step's covariates beside it
        row = row if ahead is None else torch.cat([row, ahead[:, k : k + 1]], dim=2)
        x = torch.cat([x, row], dim=1)  # (B, T+1, C)
    return x[:, -steps:, 0]
