"""Batch-first 1D convolutions with causal/valid/same padding, their target alignment, and
the streaming queues behind fast generation (Paine et al. 2016).

Shapes are batch first like the rest of seqcast: (B, T, C). Initialisation follows Keras'
``Conv1D`` (glorot-uniform over the whole kernel, fans ``kernel_size * channels``, zero bias),
since the chapter's figures come from it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .conv_kernels import _CausalTimeMajor

PADDINGS = ("causal", "valid", "same")


@dataclass(frozen=True)
class Alignment:
    """Output step ``j`` of a layer stack answers to input step ``offset + j * stride``: the
    latest input step it sees, i.e. the step whose targets it must predict. ``length`` is the
    number of output steps.

    Example:
        >>> Conv1d(1, 20, 4, stride=2, padding="valid").alignment(50)
        Alignment(offset=3, stride=2, length=24)
    """

    offset: int = 0
    stride: int = 1
    length: int = 0

    def steps(self) -> range:
        """The input steps the outputs answer to, in order."""
        return range(self.offset, self.offset + self.stride * self.length, self.stride)


class Conv1d(nn.Module):
    """1D convolution over (B, T, C_in) -> (B, T', C_out) with Keras-style padding.

    Args:
        padding: "causal" (left pad (K-1)*dilation: output t sees inputs <= t), "valid" (no
            pad) or "same" (TensorFlow's rule: ceil(T / stride) outputs, extra pad on the right).

    Example:
        >>> Conv1d(1, 20, kernel_size=2, dilation=4)(torch.zeros(3, 50, 1)).shape
        torch.Size([3, 50, 20])
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 dilation: int = 1, padding: str = "causal", bias: bool = True):
        super().__init__()
        if padding not in PADDINGS:
            raise ValueError(f"unknown padding {padding!r}; valid: {', '.join(PADDINGS)}")
        if min(in_channels, out_channels, kernel_size, stride, dilation) < 1:
            raise ValueError("channels, kernel_size, stride and dilation must all be >= 1")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.dilation = kernel_size, stride, dilation
        self.padding = padding
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # torch's fans for a (C_out, C_in, K) tensor are C_in*K and C_out*K, as in Keras.
        nn.init.xavier_uniform_(self.weight)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    @property
    def span(self) -> int:
        """Input steps one output looks back over, minus one: (K-1) * dilation."""
        return (self.kernel_size - 1) * self.dilation

    def _pads(self, length: int) -> tuple[int, int]:
        if self.padding == "causal":
            return self.span, 0
        if self.padding == "valid":
            return 0, 0
        out = -(-length // self.stride)  # "same": ceil(T / stride) outputs
        total = max((out - 1) * self.stride + self.span + 1 - length, 0)
        return total // 2, total - total // 2

    def alignment(self, input_len: int) -> Alignment:
        """Which input step each output answers to, for inputs of ``input_len`` steps."""
        left, right = self._pads(input_len)
        length = (input_len + left + right - self.span - 1) // self.stride + 1
        if length < 1:
            raise ValueError(
                f"input of {input_len} steps is shorter than the kernel span {self.span + 1}")
        return Alignment(self.span - left, self.stride, length)

    def flat_weight(self) -> Tensor:
        """(C_out, C_in, K) -> (C_out, K*C_in): taps oldest first, as ``forward`` stacks them."""
        return self.weight.permute(0, 2, 1).reshape(self.out_channels, -1)

    backend = "auto"  # "torch": F.conv1d on channels-first data, as plain PyTorch code does
    BACKENDS = ("auto", "torch")

    def forward(self, x: Tensor, time_major: bool = False) -> Tensor:
        """(B, T, C_in) -> (B, T', C_out), T' = ``alignment(T).length``; with ``time_major``
        (T, B, C_in) -> (T, B, C_out), for causal stride-1 layers only (WaveNet's)."""
        if self.backend == "torch":
            return self._torch_forward(x, time_major)
        if time_major:
            return self.split(x, 1)[0]
        left, right = self._pads(x.shape[1])
        x = F.pad(x, (0, 0, left, right))  # (B, T + pads, C)
        n = (x.shape[1] - self.span - 1) // self.stride + 1
        # Stack the K taps on channels and do one matmul: on small CPU workloads like the
        # chapter's this trains several times faster than F.conv1d (measured, torch 2.13).
        end = self.stride * (n - 1) + 1
        taps = [x[:, k * self.dilation : k * self.dilation + end : self.stride]
                for k in range(self.kernel_size)]  # K x (B, T', C_in)
        return F.linear(torch.cat(taps, dim=-1), self.flat_weight(), self.bias)

    def split(self, x: Tensor, parts: int) -> list[Tensor]:
        """Time-major (T, B, C_in) -> ``parts`` contiguous (T, B, C_out / parts) tensors, the
        output channels in order: what ``forward(x, time_major=True).chunk(parts, -1)`` gives,
        without strided halves (a gated unit's elementwise ops run several times faster on
        contiguous ones). Causal stride-1 layers only (WaveNet's)."""
        if self.backend == "torch":
            return list(self._torch_forward(x, True).chunk(parts, dim=-1))
        if self.padding != "causal" or self.stride != 1:
            raise ValueError("time_major needs a causal, stride-1 convolution")
        if self.out_channels % parts:
            raise ValueError(f"{self.out_channels} output channels do not split in {parts}")
        return list(_CausalTimeMajor.apply(x, self.weight, self.bias, self.dilation, parts))

    def _torch_forward(self, x: Tensor, time_major: bool) -> Tensor:
        x = x.permute(1, 2, 0) if time_major else x.transpose(1, 2)  # (B, C_in, T)
        x = F.pad(x, self._pads(x.shape[-1]))
        y = F.conv1d(x, self.weight, self.bias, self.stride, dilation=self.dilation)
        return y.permute(2, 0, 1) if time_major else y.transpose(1, 2)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, dilation={self.dilation}, padding={self.padding!r}")


def _conv_layers(layers: Iterable[nn.Module]) -> list[Conv1d]:
    out = []
    for layer in layers:
        out.extend(m for m in layer.modules() if isinstance(m, Conv1d))
    return out


def stack_alignment(layers: Iterable[nn.Module], input_len: int) -> Alignment:
    """Compose the alignments of the ``Conv1d`` layers in ``layers``, applied in order (other
    layers work step by step and keep the alignment).

    Example:
        >>> stack_alignment([Conv1d(1, 20, 4, 2, padding="valid"), GRU], 50).steps()
        range(3, 51, 2)
    """
    total = Alignment(0, 1, input_len)
    for conv in _conv_layers(layers):
        a = conv.alignment(total.length)
        # output j -> layer input a.offset + j a.stride -> stack input total.offset + (that)
        # total.stride
        total = Alignment(total.offset + a.offset * total.stride, total.stride * a.stride, a.length)
    return total


def receptive_field(layers: Iterable[nn.Module]) -> int:
    """Input steps one output sees: 1 + sum((K-1) * dilation * (product of earlier strides))."""
    field, jump = 1, 1
    for conv in _conv_layers(layers):
        field += conv.span * jump
        jump *= conv.stride
    return field


def align_targets(y, alignment: Alignment):
    """Crop and downsample seq2seq targets (B, T, H) to the outputs of an aligned stack.

    Example:
        >>> align_targets(Y, Conv1d(1, 20, 4, 2, padding="valid").alignment(50))  # Y[:, 3::2]
    """
    steps = alignment.steps()
    if steps.start < 0 or steps[-1] >= y.shape[1]:
        raise ValueError(
            f"outputs answer to input steps {steps.start}..{steps[-1]} but targets cover 0.."
            f"{y.shape[1] - 1}; use causal or valid padding for seq2seq targets"
        )
    return y[:, steps.start : steps[-1] + 1 : steps.step]


class ConvQueue:
    """Streaming state of one causal ``Conv1d`` (Paine et al. 2016): a ring buffer of its last
    (K-1)*dilation inputs, so each new output costs one small matrix product.

    Args:
        conv: a causal, stride-1 ``Conv1d``.
        history: (B, T, C_in) inputs the layer has already seen (T may be 0).
    """

    def __init__(self, conv: Conv1d, history: Tensor):
        if conv.padding != "causal" or conv.stride != 1:
            raise ValueError("only causal, stride-1 convolutions can stream")
        self.dilation, self.size, self.bias = conv.dilation, conv.span, conv.bias
        # (K*C_in, C_out), contiguous: addmm on it is the cheapest small matmul per step
        self.weight_t = conv.flat_weight().detach().t().contiguous()
        self.t = history.shape[1]
        if self.size:
            last = F.pad(history[:, -self.size :], (0, 0, max(self.size - self.t, 0), 0))
            # slot of input step s is s % size; last[i] is step t - size + i
            self.buffer = torch.roll(last, self.t % self.size, dims=1).contiguous()

    def __call__(self, x_t: Tensor) -> Tensor:
        """Push one input step (B, C_in); returns the layer's output at that step (B, C_out)."""
        if self.size:
            k = self.size // self.dilation  # taps before x_t
            taps = [self.buffer[:, (self.t - m * self.dilation) % self.size]
                    for m in range(k, 0, -1)]  # steps t - k d, ..., t - d
            stacked = torch.cat([*taps, x_t], dim=-1)  # copies the taps before the overwrite
            self.buffer[:, self.t % self.size] = x_t  # replaces step t - size, the oldest tap
            x_t = stacked
        self.t += 1
        if self.bias is None:
            return x_t @ self.weight_t
        return torch.addmm(self.bias, x_t, self.weight_t)


class ResidualLayer(nn.Module):
    """One WaveNet layer (van den Oord et al. 2016, section 2.3-2.4): a dilated causal conv
    feeding the gated unit ``tanh(W_f * x) * sigmoid(W_g * x)``, then one 1x1 conv split into
    the residual (added to the input) and the skip output.

    Args:
        channels: residual channels R (input and output, (B, T, R)).
        skip_channels: skip output channels S, (B, T, S).
    """

    def __init__(self, channels: int, skip_channels: int, kernel_size: int = 2, dilation: int = 1):
        super().__init__()
        self.channels = channels
        self.conv = Conv1d(channels, 2 * channels, kernel_size, dilation=dilation)  # filter | gate
        self.out = nn.Linear(channels, channels + skip_channels)  # 1x1 residual | skip
        nn.init.xavier_uniform_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: Tensor, time_major: bool = False) -> tuple[Tensor, Tensor]:
        """(B, T, R) -> residual output (B, T, R), skip (B, T, S); or all (T, B, .)."""
        f, g = (self.conv.split(x, 2) if time_major
                else self.conv(x).chunk(2, dim=-1))  # (B, T, R) or (T, B, R) each
        res, skip = self.out(torch.tanh(f) * torch.sigmoid(g)).split(
            [self.channels, self.out.out_features - self.channels], dim=-1)
        return x + res, skip

    def accumulate(self, x: Tensor, skips: Tensor, bias: Tensor | None = None
                   ) -> tuple[Tensor, Tensor]:
        """``forward`` for time-major stacks, ``(T, B, R), skips -> (x + res, skips + skip)``
        with the running skip sum ``skips`` as (T*B, S) rows, or (S,) to start it. ``bias``
        (B, 2R), where given, is added to the filter | gate pre-activations of each batch row
        at every step (global conditioning).

        The skip bias is left out (a stack adds all of them once). The 1x1's residual and
        skip parts are two products accumulated straight into their sums, and the gate's
        halves are contiguous, so no strided slice or concatenation of a wide output is made,
        forward or backward; these elementwise passes are most of a small WaveNet's step.
        """
        r = self.channels
        f, g = self.conv.split(x, 2)
        if bias is not None:  # (B, R) each, broadcast over the steps; new tensors (torch's
            f, g = f + bias[:, :r], g + bias[:, r:]  # split gives views, not to be overwritten)
        a = (f.tanh_() * g.sigmoid_()).reshape(-1, r)  # (T*B, R); f, g are ours to overwrite
        w, b = self.out.weight, self.out.bias
        h = torch.addmm(x.reshape(-1, r), a, w[:r].t()).add_(b[:r])
        return h.view(x.shape), torch.addmm(skips, a, w[r:].t())
