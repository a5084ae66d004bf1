"""An ensemble of networks as one graph: each member's ``ForecastGraph`` on the same inputs,
combined inside the graph as ``Ensemble`` combines them (the median, or a weighted mean).

Members may read different window lengths, differencing and strategies: the graph's
``history`` is as long as the longest member's, each member reads its own last steps of it
(and of the covariate inputs), so one set of inputs serves them all.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .graph_inputs import future_steps, input_shapes


def check_members(ensemble) -> None:
    """One-line ``ValueError`` unless every member is a network run that can be exported."""
    from ..pipeline import Forecaster

    for k, m in enumerate(ensemble.members):
        if not isinstance(m, Forecaster):
            kind = getattr(m, "kind", None) or type(m).__name__
            raise ValueError(f"cannot export this ensemble: member {k} is a {kind!r} model;"
                             " only ensembles of networks export (--model auto"
                             " --networks-only searches networks alone)")
    first = ensemble.members[0]
    for k, m in enumerate(ensemble.members[1:], 1):
        if list(m.transforms) != list(first.transforms) or \
                input_shapes(m, 1).keys() != input_shapes(first, 1).keys():
            raise ValueError(f"cannot export this ensemble: member {k} reads other series or"
                             " covariates than member 0")


def ensemble_shapes(ensemble, horizon: int) -> dict[str, list]:
    """The graph's inputs -> shapes: the longest history and future of any member."""
    n = ensemble.min_history
    ahead = max(future_steps(m.config, horizon) for m in ensemble.members)
    shapes = {"history": ["batch", n], "series": ["batch"]}
    for key, shape in input_shapes(ensemble.members[0], horizon).items():
        rows = {"past": n, "future": n + ahead, "calendar": n + ahead}
        shapes[key] = ["batch", rows[key], shape[-1]] if key in rows else shape
    return shapes


class EnsembleGraph(nn.Module):
    """history (B, N), series (B,), covariates -> the combined forecast (B, horizon).

    Args:
        members: each member's ``ForecastGraph`` (built for the same horizon).
        history_len: N, the longest member history.
        weights: () for the median, else one weight per member (a weighted mean).
    """

    def __init__(self, members: list[nn.Module], history_lens: list[int], history_len: int,
                 weights: tuple[float, ...] = ()):
        super().__init__()
        self.members = nn.ModuleList(members)
        self.history_lens, self.history_len = history_lens, history_len
        self.horizon = members[0].horizon
        w = torch.tensor(weights, dtype=torch.float64)
        self.register_buffer("weights", w / w.sum() if len(weights) else w)

    def forward(self, history: Tensor, series: Tensor, *covariates: Tensor) -> Tensor:
        outs = []
        for graph, n in zip(self.members, self.history_lens, strict=True):
            start = self.history_len - n  # the member's own last n steps of every 3-D input
            covs = [c[:, start:] if c.dim() == 3 else c for c in covariates]
            outs.append(graph(history[:, start:], series, *covs))
        preds = torch.stack(outs)  # (K, B, H)
        if len(self.weights):
            return torch.einsum("k,kbh->bh", self.weights, preds)
        k = len(outs)
        ordered = torch.sort(preds, dim=0).values  # numpy's median: the middle, or two's mean
        if k % 2:
            return ordered[k // 2]
        return (ordered[k // 2 - 1] + ordered[k // 2]) / 2


def build_ensemble_graph(ensemble, horizon: int | None = None) -> EnsembleGraph:
    """The ensemble as one module (copies of its members' networks)."""
    from .export import build_graph

    check_members(ensemble)
    horizon = ensemble.config.data.horizon if horizon is None else horizon
    graphs = [build_graph(m, horizon) for m in ensemble.members]
    return EnsembleGraph(graphs, [m.min_history for m in ensemble.members],
                         ensemble.min_history, tuple(ensemble.weights))
