"""Logarithm, differencing (lag 1 and seasonal lag s) and scaling with exact inverses
(pure numpy).

The chapter's trend and seasonality section: difference away the trend (lag 1) and the
season (lag s), learn on what is left, then undo both on the forecasts. Scaling statistics
are fitted on the training part only, after differencing. A positive series whose swings
grow with its level (airline passengers, retail sales, output) is first taken to its
logarithm, so that growth and seasonal effects become additive and differences become
rates; forecasts are exponentiated back, which gives the median of a forecast that is
symmetric in the logarithm (Hyndman & Athanasopoulos, "Forecasting: Principles and
Practice", 3rd ed., section 3.1).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


def check_positive(x: np.ndarray) -> None:
    """Refuse what has no logarithm, naming the first such step."""
    bad = np.flatnonzero(~(np.asarray(x, dtype=np.float64) > 0))
    if len(bad):
        raise ValueError(f"the series has {x[bad[0]]:g} at step {bad[0]}: a log transform"
                         " needs values > 0 (drop --log, or shift the series)")


def difference(x: np.ndarray, lag: int) -> np.ndarray:
    """``x[t] - x[t - lag]`` along the last axis: (..., T) -> (..., T - lag)."""
    if lag < 1:
        raise ValueError(f"difference lag must be >= 1, got {lag}")
    x = np.asarray(x, dtype=np.float64)
    return x[..., lag:] - x[..., :-lag]


def undifference(d: np.ndarray, history: np.ndarray, lag: int) -> np.ndarray:
    """Invert ``difference`` for values that continue ``history``.

    Args:
        d: (..., H) differences of the steps right after ``history``.
        history: (..., T) the undifferenced series so far, T >= lag.

    Returns:
        (..., H) the undifferenced continuation: ``out[t] = d[t] + (history ++ out)[T + t - lag]``.
    """
    d, history = np.asarray(d, dtype=np.float64), np.asarray(history, dtype=np.float64)
    if history.shape[-1] < lag:
        raise ValueError(f"undifference needs {lag} past values, got {history.shape[-1]}")
    full = np.concatenate([history[..., -lag:], np.zeros_like(d)], axis=-1)
    for t in range(d.shape[-1]):  # the recursion is sequential; H is small
        full[..., lag + t] = d[..., t] + full[..., t]
    return full[..., lag:]


@dataclass(frozen=True)
class SeriesTransform:
    """Take the logarithm when ``log``, difference by each of ``lags`` in turn, then
    standardise with ``mean`` and ``std``.

    ``forward`` maps (..., T) to (..., T - sum(lags)); ``inverse`` maps transformed
    forecasts back to the original scale given the original history.

    Example:
        >>> tf = SeriesTransform.fit(x[:800], lags=(1, 12))
        >>> z = tf.forward(x)                 # what the network sees
        >>> tf.inverse(z[800 - 13 :], x[:800])  # == x[800:]
    """

    lags: tuple[int, ...] = ()
    mean: float = 0.0
    std: float = 1.0
    log: bool = False

    @property
    def span(self) -> int:
        """Past values consumed by differencing (``sum(lags)``)."""
        return sum(self.lags)

    @classmethod
    def fit(cls, train: np.ndarray, lags=(), scale: bool = True, log: bool = False
            ) -> SeriesTransform:
        """Fit the scaling on ``train`` (T,), one series' training part, after the logarithm
        (``log``) and differencing."""
        lags = tuple(int(lag) for lag in lags)
        z = cls(lags, log=bool(log)).forward(train)
        if z.shape[-1] < 2:
            raise ValueError(
                f"training part of {np.shape(train)[-1]} steps is too short to difference by {lags}"
            )
        if not scale:
            return cls(lags, log=bool(log))
        std = float(z.std())
        return cls(lags, float(z.mean()), std if std > 0 else 1.0, bool(log))

    def forward(self, x: np.ndarray) -> np.ndarray:
        z = self.level(x)
        for lag in self.lags:
            z = difference(z, lag)
        return (z - self.mean) / self.std

    def inverse(self, z: np.ndarray, history: np.ndarray) -> np.ndarray:
        """Transformed values (..., H) after ``history`` (..., T) -> original scale (..., H)."""
        d = np.asarray(z, dtype=np.float64) * self.std + self.mean
        # History of each intermediate series: levels[k] has been differenced by lags[:k].
        # Only the last ``span`` steps of the history are read (the logarithm's domain too).
        history = np.asarray(history, dtype=np.float64)
        levels = [self.level(history[..., max(history.shape[-1] - self.span, 0) :])]
        for lag in self.lags[:-1]:
            levels.append(difference(levels[-1], lag))
        for lag, level in zip(reversed(self.lags), reversed(levels), strict=False):
            d = undifference(d, level, lag)
        return np.exp(d) if self.log else d

    def level(self, x: np.ndarray) -> np.ndarray:
        """``x`` as float64, or its logarithm (checked) when ``log``."""
        x = np.asarray(x, dtype=np.float64)
        if not self.log:
            return x
        check_positive(x)
        return np.log(x)

    def to_dict(self) -> dict:
        return {**asdict(self), "lags": list(self.lags)}  # "log" false: as runs without it

    @classmethod
    def from_dict(cls, data: dict) -> SeriesTransform:
        unknown = set(data) - {"lags", "mean", "std", "log"}
        if unknown:
            raise ValueError(f"unknown transform key(s): {', '.join(sorted(unknown))}")
        log = data.get("log", False)
        if not isinstance(log, bool):
            raise ValueError(f"transform key 'log' must be true or false, got {log!r}")
        return cls(tuple(int(v) for v in data.get("lags", ())), float(data["mean"]),
                   float(data["std"]), log)


def split_points(length: int, valid_frac: float, test_frac: float = 0.0) -> tuple[int, int]:
    """Ends of the train and validation parts of a series of ``length`` steps, by time."""
    for name, frac in (("valid_frac", valid_frac), ("test_frac", test_frac)):
        if not 0.0 <= frac < 1.0:
            raise ValueError(f"{name} must be in [0, 1), got {frac}")
    n_test = int(round(length * test_frac))
    n_valid = int(round(length * valid_frac))
    n_train = length - n_valid - n_test
    if n_train < 1:
        raise ValueError(f"valid_frac + test_frac leave no training part of a {length}-step series")
    return n_train, n_train + n_valid
