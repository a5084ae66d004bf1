"""Training a forecaster on every series of a panel (one global model), and its validation
scores on the original scale."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from ..config import RunConfig
from ..data.covariate_io import training_covariates
from ..data.io import Panel, check_length, check_positive
from ..data.sliding import sliding_windows
from ..data.transforms import SeriesTransform
from ..metrics import horizon_scores, mase_scale
from ..train import History, cpu_threads, fit
from .forecaster import Forecaster, build_forecaster_model


def fit_forecaster(panel: Panel | pd.DataFrame, config: RunConfig, progress: bool | None = None,
                   checkpoint=None, resume: bool = False, search=None, on_epoch=None):
    """Train ``config``'s model on every series of ``panel`` (or of a DataFrame laid out as
    a data file, read with ``config.data``'s column names: ``seqcast.data.load.as_panel``).

    ``config.model.name == "auto"`` runs the search of ``seqcast.forecasting.auto`` with the
    settings ``search`` (an ``AutoConfig``; default settings when ``None``). ``on_epoch`` is
    passed to ``fit``.

    Returns:
        (Forecaster, History, metrics): metrics are validation MAE/RMSE/MASE per horizon step
        on the original scale (empty when there is no validation part), with the naive and
        seasonal naive scores of the same origins under ``"baselines"``.
    """
    from ..data.load import as_panel

    panel = as_panel(panel, config.data)
    if config.model.name == "auto":
        from .auto import fit_auto

        return fit_auto(panel, config, search, progress)
    if search is not None and search.ensemble > 1:
        from .ensemble import fit_seeds

        return fit_seeds(panel, config, search.ensemble, progress)
    data = config.data
    from .guard import fallback, fit_splits, fitted_config, without_young

    fitted, notes = fitted_config(panel, config)  # a window the series can fit
    if fitted is None:  # a few series too short for any window: the model fits the others
        rest, left_out = without_young(panel, config)
        if left_out is not None and (retry := fitted_config(rest, config))[0] is not None:
            panel, (fitted, notes) = rest, (retry[0], [left_out, *retry[1]])
    if fitted is None:  # nothing fits: a baseline, with the warning in the metrics
        return fallback(panel, config, notes[0])
    config = fitted

    L, H, span = config.model.input_len, config.model.horizon, sum(data.diff)
    learns = config.model.name not in ("naive", "seasonal_naive")  # baselines need a window only
    if learns:
        check_length(panel, L + span + data.horizon + 1, "input_len + differencing + horizon + 1")
    else:
        check_length(panel, L + span, "input_len + differencing")
    if data.log:
        check_positive(panel)
    targets = "seq2seq" if data.strategy == "seq2seq" else "direct"
    transforms, parts, splits = {}, {"train": [], "valid": []}, {}
    for s in panel:
        splits[s.id] = fit_splits(len(s), data, L, span, config.train.patience is not None)
    covs, scaler = training_covariates(panel, data, splits)
    if scaler is not None:  # the network's input channels: target, covariates, embeddings
        size = scaler.input_size(H)
        config = dataclasses.replace(config, model=dataclasses.replace(config.model, input_size=size))
    for s in panel:
        n_train, n_valid = splits[s.id]
        tf = SeriesTransform.fit(s.values[:n_train], data.diff, data.scale, data.log)
        z = tf.forward(s.values)  # z[j] is the value at original step j + span
        feats = None if scaler is None else scaler.features(covs[s.id], len(s), H)[span:]
        transforms[s.id] = tf
        parts["train"].append(
            sliding_windows(z, L, H, data.stride, targets, 0, n_train - span, feats)
        )
        parts["valid"].append(
            sliding_windows(z, L, H, 1, targets, n_train - span, n_valid - span, feats)
        )
    train = tuple(np.concatenate(a) for a in zip(*parts["train"], strict=False))
    valid = tuple(np.concatenate(a) for a in zip(*parts["valid"], strict=False))
    if len(train[0]) == 0 and learns:
        raise ValueError(
            f"{panel.source}: no training windows: the training part of each series is shorter than"
            f" input_len {L} + differencing {span} + {H} target step(s);"
            " lower input_len or valid_frac"
        )
    if len(valid[0]) == 0 and data.valid_frac > 0 and learns:  # the user would not know
        part = max(n_valid - n_train for n_train, n_valid in splits.values())
        notes.append(f"warning: {panel.source}: no validation origins: the validation part"
                     f" ({part} steps at most) is shorter than the horizon ({H}); every epoch"
                     " runs, without early stopping or a comparison with the baselines"
                     " (a shorter --horizon or a larger --valid-frac gives one)")
    from .losses import loss_for

    model = build_forecaster_model(config, scaler)
    with cpu_threads(config.train.num_threads):
        history = History() if not learns else fit(
            model,
            train,
            valid if len(valid[0]) else None,
            config.train,
            progress=progress,
            description=f"{config.model.name} on {panel.source}",
            checkpoint=checkpoint,
            resume=resume,
            on_epoch=on_epoch,
            loss_sum=loss_for(config.model),
        )
    from .conformal import calibrated

    # conformal intervals, if asked for, from the validation windows inside the training part
    forecaster = calibrated(Forecaster(config, model, transforms, scaler), panel, splits, covs)
    metrics = validation_scores(forecaster, panel, splits, covs)
    return forecaster, history, {**metrics, **({"warnings": notes} if notes else {})}


def validation_scores(forecaster: Forecaster, panel: Panel, splits: dict, covs=None) -> dict:
    """Scores of forecasts from every origin whose horizon lies in the validation part, and
    in the test part when there is one: ``{"valid": {...}, "test": {...}}``. ``covs`` maps
    series id -> its ``Covariates`` over the whole series, for a model that reads them."""
    out = {}
    for part in ("valid", "test"):
        errors, scales = [], []
        for s in panel:
            n_train, n_valid = splits[s.id]
            start, end = (n_train, n_valid) if part == "valid" else (n_valid, len(s))
            errs = _origin_errors(
                forecaster, s, max(start, forecaster.min_history), end, (covs or {}).get(s.id)
            )
            if len(errs):
                errors.append(errs)
                scales += [mase_scale(s.values[:n_train], forecaster.config.data.season)] * len(
                    errs
                )
        if errors:
            scores = horizon_scores(np.concatenate(errors), np.array(scales))
            out[part] = {**scores, "origins": len(scales)}
            if part == "valid":
                from .guard import baseline_scores

                out[part]["baselines"] = baseline_scores(forecaster, panel, splits)
    from .scores import validation_distribution_scores

    for part, scores in validation_distribution_scores(forecaster, panel, splits,
                                                       covs=covs).items():
        out.setdefault(part, {}).update(scores)  # intervals and CRPS where the forecaster gives them
    return out


def _origin_errors(forecaster: Forecaster, s, start: int, end: int, cov=None) -> np.ndarray:
    """Forecast errors (N, H) from every origin in [start, end - H]."""
    h = forecaster.config.data.horizon
    origins = range(start, end - h + 1)
    if not origins:
        return np.zeros((0, h))
    covs = None if cov is None else [cov.head(o, h) for o in origins]
    pred = forecaster.forecast_arrays(
        [s.values[:o] for o in origins], [s.id] * len(origins), covariates=covs
    )
    return pred - np.stack([s.values[o : o + h] for o in origins])
