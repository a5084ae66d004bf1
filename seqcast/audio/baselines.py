"""The two baselines that ``seqcast audio evaluate`` prints beside a model's bits per sample.

Both score the same mu-law classes the model does, fitted on the training audio only:

- ``Unigram``: the training audio's class frequencies, add-one smoothed (no class gets
  probability 0), used at every step.
- ``LinearPredictor``: an order-16 linear predictor of the next amplitude from the 16
  previous decoded amplitudes (least squares with an intercept), with a Laplace residual
  whose scale is the mean absolute training residual (its maximum-likelihood estimate). A
  class's probability is the Laplace mass over that class's amplitude interval (the edge
  classes take the tails), so the probabilities of the 256 classes sum to one.

Both score samples 1..N-1 of a file with zeros before its start, as the model does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

LN2 = math.log(2.0)


def class_edges(classes: int = 256) -> np.ndarray:
    """(classes + 1,) amplitude boundaries of the mu-law classes (``seqcast.nn.mulaw``):
    class k holds the amplitudes between edges k and k + 1; the outer edges are -inf, inf."""
    mu = classes - 1
    y = (np.arange(classes + 1) - 0.5) * 2 / mu - 1  # companded boundaries (rounding at .5)
    edges = np.sign(y) * np.expm1(np.abs(y) * math.log1p(mu)) / mu
    edges[0], edges[-1] = -np.inf, np.inf
    return edges


def decode(classes: np.ndarray, channels: int = 256) -> np.ndarray:
    """Mu-law class ids -> amplitudes in [-1, 1], float64 (numpy twin of ``mu_law_decode``)."""
    mu = channels - 1
    y = 2 * classes.astype(np.float64) / mu - 1
    return np.sign(y) * np.expm1(np.abs(y) * math.log1p(mu)) / mu


@dataclass(frozen=True)
class Unigram:
    """Class probabilities (256,) from training class counts, add-one smoothed."""

    probs: tuple[float, ...]

    @classmethod
    def fit(cls, files: list[np.ndarray], classes: int = 256) -> Unigram:
        counts = sum(np.bincount(c, minlength=classes) for c in files) + 1.0
        return cls(tuple(float(p) for p in counts / counts.sum()))

    def bits(self, classes: np.ndarray) -> float:
        """Mean bits per sample over samples 1..N-1 of one file's classes (N,)."""
        return float(-np.log2(np.asarray(self.probs))[classes[1:]].mean())


@dataclass(frozen=True)
class LinearPredictor:
    """x_t ~ Laplace(c0 + sum_k c_k x_{t-k}, scale) over the decoded amplitudes."""

    coefficients: tuple[float, ...]  # intercept, then lags 1..order
    scale: float

    @classmethod
    def fit(cls, files: list[np.ndarray], order: int = 16) -> LinearPredictor:
        """Least squares on every training file's samples 1..N-1 (classes (N,) each)."""
        lags, targets = zip(*(_lags(decode(c), order) for c in files), strict=True)
        design, target = np.concatenate(lags), np.concatenate(targets)
        coef, *_ = np.linalg.lstsq(design, target, rcond=None)
        scale = float(np.abs(target - design @ coef).mean())
        return cls(tuple(float(c) for c in coef), max(scale, 1e-6))

    def bits(self, classes: np.ndarray) -> float:
        """Mean bits per sample over samples 1..N-1 of one file's classes (N,)."""
        design, _ = _lags(decode(classes), len(self.coefficients) - 1)
        predicted = design @ np.asarray(self.coefficients)
        edges = class_edges()
        target = classes[1:]
        lo, hi = edges[target] - predicted, edges[target + 1] - predicted
        return float(-laplace_log_mass(lo / self.scale, hi / self.scale).mean() / LN2)


def _lags(x: np.ndarray, order: int) -> tuple[np.ndarray, np.ndarray]:
    """Design (N-1, 1 + order) of [1, x_{t-1}, ..., x_{t-order}] for t = 1..N-1 (zeros
    before the start), and the targets x_t (N-1,)."""
    padded = np.concatenate([np.zeros(order), x])
    n = len(x) - 1
    cols = [np.ones(n)] + [padded[order - k + 1: order - k + 1 + n] for k in range(1, order + 1)]
    return np.stack(cols, axis=1), x[1:]


def laplace_log_mass(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """log P(u < Z < v) for a standard Laplace Z (u < v elementwise; +-inf allowed), computed
    on the side of zero where the mass is a difference of small exponentials, so far tails
    keep their precision instead of rounding to log(0)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        width = np.log1p(-np.exp(-(v - u)))  # log(1 - e^{-(v-u)})
        right = math.log(0.5) - u + width  # u >= 0: 0.5 (e^{-u} - e^{-v})
        left = math.log(0.5) + v + width  # v <= 0: 0.5 (e^{v} - e^{u})
        middle = np.log1p(-0.5 * np.exp(np.minimum(u, 0)) - 0.5 * np.exp(-np.maximum(v, 0)))
    return np.where(u >= 0, right, np.where(v <= 0, left, middle))
