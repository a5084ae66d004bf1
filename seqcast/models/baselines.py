"""Baselines the chapter measures every model against: naive and linear."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..nn.dense import dense


class Naive(nn.Module):
    """Repeat the last observed value ``horizon`` times (no parameters).

    Input (B, T, C), channel 0 is the target. Output (B, H) for ``output="last"``, or
    (B, T, H) for ``output="sequence"`` (the value at each step, repeated).
    """

    def __init__(self, horizon: int = 1, output: str = "last"):
        super().__init__()
        self.horizon, self.output = horizon, output

    def forward(self, x: Tensor) -> Tensor:
        if self.output == "sequence":
            return x[..., :1].expand(-1, -1, self.horizon)  # (B, T, 1) -> (B, T, H)
        return x[:, -1, :1].expand(-1, self.horizon)  # (B, C) -> (B, H)


class Linear(nn.Module):
    """Flatten the window and apply one dense layer: the chapter's ``Flatten + Dense(H)``.

    Input (B, input_len, C) -> output (B, H). For ``output="sequence"`` the same map is
    applied causally: step t sees the ``input_len`` steps ending at t (zero-padded on the left).
    """

    def __init__(self, input_len: int, input_size: int = 1, horizon: int = 1, output: str = "last"):
        super().__init__()
        self.input_len, self.input_size, self.output = input_len, input_size, output
        self.dense = dense(input_len * input_size, horizon)

    def forward(self, x: Tensor) -> Tensor:
        if self.output == "sequence":
            # (B, T, C) -> (B, T, input_len, C): the window ending at every step
            padded = nn.functional.pad(x, (0, 0, self.input_len - 1, 0))
            windows = padded.unfold(1, self.input_len, 1).transpose(2, 3)
            return self.dense(windows.flatten(2))
        if x.shape[1] != self.input_len:
            raise ValueError(f"Linear expects {self.input_len} input steps, got {x.shape[1]}")
        return self.dense(torch.flatten(x, 1))  # (B, T*C) -> (B, H)


class SeasonalNaive(nn.Module):
    """Repeat the last ``season`` values: step h forecasts ``x[T - season + (h-1) % season]``.

    Input (B, T, C), channel 0 is the target. Output (B, H) for ``output="last"`` (needs
    T >= season), or (B, T, H) for ``output="sequence"`` (the forecast made at each step; the
    first value stands in for the steps before the series starts).
    """

    def __init__(self, season: int, horizon: int = 1, output: str = "last"):
        super().__init__()
        if season < 1:
            raise ValueError(f"season must be >= 1, got {season}")
        self.season, self.horizon, self.output = season, horizon, output

    def forward(self, x: Tensor) -> Tensor:
        idx = torch.arange(self.horizon, device=x.device) % self.season
        x0 = x[..., 0]  # (B, T)
        if self.output == "sequence":
            pad = x0[:, :1].expand(-1, self.season - 1)
            windows = torch.cat([pad, x0], 1).unfold(1, self.season, 1)  # (B, T, season)
            return windows[..., idx]  # (B, T, H)
        if x.shape[1] < self.season:
            raise ValueError(f"SeasonalNaive needs {self.season} input steps, got {x.shape[1]}")
        return x0[:, -self.season :][:, idx]  # (B, season) -> (B, H)


def naive_forecast(history, horizon: int):
    """Last value repeated: (..., T) -> (..., H) (numpy)."""
    import numpy as np

    history = np.asarray(history, dtype=np.float64)
    return np.repeat(history[..., -1:], horizon, axis=-1)


def seasonal_naive_forecast(history, season: int, horizon: int):
    """Last season repeated: (..., T) with T >= season -> (..., H) (numpy)."""
    import numpy as np

    history = np.asarray(history, dtype=np.float64)
    if history.shape[-1] < season:
        raise ValueError(f"seasonal naive needs {season} past values, got {history.shape[-1]}")
    return history[..., history.shape[-1] - season + np.arange(horizon) % season]
