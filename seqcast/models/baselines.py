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
