"""Covariates as graph inputs: raw arrays in the data's units to the network's channels.

The exported graph and ``Predictor`` take covariates as batch arrays aligned with the
``history_len`` values of ``history`` (row i of each is the step of ``history[:, i]``):

- ``past``: float64 (B, history_len, P), the past covariate columns;
- ``future``: float64 (B, history_len + future_steps, F), the future covariate columns over
  the history and the ``future_steps`` steps after it;
- ``calendar``: float64 (B, history_len + future_steps, 2K), the calendar features of the
  same steps as ``future`` (``seqcast.data.calendar.calendar_features``; the formulas are
  in the graph's metadata);
- ``static``: float64 (B, S_n), the numeric static columns;
- ``static_codes``: int64 (B, S_c), each categorical static column's value as its code:
  1 + its position in the run's sorted categories, 0 for a value not seen in training.

``CovariateChannels`` scales them with the run's statistics (constants of the module) and
lays them out as ``seqcast.data.covariates.CovariateScaler.features`` does, in float64.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

INPUTS = ("past", "future", "calendar", "static", "static_codes")


def future_steps(config, horizon: int) -> int:
    """Steps after the history that ``future`` and ``calendar`` cover: a direct or seq2seq
    model reads its whole trained horizon, the iterative rollout one step per forecast."""
    return horizon if config.data.strategy == "iterative" else max(horizon, config.data.horizon)


def input_shapes(forecaster, horizon: int) -> dict[str, list]:
    """Each covariate input the run reads -> its shape, ``"batch"`` first."""
    data, scaler = forecaster.config.data, forecaster.covariate_scaler
    if scaler is None:
        return {}
    n, ahead = forecaster.min_history, future_steps(forecaster.config, horizon)
    widths = {"past": len(scaler.past_mean), "future": len(data.future_covariates),
              "calendar": 2 * len(data.calendar), "static": len(scaler.static_mean),
              "static_codes": len(scaler.categories)}
    rows = {"past": n, "future": n + ahead, "calendar": n + ahead}
    return {k: ["batch", *([rows[k]] if k in rows else []), w] for k, w in widths.items() if w}


class CovariateChannels(nn.Module):
    """Covariate inputs -> the network's channels besides the target, in float64.

    Args:
        scaler: the run's ``CovariateScaler`` (its statistics become constants here).
        names: the inputs the run reads, a subset of ``INPUTS`` in that order.
        history_len, input_len: steps of ``history`` and of the network's window.
        model_horizon: future steps each input row holds (the network's horizon).
    """

    def __init__(self, scaler, names: tuple[str, ...], history_len: int, input_len: int,
                 model_horizon: int):
        super().__init__()
        self.names, self.n, self.input_len, self.h = names, history_len, input_len, model_horizon
        for key in ("past", "future", "static"):
            for stat in ("mean", "std"):
                values = getattr(scaler, f"{key}_{stat}")
                self.register_buffer(f"{key}_{stat}", torch.tensor(values, dtype=torch.float64))

    def forward(self, inputs: dict[str, Tensor], extra: int) -> tuple[Tensor, Tensor | None]:
        """-> window (B, input_len, C) and, for ``extra`` > 0 steps of an iterative rollout,
        the channels of each step after the history (B, extra, C); float32 as trained."""
        n, L, window, ahead = self.n, self.input_len, [], []
        if "past" in inputs:
            p = (inputs["past"] - self.past_mean) / self.past_std  # (B, n, P)
            window.append(p[:, n - L :])
            ahead.append(p[:, -1:].expand(-1, extra, -1))  # held at the last observed value
        fut = [inputs[k] for k in ("future", "calendar") if k in inputs]
        if fut:
            f = (torch.cat(fut, dim=2) - self.future_mean) / self.future_std  # (B, n + A, F)
            # zeros past the given steps, which only a rollout's unused last row reads
            f = F.pad(f, (0, 0, 0, self.h + extra))
            window += [f[:, n - L + k : n + k] for k in range(1, self.h + 1)]
            ahead += [f[:, n + k : n + k + extra] for k in range(1, self.h + 1)]
        row = []
        if "static" in inputs:
            row.append((inputs["static"] - self.static_mean) / self.static_std)
        if "static_codes" in inputs:
            row.append(inputs["static_codes"].to(torch.float64))
        if row:
            s = torch.cat(row, dim=1).unsqueeze(1)  # (B, 1, S)
            window.append(s.expand(-1, L, -1))
            ahead.append(s.expand(-1, extra, -1))
        w = torch.cat(window, dim=2).to(torch.float32)
        return w, (torch.cat(ahead, dim=2).to(torch.float32) if extra else None)


def check_inputs(scaler, shapes: dict[str, list], given, batch: int, rows: int,
                 history_len: int, single: bool) -> dict[str, Tensor]:
    """The covariate arrays of a ``predict`` call, checked and cut to the rows the model
    reads: float64 tensors (int64 for codes). ``given`` maps input name -> array aligned
    with a history of ``rows`` steps (its first row is the history's first step); a 1-D
    history takes arrays without the batch dimension."""
    import numpy as np

    names = tuple(shapes)
    valid = ", ".join(names) or "none (the model reads no covariates)"
    given = {} if given is None else given
    if not isinstance(given, dict):
        raise ValueError(f"covariates must be a dict of arrays by input name; valid: {valid}")
    for key in given:
        if key not in names:
            raise ValueError(f"unknown covariate input {key!r}; valid: {valid}")
    out = {}
    for key in names:
        if key not in given:
            raise ValueError(f"covariates[{key!r}] is missing; this model reads {valid}")
        arr = np.asarray(given[key])
        arr = arr[None] if single else arr
        shape = shapes[key]  # ["batch", steps, width] or ["batch", width]
        if len(shape) == 3:
            start = rows - history_len
            need, width = start + shape[1], shape[2]
            if arr.ndim != 3 or len(arr) != batch or arr.shape[1] < need or arr.shape[2] != width:
                raise ValueError(f"covariates[{key!r}] has shape {np.shape(given[key])}, expected"
                                 f" (batch {batch}, >= {need} steps from the history's first,"
                                 f" {width})")
            arr = arr[:, start:need]
        elif arr.shape != (batch, shape[1]):
            raise ValueError(f"covariates[{key!r}] has shape {np.shape(given[key])}, expected"
                             f" ({batch}, {shape[1]})")
        if key == "static_codes":
            if arr.dtype.kind not in "iu":
                raise ValueError(f"covariates['static_codes'] must be integers, got {arr.dtype}")
            top = [len(c) for c in scaler.categories]
            if arr.min(initial=0) < 0 or (arr > np.array(top)).any():
                raise ValueError(f"covariates['static_codes'] must be codes in 0..{top}"
                                 " per column (0: a value not seen in training)")
            out[key] = torch.from_numpy(arr.astype(np.int64))
            continue
        if arr.dtype.kind not in "iuf" or not np.isfinite(arr).all():
            raise ValueError(f"covariates[{key!r}] must hold finite numbers")
        out[key] = torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float64))
    return out


def as_covariates(scaler, inputs: dict) -> list:
    """The arrays of the graph's covariate inputs as one ``Covariates`` per row, as
    ``Forecaster.forecast_arrays`` takes them (code 0 becomes a value never seen)."""
    import numpy as np

    from ..data.covariates import Covariates

    out = []
    for i in range(len(next(iter(inputs.values())))):
        fut = [inputs[k][i] for k in ("future", "calendar") if k in inputs]
        nums = iter(inputs["static"][i]) if "static" in inputs else iter(())
        codes = iter(enumerate(inputs["static_codes"][i])) if "static_codes" in inputs \
            else iter(())
        static = []
        for numeric in scaler.numeric:
            if numeric:
                static.append(str(float(next(nums))))
            else:
                k, c = next(codes)
                static.append(scaler.categories[k][c - 1] if c > 0 else "\0unseen")
        out.append(Covariates(inputs["past"][i] if "past" in inputs else None,
                              np.concatenate(fut, axis=1) if fut else None,
                              tuple(static) if static else None))
    return out
