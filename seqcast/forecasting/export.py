"""Export a trained forecaster as one ONNX graph, usable without seqcast.

The graph (``seqcast.forecasting.graph.ForecastGraph``) takes

- ``history``: float64 (batch, history_len), the last ``history_len`` values of each series
  before the forecast origin, in the data's own units;
- ``series``: int64 (batch,), which series each row is: its position in the ``series_ids``
  metadata list (each series has its own scaling statistics, baked into the graph);
- for a run with covariates, the inputs of ``seqcast.forecasting.graph_inputs`` it reads
  (``past``, ``future``, ``calendar``, ``static``, ``static_codes``), in the data's units,
  their scaling inside the graph;

and returns ``forecast``: float64 (batch, horizon) in the data's own units. Scaling,
differencing and its inverse, the network and the strategy (the iterative rollout unrolled)
are all inside; the batch is dynamic. The model's metadata (``metadata_props``, string
values, JSON for lists) holds everything a caller needs: see ``export_metadata``. A run
with conformal intervals exported with ``levels`` also returns ``lo-L`` and ``hi-L`` per
level (``conformal_graph``); so does a run with a quantile or distribution head, its
``forecast`` being each step's median (``head_graph``; where its intervals come from
sample paths, the graph takes the draws as an input, ``noise``); an ensemble of networks is
one graph with every member inside, combined as the ensemble combines them
(``ensemble_graph``).

The network is exported on torch's own kernels (``set_backend(..., "torch")``): the C
kernels are opaque to tracing, and a stock cell then becomes ONNX's own GRU/LSTM/RNN node.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import os
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..nn.recurrent import set_backend
from .conformal_graph import ConformalGraph, output_names, radii, series_scales
from .ensemble_graph import build_ensemble_graph, ensemble_shapes
from .export_metadata import metadata
from .graph import ForecastGraph
from .graph_inputs import CovariateChannels, as_covariates, input_shapes
from .head_graph import HeadGraph, check_levels, has_head, sampled, seqcast_noise
from .intervals import SAMPLES

FORMATS = ("onnx",)


def build_graph(forecaster, horizon: int | None = None, levels=()) -> ForecastGraph:
    """The forecaster as one module (a copy: the forecaster itself is left as it was); a run
    with a quantile or distribution head gives its median forecast and, with ``levels``,
    ``lo-L``/``hi-L`` per level (``head_graph``)."""
    data, cfg = forecaster.config.data, forecaster.config.model
    horizon = data.horizon if horizon is None else horizon
    if data.strategy != "iterative" and not 1 <= horizon <= data.horizon:
        raise ValueError(f"horizon must be in 1..{data.horizon} for strategy {data.strategy!r},"
                         f" got {horizon}")
    tfs = list(forecaster.transforms.values())
    lags, logs = {t.lags for t in tfs}, {t.log for t in tfs}
    if len(lags) != 1 or len(logs) != 1:
        raise ValueError(f"series are transformed differently (lags {sorted(lags)}, log"
                         f" {sorted(logs)}); cannot export")
    network = set_backend(copy.deepcopy(forecaster.model), "torch").eval()
    for p in network.parameters():
        p.requires_grad_(False)
    cov = None
    if forecaster.covariate_scaler is not None:
        cov = CovariateChannels(forecaster.covariate_scaler, tuple(input_shapes(forecaster, 1)),
                                forecaster.min_history, cfg.input_len, cfg.horizon)
    args = (network, [t.mean for t in tfs], [t.std for t in tfs], lags.pop(), cfg.input_len,
            horizon, data.strategy, cov)
    if has_head(cfg):
        check_levels(forecaster, levels)
        return HeadGraph(*args, cfg, levels, SAMPLES if levels and sampled(forecaster) else 0,
                         log=logs.pop())
    return ForecastGraph(*args, log=logs.pop())


def graph_shapes(forecaster, horizon: int, levels=()) -> dict[str, list]:
    """Every input of the graph -> its shape, ``"batch"`` first: ``history``, ``series``,
    the covariates, and ``noise`` for a head run's intervals from sample paths."""
    if hasattr(forecaster, "scores"):  # conformal: the network's inputs, no draws
        forecaster, levels = forecaster.inner, ()
    if hasattr(forecaster, "members"):
        return ensemble_shapes(forecaster, horizon)
    shapes = {"history": ["batch", forecaster.min_history], "series": ["batch"],
              **input_shapes(forecaster, horizon)}
    if levels and has_head(forecaster.config.model) and sampled(forecaster):
        shapes["noise"] = ["batch", SAMPLES, horizon]
    return shapes


def example_inputs(forecaster, shapes: dict[str, list], n: int, rng=None) -> dict[str, np.ndarray]:
    """Inputs of the graph for ``n`` rows: random walks on each series' scale (zeros without
    ``rng``; their exponentials for a run on logarithms), covariates of the right shapes
    (codes cycling through every category) and seqcast's own draws as ``noise``;
    ``forecaster``: a network run (an ensemble's first member)."""
    ids = list(forecaster.transforms)
    rows = np.arange(n) % len(ids)
    tfs = [forecaster.transforms[ids[i]] for i in rows]
    shape = (n, shapes["history"][1])
    walk = np.zeros(shape) if rng is None else np.cumsum(rng.standard_normal(shape), axis=1)
    history = walk * np.array([t.std for t in tfs])[:, None] + np.array([t.mean for t in tfs])[:, None]
    logs = np.array([t.log for t in tfs], dtype=bool)  # a log run's histories: positive
    history[logs] = np.exp(history[logs])
    out = {"history": history, "series": rows}
    for key, shape in list(shapes.items())[2:]:
        shape = (n, *shape[1:])
        if key == "noise":
            out[key] = seqcast_noise(forecaster, n, shape[2], shape[1])
        elif key == "static_codes":
            cats = forecaster.covariate_scaler.categories
            out[key] = np.stack([np.arange(n) % (len(c) + 1) for c in cats], axis=1)
        else:
            out[key] = np.zeros(shape) if rng is None else rng.normal(1.0, 2.0, shape)
    return out


def export_onnx(forecaster, out: str | Path, horizon: int | None = None,
                check: bool = True, freq: str | None = None, levels=()) -> Path:
    """Write ``forecaster`` as an ONNX file at ``out`` (replaced only once complete).

    Args:
        horizon: steps per forecast (default: the run's; up to it, or any for "iterative").
        check: run the graph with onnxruntime on random-walk histories of (up to 64 of)
            the series and compare with ``forecaster.forecast_arrays`` (within 1e-4 of each
            history's scale) before writing the file.
        freq: recorded in the metadata (default: the run's configured frequency).
        levels: interval levels in percent, for a run with conformal intervals or a
            quantile or distribution head: outputs ``lo-L`` and ``hi-L`` per level beside
            ``forecast`` (a head run whose intervals come from sample paths also takes the
            draws as an input, ``noise``: see ``head_graph``).

    Example:
        >>> export_onnx(load_run("runs/co2"), "co2.onnx")  # doctest: +SKIP
    """
    try:
        import onnx
        import onnxruntime  # noqa: F401  (the check runs the graph)
        import onnxscript  # noqa: F401  (torch's exporter writes the graph with it)
    except ImportError as exc:
        raise ValueError(f"ONNX export needs {exc.name}: pip install 'seqcast[export]'") from None
    levels = tuple(levels)
    conformal = hasattr(forecaster, "scores")
    core = forecaster.inner if conformal else forecaster  # conformal: what it wraps
    if levels and hasattr(forecaster, "members"):
        raise ValueError("intervals of an ensemble export only when it was trained with"
                         " --intervals conformal; export it without --level for its point"
                         " forecast")
    if levels and not conformal and not has_head(forecaster.config.model):
        raise ValueError("this run gives point forecasts only; intervals export from runs"
                         " trained with --quantiles, --likelihood or --intervals conformal")
    if hasattr(core, "members"):  # an ensemble: every member inside, combined
        graph, head = build_ensemble_graph(core, horizon), core.members[0]
        network, name = graph, "ensemble"
        if conformal:  # then lo/hi per level around the combined forecast
            graph = ConformalGraph(graph, series_scales(forecaster),
                                   radii(forecaster, levels, graph.horizon))
    elif conformal:  # the network, then lo/hi per level
        head = core
        inner = build_graph(head, horizon)
        graph = ConformalGraph(inner, series_scales(forecaster),
                               radii(forecaster, levels, inner.horizon))
        network, name = graph.network, head.config.model.name
    else:
        graph, head = build_graph(forecaster, horizon, levels), forecaster
        network, name = graph.network, forecaster.config.model.name
    shapes = graph_shapes(forecaster, graph.horizon, levels)
    n = max(2, min(len(head.transforms), 4))
    example = tuple(torch.from_numpy(a) for a in example_inputs(head, shapes, n).values())
    inputs, outputs = list(shapes), output_names(levels)
    batch = torch.export.Dim("batch")
    # history, series, then the covariate inputs, which ``forward`` takes as *covariates
    dynamic = ({0: batch}, {0: batch}) + ((tuple({0: batch} for _ in inputs[2:]),)
                                          if inputs[2:] else ())
    with _quiet(), _blame(network, name):
        program = torch.onnx.export(graph, example, dynamo=True, input_names=inputs,
                                    output_names=outputs, verbose=False,
                                    dynamic_shapes=dynamic)
    proto = program.model_proto
    for key, value in metadata(forecaster, graph.horizon, freq, levels).items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    if check:
        _check(proto.SerializeToString(), forecaster, head, shapes, graph.horizon, levels)
    from ..outputs import write_file

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    return write_file(out, lambda tmp: onnx.save_model(proto, tmp))


def _check(model: bytes, forecaster, head, shapes: dict, horizon: int, levels=()) -> None:
    """Compare onnxruntime with the forecaster on random-walk histories of every series
    (``head``: the forecaster, or an ensemble's first member, for the series' scales)."""
    import onnxruntime as ort

    ids = list(head.transforms)[:64]
    feed = example_inputs(head, shapes, len(ids), np.random.default_rng(0))
    hist = feed["history"]
    covs = {k: v for k, v in feed.items() if k not in ("history", "series", "noise")}
    at = as_covariates(head.covariate_scaler, covs) if covs else None
    want = forecaster.forecast_arrays(list(hist), ids, horizon, at)
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    outs = session.run(None, feed)
    if levels:  # lo-L, hi-L as the forecaster's own quantiles 0.5 -/+ L/200
        qs = [q for level in levels for q in (0.5 - level / 200, 0.5 + level / 200)]
        bands = forecaster.forecast_quantiles(list(hist), ids, qs, horizon, at)  # (N, H, 2L)
        want = np.concatenate([want[:, :, None], bands], axis=2)
    got = np.stack(outs, axis=2) if levels else outs[0]
    scale = np.maximum(hist.std(axis=1), 1e-12).reshape(-1, *[1] * (got.ndim - 1))
    err = np.max(np.abs(got - want) / scale)
    if not err <= 1e-4:
        raise ValueError(f"the exported graph differs from the model by {err:.2g} of the series'"
                         " scale; not written")


@contextlib.contextmanager
def _quiet():
    """The exporter's progress lines and warnings are about its internals, not the user's model."""
    logger = logging.getLogger("torch")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    with warnings.catch_warnings(), open(os.devnull, "w") as null, \
            contextlib.redirect_stdout(null), contextlib.redirect_stderr(null):
        warnings.simplefilter("ignore")
        try:
            yield
        finally:
            logger.setLevel(level)


@contextlib.contextmanager
def _blame(network: nn.Module, name: str):
    """Turn a tracing failure into a one-line ValueError naming the innermost module that was
    running (hooks keep the stack of modules entered and not yet left)."""
    stack: list[str] = []
    names = {m: n for n, m in network.named_modules()}

    def leave(module, args, output) -> None:  # returns None: a returned value would replace output
        stack.pop()

    hooks = []
    for module in names:
        hooks.append(module.register_forward_pre_hook(lambda m, a: stack.append(names.get(m, ""))))
        hooks.append(module.register_forward_hook(leave))
    try:
        yield
    except Exception as exc:
        part = stack[-1] if stack else ""
        module = network.get_submodule(part) if part else network
        kind = type(getattr(module, "cell", module)).__name__
        where = f"part {part!r} ({kind})" if part else f"network ({kind})"
        while exc.__cause__ is not None:  # the exporter wraps the tracing error in its own
            exc = exc.__cause__
        text = str(exc).replace("\x1b", "")
        reason = next((line for line in text.splitlines() if line.strip()), type(exc).__name__)
        raise ValueError(f"cannot export model {name!r}: {where} cannot be traced: {reason[:200]}") \
            from None
    finally:
        for h in hooks:
            h.remove()
