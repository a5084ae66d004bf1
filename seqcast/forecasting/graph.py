"""A whole forecast as one module: raw history in the data's units to forecasts in them.

``ForecastGraph`` does what ``Forecaster.forecast_arrays`` does, in torch operations only, so
that it can be exported as one ONNX graph: pick each row's scaling statistics by its series
index, take logarithms (a run trained with ``log``), difference, scale, run the network by
the run's strategy (the iterative rollout unrolled over the horizon), then undo scaling,
differencing and the logarithm exactly. Transforms run in float64 as ``SeriesTransform``
does; the network runs in float32 as in training.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .graph_inputs import CovariateChannels


def undifference(d: Tensor, level: Tensor, lag: int) -> Tensor:
    """``seqcast.data.transforms.undifference`` in torch: d (B, H) after level (B, T) -> (B, H).

    ``out[t] = d[t] + (level ++ out)[T + t - lag]``, unrolled (H is small), the same
    additions in the same order as the numpy version, so the results are identical.
    """
    past, outs = level[:, -lag:], []
    for t in range(d.shape[1]):
        base = past[:, t : t + 1] if t < lag else outs[t - lag]
        outs.append(d[:, t : t + 1] + base)
    return torch.cat(outs, dim=1)


class ForecastGraph(nn.Module):
    """history (B, history_len) float64, series (B,) int64, covariates -> forecast (B, horizon)
    float64.

    Args:
        network: the trained model in eval mode, on torch's own kernels (traceable).
        mean, std: (S,) each series' scaling statistics, indexed by ``series``.
        lags: the differencing lags, applied in order.
        input_len: steps the network reads; ``history_len = input_len + sum(lags)``.
        strategy: "direct", "seq2seq" (the forecast at the last input step) or "iterative".
        covariates: for a run with covariates, the module that makes its channels; the
            covariate inputs (``seqcast.forecasting.graph_inputs``) follow ``series`` in
            ``forward``, in the order of ``covariates.names``.
        log: whether the run models the logarithm of the series (its histories must then be
            positive: a row with a value <= 0 among the steps read gets NaN, inf or 0).
    """

    def __init__(self, network: nn.Module, mean, std, lags: tuple[int, ...], input_len: int,
                 horizon: int, strategy: str, covariates: CovariateChannels | None = None,
                 log: bool = False):
        super().__init__()
        self.log = log
        self.network, self.covariates = network, covariates
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float64))
        self.register_buffer("std", torch.as_tensor(std, dtype=torch.float64))
        self.lags, self.input_len, self.horizon, self.strategy = lags, input_len, horizon, strategy

    def _step(self, x: Tensor) -> Tensor:
        out = self.network(x)  # (B, H') or (B, L, H') for a sequence model
        return out[:, -1] if out.dim() == 3 else out

    def inputs(self, history: Tensor, series: Tensor, covariates) -> tuple:
        """The network's window and what undoing the transforms needs: (x (B, L, C) float32,
        ahead (B, horizon, C - 1) or None, levels, mean (B, 1), std (B, 1)), ``levels[k]``
        being the history differenced by ``lags[:k]``."""
        mean = self.mean[series].unsqueeze(1)  # (B,) -> (B, 1)
        std = self.std[series].unsqueeze(1)
        levels = [torch.log(history) if self.log else history]  # differenced by lags[:k]
        for lag in self.lags:
            levels.append(levels[-1][:, lag:] - levels[-1][:, :-lag])
        z = (levels[-1][:, -self.input_len :] - mean) / std
        x = z.to(torch.float32).unsqueeze(-1)  # (B, L, 1)
        ahead = None
        if self.covariates is not None:  # (B, L, 1 + C), and (B, horizon, C) after the window
            extra = self.horizon if self.strategy == "iterative" else 0
            window, ahead = self.covariates(dict(zip(self.covariates.names, covariates)), extra)
            x = torch.cat([x, window], dim=2)
        return x, ahead, levels, mean, std

    def invert(self, z: Tensor, levels: list[Tensor], mean: Tensor, std: Tensor) -> Tensor:
        """Transformed values z (B, H) -> the data's units: unscale, undo differencing, then
        the logarithm."""
        d = z.to(torch.float64) * std + mean  # (B, H)
        for lag, level in zip(reversed(self.lags), reversed(levels[:-1])):
            d = undifference(d, level, lag)
        return torch.exp(d) if self.log else d

    def forward(self, history: Tensor, series: Tensor, *covariates: Tensor) -> Tensor:
        x, ahead, levels, mean, std = self.inputs(history, series, covariates)
        if self.strategy == "iterative":
            steps = []
            for k in range(self.horizon):  # unrolled: feed each forecast back, window of L
                nxt = self._step(x)[:, :1]  # (B, 1)
                steps.append(nxt)
                x = feed_back(x, nxt, ahead, k)
            out = torch.cat(steps, dim=1)
        else:
            out = self._step(x)[:, : self.horizon]
        return self.invert(out, levels, mean, std)


def feed_back(x: Tensor, nxt: Tensor, ahead: Tensor | None, k: int) -> Tensor:
    """The window x (B, L, C) moved one step on: step k's value nxt (B, 1) appended (as
    float32) beside that step's covariate channels ``ahead[:, k]``, the oldest step dropped."""
    row = nxt.to(torch.float32).unsqueeze(-1)  # (B, 1, 1)
    row = row if ahead is None else torch.cat([row, ahead[:, k : k + 1]], dim=2)
    return torch.cat([x[:, 1:], row], dim=1)
