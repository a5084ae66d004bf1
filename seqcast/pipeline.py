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

from .config import DataConfig, ModelConfig, RunConfig, TrainConfig
from .data.io import Panel, check_length
from .data.sliding import sliding_windows
from .data.transforms import SeriesTransform, split_points
from .forecast import predict
from .metrics import horizon_scores, mase_scale
from .models import MODELS, build_model
from .seeding import seeded
from .train import cpu_threads, fit

STRATEGIES = ("direct", "seq2seq", "iterative")

# Sizes and training that work on short real series (hundreds of steps) in about a minute
# on 2 CPU cores; anything the user passes overrides them. Families not listed keep their
# ModelConfig defaults and get TRAIN_DEFAULTS.
# One CPU thread: these models are small, and on a busy 2-core machine a second thread made
# an LSTM epoch ~70x slower (0.19 s vs 13.9 s, measured while other jobs ran).
TRAIN_DEFAULTS = {"epochs": 200, "lr": 3e-3, "patience": 20, "num_threads": 1}
_RECURRENT = ({"hidden_size": 32, "num_layers": 1}, TRAIN_DEFAULTS)
MODEL_DEFAULTS: dict[str, tuple[dict, dict]] = {
    "naive": ({}, {"epochs": 1, "num_threads": 1}),
    "seasonal_naive": ({}, {"epochs": 1, "num_threads": 1}),
    "linear": ({}, TRAIN_DEFAULTS),
    **{n: _RECURRENT for n in ("rnn", "lstm", "gru", "ln_rnn", "peephole_lstm", "conv_gru")},
}


def season_of(freq: str | None) -> int:
    """The usual seasonal period of a pandas frequency (1 when there is none)."""
    if not freq:
        return 1
    base = freq.split("-")[0].lstrip("0123456789").upper()
    return {
        "MS": 12,
        "ME": 12,
        "M": 12,
        "QS": 4,
        "QE": 4,
        "Q": 4,
        "W": 52,
        "D": 7,
        "B": 5,
        "H": 24,
    }.get(base, 1)


def make_config(
    name: str,
    data: DataConfig,
    input_len: int,
    model: dict | None = None,
    train: dict | None = None,
) -> RunConfig:
    """A ``RunConfig`` for model ``name``: its defaults, then ``model`` and ``train`` overrides."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; valid models: {', '.join(MODELS)}")
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


def build_forecaster_model(config: RunConfig) -> nn.Module:
    """Build the model and check that its outputs fit the strategy (probed on zeros)."""
    from .models.heads import widened, with_head

    cfg, strategy = config.model, config.data.strategy
    with seeded(config.train.seed):  # a head's K outputs per step: the family built K times wider
        model = build_model(widened(cfg))
    model.eval()
    with torch.no_grad():
        out = model(torch.zeros(2, cfg.input_len, 1))
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

    @property
    def min_history(self) -> int:
        return self.config.model.input_len + max(t.span for t in self.transforms.values())

    def forecast_arrays(
        self, histories: Sequence[np.ndarray], ids: Sequence[str], horizon: int | None = None
    ):
        """Forecast after each history on the original scale.

        Args:
            histories: N arrays (T_i,), each long enough for ``input_len`` plus differencing.
            ids: the series id of each history (picks its transform).

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
            z = self._predict(histories, ids, horizon)
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

    def _predict(self, histories, ids, horizon: int) -> np.ndarray:
        """Forecasts (N, horizon) in the transformed space (a head's per-step median)."""
        from .forecasting.intervals import has_head, head_rollout, param_quantiles

        data, cfg = self.config.data, self.config.model
        x = self._inputs(histories, ids)
        if has_head(cfg):  # the median of each step, fed back along the path if iterative
            return param_quantiles(head_rollout(self, x, horizon), cfg, [0.5])[..., 0]
        if data.strategy == "iterative":
            steps = []
            for _ in range(horizon):  # feed each forecast back, keeping a window of L steps
                nxt = predict(self.model, x)[:, :1].numpy()  # (N, 1)
                steps.append(nxt)
                x = np.concatenate([x[:, 1:], nxt[:, :, None]], axis=1)
            z = np.concatenate(steps, axis=1)
        else:
            z = predict(self.model, x).numpy()
            z = z[:, -1] if z.ndim == 3 else z  # seq2seq: the forecast at the last input step
            z = z[:, :horizon]
        return z

    def forecast_quantiles(self, histories, ids, quantiles, horizon: int | None = None,
                           covariates=None) -> np.ndarray:
        """Quantiles (N, horizon, Q) on the original scale (``seqcast.forecasting.intervals``)."""
        from .forecasting.intervals import quantiles_of

        return quantiles_of(self, histories, ids, quantiles, horizon)

    def forecast_samples(self, histories, ids, samples: int, horizon: int | None = None):
        """Sample paths (N, samples, horizon) on the original scale."""
        from .forecasting.intervals import sample_paths

        return sample_paths(self, histories, ids, samples, horizon)

    def forecast(self, panel: Panel, horizon: int | None = None, levels=()) -> pd.DataFrame:
        """Forecast past the end of every series: columns ``id``, ``time``, ``forecast``, and
        ``lo-L``, ``hi-L`` per interval level L (percent)."""
        if levels:
            from .forecasting.intervals import forecast_frame

            return forecast_frame(self, panel, horizon, levels)
        horizon = self.config.data.horizon if horizon is None else horizon
        check_length(panel, self.min_history, "input_len + differencing")
        pred = self.forecast_arrays([s.values for s in panel], [s.id for s in panel], horizon)
        frames = [
            pd.DataFrame(
                {"id": s.id, "time": future_index(s.index, panel.freq, horizon), "forecast": p}
            )
            for s, p in zip(panel, pred, strict=False)
        ]
        return pd.concat(frames, ignore_index=True)

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
                   checkpoint=None, resume: bool = False):
    """Train ``config``'s model on every series of ``panel``.

    Returns:
        (Forecaster, History, metrics): metrics are validation MAE/RMSE/MASE per horizon step
        on the original scale (empty when there is no validation part).
    """
    data, L = config.data, config.model.input_len
    H = config.model.horizon
    span = sum(data.diff)
    check_length(panel, L + span + data.horizon + 1, "input_len + differencing + horizon + 1")
    targets = "seq2seq" if data.strategy == "seq2seq" else "direct"
    transforms, parts, splits = {}, {"train": [], "valid": []}, {}
    for s in panel:
        n_train, n_valid = split_points(len(s), data.valid_frac, data.test_frac)
        tf = SeriesTransform.fit(s.values[:n_train], data.diff, data.scale)
        z = tf.forward(s.values)  # z[j] is the value at original step j + span
        transforms[s.id], splits[s.id] = tf, (n_train, n_valid)
        parts["train"].append(sliding_windows(z, L, H, data.stride, targets, 0, n_train - span))
        parts["valid"].append(sliding_windows(z, L, H, 1, targets, n_train - span, n_valid - span))
    train = tuple(np.concatenate(a) for a in zip(*parts["train"], strict=False))
    valid = tuple(np.concatenate(a) for a in zip(*parts["valid"], strict=False))
    if len(train[0]) == 0:
        raise ValueError(
            f"{panel.source}: no training windows: the training part of each series is shorter than"
            f" input_len {L} + differencing {span} + {H} target step(s);"
            " lower input_len or valid_frac"
        )
    from .forecasting.losses import loss_for

    model = build_forecaster_model(config)
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
            loss_sum=loss_for(config.model),
        )
    from .forecasting.conformal import calibrated

    # conformal intervals, if asked for, from the validation windows inside the training part
    forecaster = calibrated(Forecaster(config, model, transforms), panel, splits)
    return forecaster, history, validation_scores(forecaster, panel, splits)


def validation_scores(forecaster: Forecaster, panel: Panel, splits: dict) -> dict:
    """Scores of forecasts from every origin whose horizon lies in the validation part, and
    in the test part when there is one: ``{"valid": {...}, "test": {...}}``."""
    out = {}
    for part in ("valid", "test"):
        errors, scales = [], []
        for s in panel:
            n_train, n_valid = splits[s.id]
            start, end = (n_train, n_valid) if part == "valid" else (n_valid, len(s))
            errs = _origin_errors(forecaster, s, max(start, forecaster.min_history), end)
            if len(errs):
                errors.append(errs)
                scales += [mase_scale(s.values[:n_train], forecaster.config.data.season)] * len(
                    errs
                )
        if errors:
            scores = horizon_scores(np.concatenate(errors), np.array(scales))
            out[part] = {**scores, "origins": len(scales)}
    from .forecasting.scores import validation_distribution_scores

    for part, scores in validation_distribution_scores(forecaster, panel, splits).items():
        out.setdefault(part, {}).update(scores)  # intervals and CRPS where the forecaster gives them
    return out


def _origin_errors(forecaster: Forecaster, s, start: int, end: int) -> np.ndarray:
    """Forecast errors (N, H) from every origin in [start, end - H]."""
    h = forecaster.config.data.horizon
    origins = range(start, end - h + 1)
    if not origins:
        return np.zeros((0, h))
    pred = forecaster.forecast_arrays([s.values[:o] for o in origins], [s.id] * len(origins))
    return pred - np.stack([s.values[o : o + h] for o in origins])
