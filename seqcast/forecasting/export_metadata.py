"""What an exported graph's caller needs, as ONNX ``metadata_props`` (strings; lists and
objects as JSON): the inputs and their shapes, the series, the columns and the covariates'
column order, with the calendar features' formulas."""

from __future__ import annotations

import json

from ..data.calendar import FORMULAS, column_names
from .graph_inputs import future_steps
from .intervals import SAMPLES


def covariate_metadata(forecaster, horizon: int) -> dict[str, str]:
    """The covariate inputs' column order, categories and calendar formulas (a network run)."""
    data, scaler = forecaster.config.data, forecaster.covariate_scaler
    if scaler is None:
        return {}
    statics = list(data.static_covariates)
    numeric = [c for c, n in zip(statics, scaler.numeric, strict=True) if n]
    coded = [c for c, n in zip(statics, scaler.numeric, strict=True) if not n]
    return {
        "future_steps": str(future_steps(forecaster.config, horizon)),
        "past_columns": json.dumps(list(data.past_covariates)),
        "future_columns": json.dumps(list(data.future_covariates)),
        "calendar_columns": json.dumps(column_names(tuple(data.calendar))),
        "calendar_formulas": json.dumps({k: FORMULAS[k] for k in data.calendar}),
        "static_columns": json.dumps(numeric),
        "static_code_columns": json.dumps(coded),
        "static_categories": json.dumps({c: list(v) for c, v in zip(coded, scaler.categories,
                                                                    strict=True)}),
    }


def head_metadata(forecaster, levels, noise: bool, conformal: bool) -> dict[str, str]:
    """How the interval outputs are made ("conformal", "exact", "sample paths", or "" for
    none) and, for a quantile or distribution head, the head and the ``noise`` input."""
    from .head_graph import head_name, noise_kind

    cfg = forecaster.config.model
    kind = "conformal" if conformal else "sample paths" if noise else "exact"
    meta = {"intervals": kind if levels else ""}
    if head_name(cfg):
        meta.update({"head": head_name(cfg), "head_quantiles": json.dumps(list(cfg.quantiles)),
                     "point": "the median of each step's distribution"})
    if noise:
        meta.update({"samples": str(SAMPLES), "noise": noise_kind(forecaster),
                     "noise_seed": str(forecaster.config.train.seed)})
    return meta


def metadata(forecaster, horizon: int, freq: str | None = None, levels=()) -> dict[str, str]:
    """Metadata of the graph of ``forecaster`` (a network run, an ensemble of them, or a run
    with conformal intervals at ``levels``).

    ``freq``: the pandas frequency of the timestamps ("" for none or unknown); default the
    run's configured one."""
    from .. import __version__
    from .conformal_graph import output_names
    from .export import graph_shapes

    shapes = graph_shapes(forecaster, horizon, levels)
    conformal = hasattr(forecaster, "scores")
    forecaster = getattr(forecaster, "inner", forecaster)  # conformal: the network's run
    members = getattr(forecaster, "members", [forecaster])
    head = members[0]
    data, model = head.config.data, head.config.model
    covs = covariate_metadata(head, horizon)
    if len(members) > 1 or forecaster is not head:
        ahead = shapes.get("future", shapes["history"])[1] - shapes["history"][1]
        covs = {**covs, "future_steps": str(ahead)} if covs else covs
    meta = {
        "producer": f"seqcast {__version__}",
        "inputs": json.dumps(list(shapes)),
        "outputs": json.dumps(output_names(levels)),
        "input_shapes": json.dumps(shapes),
        "history_len": str(shapes["history"][1]),
        "horizon": str(horizon),
        "freq": freq or data.freq or "",
        "series_ids": json.dumps(list(head.transforms)),
        "levels": json.dumps(list(levels)),
        "columns": json.dumps(["id", "time", *output_names(levels)]),
        "target_columns": json.dumps(list(data.targets or [])),
        "time_col": data.time_col or "",
        "id_col": data.id_col or "",
        "model": model.name,
        "strategy": data.strategy,
        "input_len": str(model.input_len),
        "diff": json.dumps(list(data.diff)),
        "dtype": "history float64, series int64, forecast float64"
                 + (", static_codes int64, other covariates float64" if covs else "")
                 + (", noise float64" if "noise" in shapes else ""),
        **covs,
    }
    if forecaster is head:
        meta.update(head_metadata(head, levels, "noise" in shapes, conformal))
    if forecaster is not head:  # an ensemble: what each member reads, and how they combine
        meta["model"] = "ensemble"
        meta["intervals"] = "conformal" if levels else ""
        meta["combine"] = "weighted mean" if forecaster.weights else "median"
        meta["members"] = json.dumps([
            {"model": m.config.model.name, "strategy": m.config.data.strategy,
             "input_len": m.config.model.input_len, "diff": list(m.config.data.diff),
             "history_len": m.min_history} for m in members])
        for key in ("strategy", "input_len", "diff"):  # one value only where all agree
            if len({json.dumps(getattr(m.config.data if key != "input_len" else m.config.model,
                                       key)) for m in members}) > 1:
                meta[key] = "per member (see members)"
    return meta
