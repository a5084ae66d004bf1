"""A trained forecaster: the network built for its strategy and head, the per-series
transforms, and forecasts on the original scale (points, quantiles, sample paths)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from ..config import RunConfig, check_horizon
from ..data.checks import check_histories
from ..data.covariate_io import panel_covariates
from ..data.covariates import Covariates, CovariateScaler, check_covariates
from ..data.io import Panel, check_length
from ..data.transforms import SeriesTransform
from ..forecast import predict, rollout
from ..models import EncoderDecoder, build_model
from ..models.static_embedding import StaticEmbedding
from ..seeding import seeded
from ..train import cpu_threads


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
    from ..models.heads import widened, with_head

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
        check_horizon(horizon, data.horizon, data.strategy)
        histories = check_histories(histories, ids)
        with cpu_threads(self.config.train.num_threads):
            z = self._predict(histories, ids, horizon, covariates)
        tfs = [self._transform(i) for i in ids]
        return np.stack([tf.inverse(zi, h) for tf, zi, h in zip(tfs, z, histories, strict=True)])

    def _inputs(self, histories, ids) -> np.ndarray:
        """The last ``input_len`` transformed values of each history: (N, L, 1) float32."""
        cfg = self.config.model
        tfs = [self._transform(i) for i in ids]
        windows = [np.asarray(h, dtype=np.float64)[-cfg.input_len - tf.span :]
                   for tf, h in zip(tfs, histories, strict=False)]
        for tf, w, sid in zip(tfs, windows, ids, strict=False):
            if tf.log and not (w > 0).all():
                k = len(w) - int(np.flatnonzero(~(w > 0))[0])
                raise ValueError(f"series {sid!r} has {w[-k]:g} {k} step(s) before its end: the"
                                 f" run models logarithms, so its last {len(w)} values must be > 0")
        x = np.stack([tf.forward(w)[-cfg.input_len :] for tf, w in zip(tfs, windows, strict=False)])
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
        from .intervals import has_head, head_rollout, param_quantiles

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
        from .intervals import quantiles_of

        return quantiles_of(self, histories, ids, quantiles, horizon, covariates)

    def forecast_samples(self, histories, ids, samples: int, horizon: int | None = None,
                         covariates=None):
        """Sample paths (N, samples, horizon) on the original scale."""
        from .intervals import sample_paths

        return sample_paths(self, histories, ids, samples, horizon, covariates)

    def forecast(self, panel: Panel | pd.DataFrame, horizon: int | None = None, levels=()
                 ) -> pd.DataFrame:
        """Forecast past the end of every series: columns ``id``, ``time``, ``forecast``, and
        ``lo-L``, ``hi-L`` per interval level L (percent).

        ``panel`` may also be a DataFrame laid out as the training data (its columns named by
        the run's config, or found as in files), its rows in any order. Runs without
        covariates go through the fast path (``seqcast.forecasting.predict``).
        """
        from .predict import forecast_frame

        if levels:
            from .intervals import forecast_frame as interval_frame

            return interval_frame(self, panel, horizon, levels)
        if self.covariate_scaler is None:
            return forecast_frame(self, panel, horizon)
        from ..data.load import as_panel

        panel = as_panel(panel, self.config.data)
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
        from .predict import predictor

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
