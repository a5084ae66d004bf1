"""Model zoo: ``MODELS`` maps a plain name to a constructor taking a ``ModelConfig``."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from ..config import ModelConfig
from .baselines import Linear, Naive, SeasonalNaive
from .checks import check_choice
from .conv_rnn import ConvRNN
from .encoder_decoder import EncoderDecoder
from .rnn import HEADS, RNNForecaster
from .wavenet import SimpleWaveNet, WaveNet, dilations


def _recurrent(cell: str) -> Callable[[ModelConfig], nn.Module]:
    def build(cfg: ModelConfig) -> nn.Module:
        check_choice("head", cfg.head, HEADS + ("decoder",))
        if cfg.head == "decoder":
            if cfg.norm != "none":
                raise ValueError(
                    f"norm {cfg.norm!r} is not available with head 'decoder'; valid: none"
                )
            return EncoderDecoder(
                cell, cfg.input_size, cfg.hidden_size, cfg.num_layers, cfg.horizon,
                cfg.output, cfg.dropout, cfg.recurrent_dropout,
            )
        return RNNForecaster(
            cell, cfg.input_size, cfg.hidden_size, cfg.num_layers, cfg.horizon,
            cfg.output, cfg.head, cfg.norm, cfg.dropout, cfg.recurrent_dropout,
        )

    build.__doc__ = f"Stacked recurrent forecaster with {cell!r} cells."
    return build


MODELS: dict[str, Callable[[ModelConfig], nn.Module]] = {
    "naive": lambda cfg: Naive(cfg.horizon, cfg.output),
    "linear": lambda cfg: Linear(cfg.input_len, cfg.input_size, cfg.horizon, cfg.output),
    "rnn": _recurrent("simple"),
    "lstm": _recurrent("lstm"),
    "gru": _recurrent("gru"),
    "ln_rnn": _recurrent("ln_simple"),
    "peephole_lstm": _recurrent("peephole"),
    "conv_gru": lambda cfg: ConvRNN(
        "gru", cfg.input_size, cfg.filters, cfg.kernel_size, cfg.stride, cfg.padding,
        cfg.hidden_size, cfg.num_layers, cfg.horizon, cfg.output, cfg.head, cfg.norm,
    ),
    "wavenet_simple": lambda cfg: SimpleWaveNet(
        cfg.input_size, cfg.filters, dilations(cfg.blocks, cfg.layers_per_block), cfg.kernel_size,
        cfg.horizon, cfg.output,
    ),
    "wavenet": lambda cfg: WaveNet(
        cfg.input_size, cfg.filters, cfg.blocks, cfg.layers_per_block, cfg.kernel_size,
        cfg.horizon, cfg.output, cfg.head,
    ),
    "seasonal_naive": lambda cfg: SeasonalNaive(cfg.season, cfg.horizon, cfg.output),
}


def build_model(cfg: ModelConfig) -> nn.Module:
    """Build the model ``cfg.name`` from ``MODELS``."""
    if cfg.name not in MODELS:
        raise ValueError(f"unknown model {cfg.name!r}; valid models: {', '.join(MODELS)}")
    return MODELS[cfg.name](cfg)


__all__ = ["MODELS", "ConvRNN", "EncoderDecoder", "Linear", "Naive", "RNNForecaster",
           "SeasonalNaive", "SimpleWaveNet", "WaveNet", "build_model"]
