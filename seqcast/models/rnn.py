"""Stacked recurrent forecaster with seq2vec and seq2seq heads."""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor, nn

from ..nn.cells import CELLS, make_cell
from ..nn.dense import dense
from ..nn.recurrent import Recurrent
from .checks import OUTPUTS, check_choice

CellFactory = Callable[[int, int], nn.Module]
HEADS, NORMS = ("dense", "recurrent"), ("none", "batch")


def _factory(cell: str | CellFactory) -> CellFactory:
    if callable(cell):
        return cell
    if cell not in CELLS:  # fail at construction, not at the first layer
        raise ValueError(f"unknown cell {cell!r}; valid cells: {', '.join(CELLS)}")
    return lambda i, h: make_cell(cell, i, h)


class SequenceBatchNorm(nn.Module):
    """Batch normalization over the features of (B, T, C), statistics over batch and time
    (Keras' ``BatchNormalization`` after a sequence layer: momentum 0.99, epsilon 1e-3)."""

    def __init__(self, num_features: int):
        super().__init__()
        self.norm = nn.BatchNorm1d(num_features, eps=1e-3, momentum=0.01)

    def forward(self, x: Tensor) -> Tensor:
        # Statistics over all (B*T) rows. Recurrent layers return time-major storage viewed
        # as (B, T, C): normalise it in that order, so no copy is made either way.
        xt = x.transpose(0, 1)
        if xt.is_contiguous():
            return self.norm(xt.flatten(0, 1)).view_as(xt).transpose(0, 1)
        return self.norm(x.flatten(0, 1)).view_as(x)


class RNNForecaster(nn.Module):
    """``num_layers`` recurrent layers of ``hidden_size`` units, then a head.

    Args:
        cell: a registered cell name ("simple", "lstm", "gru", ...) or a factory
            ``(input_size, hidden_size) -> cell`` for a cell of your own.
        output: "last" -> (B, horizon) from the last step; "sequence" -> (B, T, horizon).
        head: "dense" (linear layer) or "recurrent" (a last recurrent layer of ``horizon`` units).
        norm: "none" or "batch" between recurrent layers.
        dropout, recurrent_dropout: rates for every recurrent layer (see ``Recurrent``).

    Example:
        >>> RNNForecaster("gru", horizon=10, output="sequence")(torch.zeros(4, 50, 1)).shape
        torch.Size([4, 50, 10])
    """

    def __init__(
        self,
        cell: str | CellFactory = "simple",
        input_size: int = 1,
        hidden_size: int = 20,
        num_layers: int = 2,
        horizon: int = 1,
        output: str = "last",
        head: str = "dense",
        norm: str = "none",
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
    ):
        super().__init__()
        check_choice("output", output, OUTPUTS)
        check_choice("head", head, HEADS)
        check_choice("norm", norm, NORMS)
        if num_layers < 0 or (num_layers == 0 and head == "dense"):
            raise ValueError(f"num_layers must be >= 1 with a dense head, got {num_layers}")
        factory = _factory(cell)
        rates = {"dropout": dropout, "recurrent_dropout": recurrent_dropout}
        sizes = [input_size] + [hidden_size] * num_layers
        self.layers = nn.ModuleList(
            Recurrent(factory(a, b), **rates) for a, b in zip(sizes[:-1], sizes[1:], strict=True)
        )
        self.norms = nn.ModuleList(
            SequenceBatchNorm(hidden_size) if norm == "batch" else nn.Identity() for _ in sizes[1:]
        )
        if head == "recurrent":
            self.layers.append(Recurrent(factory(sizes[-1], horizon), **rates))
            self.norms.append(nn.Identity())
            self.head: nn.Module = nn.Identity()
        else:
            self.head = dense(sizes[-1], horizon)
        self.output = output

    def forward(self, x: Tensor) -> Tensor:
        for layer, norm in zip(self.layers, self.norms):
            x = norm(layer(x)[0])  # (B, T, H_l)
        if self.output == "last":
            return self.head(x[:, -1])  # (B, T, H) -> (B, H) -> (B, horizon)
        xt = x.transpose(0, 1)  # recurrent layers return time-major storage: no copy there
        return self.head(xt).transpose(0, 1) if xt.is_contiguous() else self.head(x)
