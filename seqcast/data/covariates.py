"""Covariates as extra input channels: past-observed, future-known and static (pure numpy).

One mechanism serves every model family and strategy. The network's input at step t is

    [target_t, past_t (P), future_{t+1} .. future_{t+H} (F * H), static numeric (S_n),
     static codes (S_c)]

so a direct model sees the horizon's future values beside its last input, a seq2seq model
gets the next H future values at every step, the iterative rollout (H = 1) the next one at
each step, and a causal WaveNet reads them as shifted channels. Static category codes come
last: ``seqcast.models.static_embedding.StaticEmbedding`` turns them into embeddings.
Numeric columns are standardised with statistics of the training parts only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Covariates:
    """What is known besides one series' target.

    past: (T, P) observed up to the last target step; future: (T + K, F) known over the
    history and K steps after it; static: (S,) one value per column (text or numbers).
    Any of them may be ``None``.
    """

    past: np.ndarray | None = None
    future: np.ndarray | None = None
    static: tuple | None = None

    def head(self, n: int, horizon: int) -> Covariates:
        """The covariates of the first ``n`` steps, future values ``horizon`` steps beyond."""
        return Covariates(
            None if self.past is None else self.past[:n],
            None if self.future is None else self.future[: n + horizon],
            self.static,
        )


def _as_float(value) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if np.isfinite(v) else None


@dataclass(frozen=True)
class CovariateScaler:
    """Standardisation of the numeric columns and codes of the categorical static columns.

    ``past_mean``/``past_std`` (P,), ``future_mean``/``future_std`` (F,) and ``static_mean``/
    ``static_std`` (S_n,) come from the training parts; ``categories[k]`` lists the values
    of the k-th categorical static column (code 0 is a value never seen in training).
    ``numeric`` says for each static column whether it is numeric.
    """

    past_mean: tuple[float, ...] = ()
    past_std: tuple[float, ...] = ()
    future_mean: tuple[float, ...] = ()
    future_std: tuple[float, ...] = ()
    numeric: tuple[bool, ...] = ()
    static_mean: tuple[float, ...] = ()
    static_std: tuple[float, ...] = ()
    categories: tuple[tuple[str, ...], ...] = ()

    @classmethod
    def fit(cls, covariates: list[Covariates], n_train: list[int]) -> CovariateScaler:
        """Fit on each series' first ``n_train`` steps (static values over all series)."""

        def stats(arrays):
            if not arrays or arrays[0] is None or arrays[0].shape[1] == 0:
                return (), ()
            x = np.concatenate(arrays)
            std = x.std(axis=0)
            return tuple(map(float, x.mean(axis=0))), tuple(float(s) if s > 0 else 1.0 for s in std)

        pm, ps = stats([c.past[:n] for c, n in zip(covariates, n_train, strict=True)
                        if c.past is not None])
        fm, fs = stats([c.future[:n] for c, n in zip(covariates, n_train, strict=True)
                        if c.future is not None])
        statics = [c.static for c in covariates if c.static]
        numeric, sm, ss, cats = (), (), (), ()
        if statics:
            cols = list(zip(*statics, strict=True))
            numeric = tuple(all(_as_float(v) is not None for v in col) for col in cols)
            nums = [np.array([float(v) for v in col]) for col, n in zip(cols, numeric,
                                                                        strict=True) if n]
            sm = tuple(float(v.mean()) for v in nums)
            ss = tuple(float(v.std()) if v.std() > 0 else 1.0 for v in nums)
            cats = tuple(tuple(sorted({str(v) for v in col}))
                         for col, n in zip(cols, numeric, strict=True) if not n)
        return cls(pm, ps, fm, fs, numeric, sm, ss, cats)

    def channels(self, horizon: int) -> tuple[int, int]:
        """(numeric input channels besides the target, categorical code channels)."""
        return (len(self.past_mean) + len(self.future_mean) * horizon + len(self.static_mean),
                len(self.categories))

    def input_size(self, horizon: int) -> int:
        """Channels the network reads: target, numeric covariates, static embeddings."""
        return 1 + self.channels(horizon)[0] + sum(w for _, w in self.embedding_sizes())

    def windows(self, covariates, lengths, input_len: int, horizon: int, extra: int):
        """Channels of the last ``input_len`` steps of each history (N, L, C) and of the
        ``extra`` steps after it (N, extra, C), float32; ``lengths`` are the histories' T_i."""
        feats = [self.features(c, t + extra, horizon) for c, t in zip(covariates, lengths,
                                                                         strict=True)]
        window = np.stack([f[t - input_len : t] for f, t in zip(feats, lengths, strict=True)])
        ahead = np.stack([f[t : t + extra] for f, t in zip(feats, lengths, strict=True)])
        return window.astype(np.float32), ahead.astype(np.float32)

    def embedding_sizes(self) -> list[tuple[int, int]]:
        """(number of codes, embedding width) per categorical static column."""
        return [(len(c) + 1, min(8, (len(c) + 1) // 2 + 1)) for c in self.categories]

    def to_dict(self) -> dict:
        return {k: [list(v) for v in getattr(self, k)] if k == "categories" else list(getattr(self, k))
                for k in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, data: dict) -> CovariateScaler:
        if not isinstance(data, dict) or not all(isinstance(v, list) for v in data.values()):
            raise ValueError("covariates.json must map each scaler field to a list")
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown covariate scaler key(s): {', '.join(sorted(unknown))}")
        fields = {k: tuple(tuple(c) for c in v) if k == "categories" else tuple(v)
                  for k, v in data.items()}
        return cls(**fields)

    def features(self, cov: Covariates, steps: int, horizon: int) -> np.ndarray:
        """Input channels (steps, C) for original steps 0 .. steps - 1 (see the module doc).

        Past values after the last observed one are held at it (an iterative rollout needs
        them); future values beyond those given are zeros, which no training window reads.
        """
        cols = []
        if self.past_mean:
            past = (cov.past - self.past_mean) / np.array(self.past_std)
            if len(past) < steps:
                past = np.concatenate([past, np.repeat(past[-1:], steps - len(past), axis=0)])
            cols.append(past[:steps])
        if self.future_mean:
            fut = (cov.future - self.future_mean) / np.array(self.future_std)
            fut = np.concatenate([fut, np.zeros((max(steps + horizon - len(fut), 0), fut.shape[1]))])
            # row t holds future[t + 1 .. t + horizon], flattened step by step
            cols += [fut[k : k + steps] for k in range(1, horizon + 1)]
        if self.numeric:
            values = cov.static
            nums = [float(v) for v, n in zip(values, self.numeric, strict=True) if n]
            codes = [self._code(k, str(v)) for k, v in
                     enumerate(v for v, n in zip(values, self.numeric, strict=True) if not n)]
            row = np.concatenate([(np.array(nums) - self.static_mean) / np.array(self.static_std),
                                  np.array(codes, dtype=np.float64)])
            cols.append(np.repeat(row[None], steps, axis=0))
        return np.concatenate(cols, axis=1) if cols else np.zeros((steps, 0))

    def _code(self, k: int, value: str) -> int:
        cats = self.categories[k]
        i = int(np.searchsorted(cats, value))
        return i + 1 if i < len(cats) and cats[i] == value else 0


def uses_covariates(data) -> bool:
    """Whether a ``DataConfig`` names covariates or calendar features."""
    return bool(data.past_covariates or data.future_covariates or data.static_covariates
                or data.calendar)


def check_covariates(data, scaler: CovariateScaler, histories, covariates, horizon: int) -> None:
    """One-line ``ValueError`` unless ``covariates`` fit ``histories`` and what the model read
    in training (``data``: its ``DataConfig``)."""
    need = (f"past {list(data.past_covariates)}, future {list(data.future_covariates)},"
            f" static {list(data.static_covariates)}, calendar {list(data.calendar)}")
    if covariates is None or len(covariates) != len(histories):
        raise ValueError(f"this model reads covariates ({need}): pass one Covariates per history")
    widths = {"past": len(scaler.past_mean), "future": len(scaler.future_mean),
              "static": len(scaler.numeric)}
    for i, (c, h) in enumerate(zip(covariates, histories, strict=True)):
        for kind, width in widths.items():
            value = getattr(c, kind)
            if width == 0:
                continue
            if value is None:
                raise ValueError(f"covariates[{i}].{kind} is missing; this model reads {need}")
            shape = (len(value),) if kind == "static" else np.shape(value)
            rows = {"past": len(h), "future": len(h) + horizon, "static": None}[kind]
            if kind == "static" and shape != (width,):
                raise ValueError(f"covariates[{i}].static has {shape[0]} values, expected {width}")
            if kind != "static" and (len(shape) != 2 or shape[1] != width or shape[0] < rows):
                raise ValueError(
                    f"covariates[{i}].{kind} has shape {shape}, expected ({rows}, {width})"
                    f" for a history of {len(h)} steps and horizon {horizon}"
                )
            if kind != "static" and not np.isfinite(np.asarray(value[:rows], float)).all():
                raise ValueError(f"covariates[{i}].{kind} has non-finite values")
