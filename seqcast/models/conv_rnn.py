"""A strided Conv1D front end in front of recurrent layers (the chapter's ``conv_gru``)."""

from __future__ import annotations

from torch import Tensor, nn

from ..nn.conv import Alignment, Conv1d, receptive_field, stack_alignment
from .rnn import RNNForecaster


class ConvRNN(nn.Module):
    """``Conv1d`` (linear, like Keras' default) then a stacked recurrent forecaster.

    The convolution shortens the sequence, so seq2seq outputs answer to fewer input steps:
    ``alignment(input_len)`` says which, and ``seqcast.nn.conv.align_targets`` crops the
    targets to match (the chapter's kernel 4, stride 2, valid gives ``Y[:, 3::2]``).

    Args:
        cell: recurrent cell name ("gru", "lstm", "simple").
        filters: conv output channels, the recurrent layers' input size.
        output: "sequence" (B, T', horizon) or "last" (B, horizon).

    Example:
        >>> ConvRNN("gru", kernel_size=4, stride=2, padding="valid")(torch.zeros(2, 50, 1)).shape
        torch.Size([2, 24, 10])
    """

    def __init__(self, cell: str = "gru", input_size: int = 1, filters: int = 20,
                 kernel_size: int = 4, stride: int = 2, padding: str = "valid",
                 hidden_size: int = 20, num_layers: int = 2, horizon: int = 10,
                 output: str = "sequence", head: str = "dense", norm: str = "none"):
        super().__init__()
        self.conv = Conv1d(input_size, filters, kernel_size, stride, padding=padding)
        self.rnn = RNNForecaster(cell, filters, hidden_size, num_layers, horizon, output, head,
                                 norm)

    def forward(self, x: Tensor) -> Tensor:
        return self.rnn(self.conv(x))  # (B, T, C) -> (B, T', filters) -> (B, T', H) or (B, H)

    def alignment(self, input_len: int) -> Alignment:
        return stack_alignment([self.conv], input_len)

    @property
    def receptive_field(self) -> int:
        """Of the conv front end; the recurrent layers then see every earlier step."""
        return receptive_field([self.conv])
