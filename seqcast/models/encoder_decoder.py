"""Encoder-decoder forecaster: a recurrent encoder reads the input into a vector, a recurrent
decoder unrolls that vector over the horizon (Sutskever et al. 2014; Cho et al. 2014)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..nn.dense import dense
from ..nn.recurrent import Recurrent
from .checks import OUTPUTS, check_choice
from .rnn import CellFactory, _factory


class EncoderDecoder(nn.Module):
    """``num_layers`` encoder layers, ``num_layers`` decoder layers, a dense layer per step.

    The encoder's top output at a step is the context vector (B, H); the decoder gets it as
    its input at each of the ``horizon`` steps (starting from a zero state), and a shared
    dense layer turns each decoder output into one forecast.

    Args:
        cell: a registered cell name ("simple", "lstm", "gru", ...) or a factory
            ``(input_size, hidden_size) -> cell``.
        output: "last" decodes the context of the last input step -> (B, horizon);
            "sequence" decodes the context of every input step -> (B, T, horizon).
        dropout, recurrent_dropout: rates for every recurrent layer (see ``Recurrent``).

    Example:
        >>> EncoderDecoder("gru", horizon=10)(torch.zeros(4, 50, 1)).shape
        torch.Size([4, 10])
    """

    def __init__(
        self,
        cell: str | CellFactory = "lstm",
        input_size: int = 1,
        hidden_size: int = 20,
        num_layers: int = 2,
        horizon: int = 10,
        output: str = "last",
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
    ):
        super().__init__()
        check_choice("output", output, OUTPUTS)
        if num_layers < 1 or horizon < 1:
            raise ValueError(f"num_layers and horizon must be >= 1, got {num_layers}, {horizon}")
        factory = _factory(cell)
        rates = {"dropout": dropout, "recurrent_dropout": recurrent_dropout}
        sizes = [input_size] + [hidden_size] * num_layers
        self.encoder = nn.ModuleList(
            Recurrent(factory(a, b), **rates) for a, b in zip(sizes[:-1], sizes[1:], strict=True)
        )
        self.decoder = nn.ModuleList(
            Recurrent(factory(hidden_size, hidden_size), **rates) for _ in range(num_layers)
        )
        self.head = dense(hidden_size, 1)
        self.horizon, self.output = horizon, output
        self.future: tuple[int, int] | None = None
        self._make_decoder = lambda width: Recurrent(factory(hidden_size + width, hidden_size),
                                                     **rates)

    def feed_future(self, offset: int, width: int) -> None:
        """Give the decoder, at horizon step k, the future covariates of that step beside the
        context: input channels ``offset + (k - 1) * width`` to ``offset + k * width`` (the
        layout of ``seqcast.data.covariates``). Replaces the first decoder layer."""
        self.future = (offset, width)
        self.decoder[0] = self._make_decoder(width)

    def forward(self, x: Tensor) -> Tensor:
        inputs = x
        for layer in self.encoder:
            x = layer(x)[0]  # (B, T, H)
        batch, steps, hidden = x.shape
        # One context per forecast origin: (B, H), or (B*T, H) decoded as one batch
        context = x[:, -1] if self.output == "last" else x.reshape(batch * steps, hidden)
        y = context.unsqueeze(1).expand(-1, self.horizon, -1)  # (N, horizon, H)
        if self.future is not None:  # (N, horizon, F) beside the context at each step
            offset, width = self.future
            f = inputs[..., offset : offset + self.horizon * width]  # (B, T, horizon * F)
            f = f[:, -1] if self.output == "last" else f.reshape(batch * steps, -1)
            y = torch.cat([y, f.reshape(-1, self.horizon, width)], dim=-1)
        for layer in self.decoder:
            y = layer(y)[0]
        y = self.head(y).squeeze(-1)  # (N, horizon, 1) -> (N, horizon)
        return y if self.output == "last" else y.view(batch, steps, self.horizon)
