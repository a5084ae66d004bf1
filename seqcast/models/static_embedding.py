"""Categorical static covariates through embeddings, in front of any forecaster."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class StaticEmbedding(nn.Module):
    """Replace the last ``len(sizes)`` input channels (integer category codes) by learned
    embeddings, then run ``inner``: (B, T, C_num + K) -> inner((B, T, C_num + sum(widths))).

    Args:
        sizes: (number of codes, embedding width) per categorical column; code 0 stands for
            a value not seen in training.

    Example:
        >>> m = StaticEmbedding(nn.Linear(1 + 3, 2), [(5, 3)])
        >>> m(torch.zeros(4, 7, 2)).shape
        torch.Size([4, 7, 2])
    """

    def __init__(self, inner: nn.Module, sizes: list[tuple[int, int]]):
        super().__init__()
        self.inner = inner
        self.embeddings = nn.ModuleList(nn.Embedding(n, width) for n, width in sizes)

    def forward(self, x: Tensor) -> Tensor:
        k = len(self.embeddings)
        codes = x[..., -k:].round().long()  # (B, T, K); the codes are exact small floats
        parts = [x[..., :-k]] + [emb(codes[..., i]) for i, emb in enumerate(self.embeddings)]
        return self.inner(torch.cat(parts, dim=-1))
