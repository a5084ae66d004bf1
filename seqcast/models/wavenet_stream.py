"""WaveNet's per-sample steps (Paine et al. 2016): the streaming state of the full WaveNet,
and the CUDA-graph replay of the steps on a GPU."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from ..nn.conv import ConvQueue


class Stream:
    """A WaveNet's streaming state: its queues plus weights laid out for the per-sample step
    (transposed for addmm; each layer's 1x1 split into residual and skip, the skips stacked)
    so a step costs few small ops: at batch 1 the step is bound by per-op overhead."""

    def __init__(self, layers, queues: list[ConvQueue]):
        r = layers[0].channels
        self.input = queues[0]
        weights = [(layer.out.weight.detach(), layer.out.bias.detach()) for layer in layers]
        self.layers = [(q, w[:r].t().contiguous(), b[:r])
                       for q, (w, b) in zip(queues[1:], weights, strict=True)]
        self.skip_weight = torch.cat([w[r:].t() for w, _ in weights]).contiguous()  # (L*R, S)
        self.skip_bias = torch.stack([b[r:] for _, b in weights]).sum(0)


def _period(step: Callable, x: Tensor, state, n: int) -> tuple[Tensor, Tensor]:
    """``n`` fed-back steps of the dense head from the value ``x`` (B, 1): (B, n), last."""
    values = []
    for _ in range(n):
        x = step(x, state)[:, :1]
        values.append(x)
    return torch.cat(values, dim=1), x


def graphed(step: Callable, x: Tensor, state, steps: int, spans) -> Tensor:
    """``steps`` values (B, steps) from ``x`` (B, 1), ``step(x, state)`` captured once as a
    CUDA graph and replayed, so kernel launches stop dominating. Each queue's ring slot is
    baked into the graph, so one graph spans a whole period of slots: the lcm of the queue
    sizes ``spans`` (512 for dilations up to 512), which keeps every replay's slots right."""
    period = math.lcm(*(span or 1 for span in spans))
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):  # warm-up (cuBLAS, allocator): one real period
        warm, nxt = _period(step, x, state, period)
    torch.cuda.current_stream().wait_stream(side)
    chunks, static_x = [x, warm], nxt.clone()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):  # records only; queue positions advance by a period
        static_values, static_next = _period(step, static_x, state, period)
    while sum(c.shape[1] for c in chunks) < steps:
        graph.replay()
        chunks.append(static_values.clone())
        static_x.copy_(static_next)
    return torch.cat(chunks, dim=1)[:, :steps]
