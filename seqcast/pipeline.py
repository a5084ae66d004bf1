"""Real series end to end: windows from a ``Panel``, training, and forecasts on the original scale.

Every series is differenced and scaled on its own (statistics from its training part only);
one model is trained on the windows of all series (a global model). A forecast takes the
last ``input_len`` transformed values, predicts ``horizon`` steps by the chosen strategy and
inverts scaling and differencing with the series' own history.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from .config import STRATEGIES, DataConfig, ModelConfig, RunConfig, TrainConfig
from .data.covariate_io import panel_covariates, training_covariates
from .data.covariates import Covariates, CovariateScaler, check_covariates
from .data.io import Panel, check_length
from .data.sliding import sliding_windows
from .data.transforms import SeriesTransform
from .forecast import predict, rollout
from .forecasting.defaults import (  # season_of: still importable from here
    INPUT_RULES,
    MODEL_DEFAULTS,
    TRAIN_DEFAULTS,
    default_input_len,
    season_of,  # noqa: F401
)
from .metrics import horizon_scores, mase_scale
from .models import MODELS, EncoderDecoder, build_model
from .models.static_embedding import StaticEmbedding
from .seeding import seeded
from .train import cpu_threads, fit


def make_config(
    name: str,
    data: DataConfig,
    input_len: int | None = None,
    model: dict | None = None,
    train: dict | None = None,
) -> RunConfig:
    """A ``RunConfig`` for model ``name``: its defaults, then ``model`` and ``train`` overrides.

    ``name="auto"`` searches models and settings when fitted (``seqcast.forecasting.auto``);
    ``input_len=None`` takes ``default_input_len`` of the season and horizon.
    """
    if name not in MODELS and name != "auto":
        raise ValueError(f"unknown model {name!r}; valid models: auto, {', '.join(MODELS)}")
    if input_len is None:  # the family's preferred window, else the common one
        rule = INPUT_RULES.get(name)
        input_len = default_input_len(data.season, data.horizon,
                                      preferred=rule and rule(data.season, data.horizon))
    if data.strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {data.strategy!r}; valid: {', '.join(STRATEGIES)}")
    if data.horizon < 1 or input_len < 1:
        raise ValueError(f"horizon and input_len must be >= 1, got {data.horizon}, {input_len}")
    from .forecasting.conformal import check_intervals
    from .models.heads import check_head

    check_intervals(data.intervals)
    m_default, t_default = MODEL_DEFAULTS.get(name, ({}, TRAIN_DEFAULTS))
    model_cfg = ModelConfig(
        name=name,
        input_size=1,
        input_len=input_len,
        season=data.season,
        horizon=1 if data.strategy == "iterative" else data.horizon,
        output="sequence" if data.strategy == "seq2seq" else "last",
    )
    known = {f.name for f in dataclasses.fields(ModelConfig)}
    m_default = {k: v for k, v in m_default.items() if k in known}
    model_cfg = dataclasses.replace(model_cfg, **{**m_default, **(model or {})})
    train_cfg = dataclasses.replace(TrainConfig(), **{**t_default, **(train or {})})
    check_head(model_cfg)
    return RunConfig(dataclasses.replace(data, task="forecast"), model_cfg, train_cfg)


class LastStep(nn.Module):
    """Keep the forecast made at the last input step of a sequence model: (B, T, H) -> (B, H)."""

    def __init__(self, inner: nn.Module):
        super().__init__()
        self.inner = inner

    def forward(self, x: Tensor) -> Tensor:
        return self.inner(x)[:, -1]


def build_forecaster_model(config: RunConfig, scaler: CovariateScaler | None = None) -> nn.Module:
    """Build the model and check that its outputs fit the strategy (probed on zeros).

    A distribution head's K outputs per step come from the family built K times wider
    (``seqcast.models.heads``). With categorical static covariates (``scaler.categories``)
    the model reads their codes through ``StaticEmbedding``; ``config.model.input_size``
    counts the embedded channels. An encoder-decoder's decoder also reads each horizon
    step's future covariates."""
    from .models.heads import widened, with_head

    cfg, strategy = config.model, config.data.strategy
    channels = cfg.input_size
    with seeded(config.train.seed):
        model = build_model(widened(cfg))
        if isinstance(model, EncoderDecoder) and scaler is not None and scaler.future_mean:
            model.feed_future(1 + len(scaler.past_mean), len(scaler.future_mean))
        if scaler is not None and scaler.categories:
            model = StaticEmbedding(model, scaler.embedding_sizes())
            channels = 1 + sum(scaler.channels(cfg.horizon))
    model.eval()
    with torch.no_grad():
        out = model(torch.zeros(2, cfg.input_len, channels))
    model.train()
    if strategy == "seq2seq":
        if out.dim() != 3 or out.shape[1] != cfg.input_len:
            raise ValueError(
                f"model {cfg.name!r} gives outputs {tuple(out.shape)} for {cfg.input_len} inputs,"
                " not one forecast per input step; valid strategies for it: direct, iterative"
            )
        return with_head(model, cfg)
    return with_head(LastStep(model) if out.dim() == 3 else model, cfg)


@dataclass
class Forecaster:
    """A trained model with the per-series transforms it was trained with."""

    config: RunConfig
    model: nn.Module
    transforms: dict[str, SeriesTransform]
    covariate_scaler: CovariateScaler | None = None  # set when the model reads covariates

    @property
    def min_history(self) -> int:
        return self.config.model.input_len + max(t.span for t in self.transforms.values())

    def forecast_arrays(
        self,
        histories: Sequence[np.ndarray],
        ids: Sequence[str],
        horizon: int | None = None,
        covariates: Sequence[Covariates] | None = None,
    ):
        """Forecast after each history on the original scale.

        Args:
            histories: N arrays (T_i,), each long enough for ``input_len`` plus differencing.
            ids: the series id of each history (picks its transform).
            covariates: for a model trained with covariates, N ``Covariates``: past (T_i, P),
                future (T_i + H, F + 2 * calendar features), static (S,).

        Returns:
            (N, horizon) float64.
        """
        data = self.config.data
        horizon = data.horizon if horizon is None else horizon
        if data.strategy != "iterative" and horizon > data.horizon:
            raise ValueError(
                f"horizon {horizon} exceeds the trained horizon {data.horizon};"
                " retrain, or use --strategy iterative"
            )
        with cpu_threads(self.config.train.num_threads):
            z = self._predict(histories, ids, horizon, covariates)
        tfs = [self._transform(i) for i in ids]
        return np.stack([tf.inverse(zi, h) for tf, zi, h in zip(tfs, z, histories, strict=True)])

    def _inputs(self, histories, ids) -> np.ndarray:
        """The last ``input_len`` transformed values of each history: (N, L, 1) float32."""
        cfg = self.config.model
        tfs = [self._transform(i) for i in ids]
        x = np.stack(
            [tf.forward(h)[-cfg.input_len :] for tf, h in zip(tfs, histories, strict=False)]
        )
        if x.shape[1] < cfg.input_len:
            raise ValueError(f"histories must have at least {self.min_history} steps")
        return x[:, :, None].astype(np.float32)  # (N, L, 1)

    def network_inputs(self, histories, ids, horizon: int, covariates=None):
        """The network's inputs after each history: x (N, L, C) (the transformed target and,
        for a model that reads covariates, their channels) and ``ahead`` (N, horizon, C - 1),
        the covariate channels of each step an iterative rollout feeds back (else ``None``)."""
        data, cfg = self.config.data, self.config.model
        x = self._inputs(histories, ids)
        if self.covariate_scaler is None:
            return x, None
        check_covariates(data, self.covariate_scaler, histories, covariates,
                         max(horizon, 1 if data.strategy == "iterative" else data.horizon))
        extra = horizon if data.strategy == "iterative" else 0
        window, ahead = self.covariate_scaler.windows(
            covariates, [len(h) for h in histories], cfg.input_len, cfg.horizon, extra
        )
        return np.concatenate([x, window], axis=2), (ahead if extra else None)

    def _predict(self, histories, ids, horizon: int, covariates=None) -> np.ndarray:
        """Forecasts (N, horizon) in the transformed space (a head's per-step median)."""
        from .forecasting.intervals import has_head, head_rollout, param_quantiles

        data, cfg = self.config.data, self.config.model
        x, ahead = self.network_inputs(histories, ids, horizon, covariates)
        if has_head(cfg):  # the median of each step, fed back along the path if iterative
            return param_quantiles(head_rollout(self, x, horizon, ahead), cfg, [0.5])[..., 0]
        if data.strategy == "iterative":  # feed each forecast back, keeping a window of L steps
            z = rollout(self.model, x, horizon, window=cfg.input_len, ahead=ahead).numpy()
        else:
            z = predict(self.model, x).numpy()
            z = z[:, -1] if z.ndim == 3 else z  # seq2seq: the forecast at the last input step
            z = z[:, :horizon]
        return z

    def forecast_quantiles(self, histories, ids, quantiles, horizon: int | None = None,
                           covariates=None) -> np.ndarray:
        """Quantiles (N, horizon, Q) on the original scale (``seqcast.forecasting.intervals``)."""
        from .forecasting.intervals import quantiles_of

        return quantiles_of(self, histories, ids, quantiles, horizon, covariates)

    def forecast_samples(self, histories, ids, samples: int, horizon: int | None = None,
                         covariates=None):
        """Sample paths (N, samples, horizon) on the original scale."""
        from .forecasting.intervals import sample_paths

        return sample_paths(self, histories, ids, samples, horizon, covariates)

    def forecast(self, panel: Panel | pd.DataFrame, horizon: int | None = None, levels=()
                 ) -> pd.DataFrame:
        """Forecast past the end of every series: columns ``id``, ``time``, ``forecast``, and
        ``lo-L``, ``hi-L`` per interval level L (percent).

        ``panel`` may also be a DataFrame laid out as the training data (its columns named by
        the run's config); only each series' last ``min_history`` rows are read. Runs the
        fast path handles go through it (``seqcast.forecasting.predict``).
        """
        from .forecasting.predict import forecast_frame, supported

        if levels:
            from .forecasting.intervals import forecast_frame as interval_frame

            return interval_frame(self, panel, horizon, levels)
        if supported(self.config) and self.covariate_scaler is None:
            return forecast_frame(self, panel, horizon)
        horizon = self.config.data.horizon if horizon is None else horizon
        check_length(panel, self.min_history, "input_len + differencing")
        covs = panel_covariates(panel, self.config.data, horizon)
        pred = self.forecast_arrays(
            [s.values for s in panel], [s.id for s in panel], horizon, covs
        )
        frames = [
            pd.DataFrame(
                {"id": s.id, "time": future_index(s.index, panel.freq, horizon), "forecast": p}
            )
            for s, p in zip(panel, pred, strict=False)
        ]
        return pd.concat(frames, ignore_index=True)

    def predict(self, history, series=None, horizon: int | None = None,
                covariates: dict | None = None) -> np.ndarray:
        """Fast forecasts from arrays: history (B, T) or (T,) in the data's units ->
        (B, horizon) or (horizon,); ``covariates`` by input name as the exported graph takes
        them; see ``seqcast.forecasting.predict.Predictor.predict``."""
        from .forecasting.predict import predictor

        return predictor(self).predict(history, series, horizon, covariates)

    def _transform(self, series_id: str) -> SeriesTransform:
        if series_id not in self.transforms:
            raise ValueError(
                f"series {series_id!r} was not in the training data;"
                f" known series: {', '.join(list(self.transforms)[:10])}"
            )
        return self.transforms[series_id]


def future_index(index: pd.Index, freq: str | None, horizon: int) -> pd.Index:
    """The ``horizon`` timestamps after ``index``, continuing its frequency."""
    if freq is None:
        return pd.RangeIndex(index[-1] + 1, index[-1] + 1 + horizon)
    return pd.date_range(index[-1], periods=horizon + 1, freq=freq)[1:]


def fit_forecaster(panel: Panel, config: RunConfig, progress: bool | None = None,
                   checkpoint=None, resume: bool = False, search=None, on_epoch=None):
    """Train ``config``'s model on every series of ``panel``.

    ``config.model.name == "auto"`` runs the search of ``seqcast.forecasting.auto`` with the
    settings ``search`` (an ``AutoConfig``; default settings when ``None``). ``on_epoch`` is
    passed to ``fit``.

    Returns:
        (Forecaster, History, metrics): metrics are validation MAE/RMSE/MASE per horizon step
        on the original scale (empty when there is no validation part), with the naive and
        seasonal naive scores of the same origins under ``"baselines"``.
    """
    if config.model.name == "auto":
        from .forecasting.auto import fit_auto

        return fit_auto(panel, config, search, progress)
    if search is not None and search.ensemble > 1:
        from .forecasting.ensemble import fit_seeds

        return fit_seeds(panel, config, search.ensemble, progress)
    data = config.data
    from .forecasting.guard import fallback, fit_splits, fitted_config

    fitted, notes = fitted_config(panel, config)  # a window the series can fit
    if fitted is None:  # nothing fits: a baseline, with the warning in the metrics
        return fallback(panel, config, notes[0])
    config = fitted

    L, H, span = config.model.input_len, config.model.horizon, sum(data.diff)
    check_length(panel, L + span + data.horizon + 1, "input_len + differencing + horizon + 1")
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
        tf = SeriesTransform.fit(s.values[:n_train], data.diff, data.scale)
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
    if len(train[0]) == 0:
        raise ValueError(
            f"{panel.source}: no training windows: the training part of each series is shorter than"
            f" input_len {L} + differencing {span} + {H} target step(s);"
            " lower input_len or valid_frac"
        )
    from .forecasting.losses import loss_for

    model = build_forecaster_model(config, scaler)
    with cpu_threads(config.train.num_threads):
        history = fit(
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
    from .forecasting.conformal import calibrated

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
                from .forecasting.guard import baseline_scores

                out[part]["baselines"] = baseline_scores(forecaster, panel, splits)
    from .forecasting.scores import validation_distribution_scores

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
