"""Model zoo: ``MODELS`` maps a plain name to a constructor taking a ``ModelConfig``."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from ..config import ModelConfig
from .baselines import Linear, Naive, SeasonalNaive
from .rnn import RNNForecaster


def _recurrent(cell: str) -> Callable[[ModelConfig], nn.Module]:
    def build(cfg: ModelConfig) -> nn.Module:
        return RNNForecaster(
            cell, cfg.input_size, cfg.hidden_size, cfg.num_layers, cfg.horizon,
            cfg.output, cfg.head, cfg.norm,
        )

    build.__doc__ = f"Stacked recurrent forecaster with {cell!r} cells."
    return build


MODELS: dict[str, Callable[[ModelConfig], nn.Module]] = {
    "naive": lambda cfg: Naive(cfg.horizon, cfg.output),
    "linear": lambda cfg: Linear(cfg.input_len, cfg.input_size, cfg.horizon, cfg.output),
    "rnn": _recurrent("simple"),
    "lstm": _recurrent("lstm"),
    "gru": _recurrent("gru"),
    "seasonal_naive": lambda cfg: SeasonalNaive(cfg.season, cfg.horizon, cfg.output),
}


def build_model(cfg: ModelConfig) -> nn.Module:
    """Build the model ``cfg.name`` from ``MODELS``."""
    if cfg.name not in MODELS:
        raise ValueError(f"unknown model {cfg.name!r}; valid models: {', '.join(MODELS)}")
    return MODELS[cfg.name](cfg)


__all__ = ["MODELS", "Linear", "Naive", "RNNForecaster", "SeasonalNaive", "build_model"]
