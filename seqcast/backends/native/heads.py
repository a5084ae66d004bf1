"""The distribution heads' training losses on the CPU through the C kernel of
``csrc/heads.c``: from the raw outputs of the network under a head, the summed pinball or
negative log-likelihood loss and its gradient with respect to those outputs, in one call.

As tensor operations, a head and its loss are about a dozen small operations forward and as
many backward, each microseconds of dispatch, which is more than the whole step of the
chapter's linear model. A training step (``seqcast.steps``) calls a ``Kernel`` for the loss
and hands the gradient it returns to ``out.backward``: no autograd node of our own, no
Python in the backward pass. Where the kernel declines, the head and its loss run as tensor
operations; both give the same loss and gradients to float precision
(tests/test_head_loss.py). What is left of the cost is Python's, per call: a ``Kernel``
keeps its argument struct between calls and checks the tensors with a few attribute reads.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .build import library
from .structs import MAX_QUANTILES, HeadLoss, Loss, Status

_F32 = torch.float32


class Kernel:
    """The loss ``kind`` with ``k`` parameters per step (``levels``: the pinball's (K,)
    quantile levels). ``kernel(out, y, scale)``, for raw outputs ``out`` (..., K H) and
    targets ``y`` (..., H): (the summed loss, 0-dim; the gradient of ``scale`` times it with
    respect to ``out``), or None where the kernel cannot take these tensors (anything but
    float32 on the CPU, other shapes). One ``Kernel`` is one training loop's: its argument
    struct is reused by every call."""

    def __init__(self, kind: Loss, k: int, levels: Tensor | None = None):
        if library() is None:
            raise RuntimeError("the C kernels could not be built here")
        if not 1 <= k <= MAX_QUANTILES:
            raise ValueError(f"at most {MAX_QUANTILES} parameters per step, got {k}")
        self.k = k
        self.levels = None if levels is None else levels.to("cpu", _F32).contiguous()
        self.args = HeadLoss(kind=int(kind), K=k,
                             levels=None if levels is None else self.levels.data_ptr())
        self.call = library().seqcast_head_loss

    def __call__(self, out: Tensor, y: Tensor, scale: float) -> tuple[Tensor, Tensor] | None:
        if not (out.is_cpu and y.is_cpu and out.dtype is _F32 and y.dtype is _F32):
            return None
        shape = out.shape
        if len(shape) == 2 and y.dim() == 2:  # the usual (B, K H) and (B, H)
            o, t = out, y
        elif len(shape) < 2 or shape[:-1] != y.shape[:-1]:
            return None
        else:  # (B, T, K H) and (B, T, H) of sequence outputs: N = B T rows, views if they can
            o, t = out.reshape(-1, shape[-1]), y.reshape(-1, y.shape[-1])
        (n, c), (n_y, h) = o.shape, t.shape
        if n != n_y or c != self.k * h or n == 0 or h == 0:
            return None
        (o_row, o_col), (t_row, t_col) = o.stride(), t.stride()
        if o_col != 1 or o_row < c:
            o, o_row = o.contiguous(), c
        if t_col != 1 or t_row < h:
            t, t_row = t.contiguous(), h
        loss, grad = torch.empty(()), torch.empty(n, c)
        a = self.args
        a.N, a.H, a.out, a.out_stride, a.y, a.y_stride = n, h, o.data_ptr(), o_row, t.data_ptr(), t_row
        a.scale, a.loss, a.grad = scale, loss.data_ptr(), grad.data_ptr()
        code = self.call(a)
        if code != 0:
            if code == Status.NO_MEMORY:
                raise MemoryError("the head loss C kernel could not allocate its scratch memory")
            raise ValueError("the head loss C kernel refused its arguments (a size out of range)")
        return loss, (grad if len(shape) == 2 else grad.view(shape))
