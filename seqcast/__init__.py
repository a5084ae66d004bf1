"""seqcast: learning from sequences with recurrent and convolutional networks, on PyTorch.

The public API is imported lazily so that ``seqcast --help`` answers without loading torch.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "DataConfig": "seqcast.config",
    "ModelConfig": "seqcast.config",
    "RunConfig": "seqcast.config",
    "TrainConfig": "seqcast.config",
    "chapter15": "seqcast.data.datasets",
    "generate_time_series": "seqcast.data.synthetic",
    "MODELS": "seqcast.models",
    "build_model": "seqcast.models",
    "RNNForecaster": "seqcast.models",
    "EncoderDecoder": "seqcast.models",
    "Recurrent": "seqcast.nn",
    "fit": "seqcast.train",
    "evaluate": "seqcast.train",
    "predict": "seqcast.forecast",
    "rollout": "seqcast.forecast",
    "reproduce": "seqcast.experiments",
    "EXPERIMENTS": "seqcast.experiments",
    "seeded": "seqcast.seeding",
    "Conv1d": "seqcast.nn",
    "align_targets": "seqcast.nn",
    "WaveNet": "seqcast.models",
    "SimpleWaveNet": "seqcast.models",
    "ConvRNN": "seqcast.models",
    "read_series": "seqcast.data.io",
    "load_panel": "seqcast.data.load",
    "Covariates": "seqcast.data.covariates",
    "load_dataset": "seqcast.data.datasets",
    "make_config": "seqcast.pipeline",
    "data_defaults": "seqcast.forecasting.defaults",
    "from_frame": "seqcast.data.io",
    "fit_forecaster": "seqcast.pipeline",
    "backtest": "seqcast.backtest",
    "load_run": "seqcast.runs",
    "save_run": "seqcast.runs",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'seqcast' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
