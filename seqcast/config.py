"""Frozen configuration, one dataclass per concern, with a JSON round trip.

Override fields with ``dataclasses.replace``; unknown keys in JSON are errors, not ignored.
"""

from __future__ import annotations

import dataclasses
import json
import numbers
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PRECISIONS = ("float32", "bf16")
RUNTIME = ("device", "num_threads", "precision", "cuda_graph")  # where, not what, is trained
LR_SCHEDULES = ("none", "plateau", "cosine")
# Forecasting strategies and gap fills, shared by the pipeline and the CLI.
STRATEGIES = ("direct", "seq2seq", "iterative")
FILLS = ("ffill", "interpolate", "zero")
OUTPUTS = ("last", "sequence")  # ModelConfig.output: seq2vec (B, H) or seq2seq (B, T, H)


def check_horizon(horizon: int, trained: int, strategy: str) -> None:
    """A horizon longer than a direct or seq2seq model was trained for: one line saying how
    to get it (the iterative strategy forecasts any horizon)."""
    if isinstance(horizon, bool) or not isinstance(horizon, numbers.Integral) or horizon < 1:
        raise ValueError(f"horizon must be a whole number >= 1, got {horizon!r}")
    if strategy != "iterative" and horizon > trained:
        raise ValueError(f"horizon {horizon} exceeds the trained horizon {trained}; retrain"
                         f" with --horizon {horizon} (or, for a single model, --strategy"
                         " iterative, which forecasts any horizon)")


@dataclass(frozen=True)
class ModelConfig:
    """What to build. ``name`` is a key of ``seqcast.models.MODELS``; each family reads the
    fields it needs.

    output: "last" predicts ``horizon`` values from the whole input (seq2vec, (B, H));
        "sequence" predicts them at every input step (seq2seq, (B, T, H)).
    head: "dense" puts a linear layer on the last recurrent layer; "recurrent" makes the last
        layer itself a recurrent layer of ``horizon`` units (the chapter's ``SimpleRNN(1)``);
        "decoder" makes an encoder-decoder (``seqcast.models.EncoderDecoder``).
    norm: "none" or "batch" (batch normalization between recurrent layers).
    dropout, recurrent_dropout: drop rates of each recurrent layer's inputs and of its
        recurrent state h_{t-1}, one mask per sequence (``seqcast.nn.Recurrent``).
    """

    name: str = "rnn"
    input_size: int = 1
    input_len: int = 50
    horizon: int = 1
    hidden_size: int = 20
    num_layers: int = 2
    output: str = "last"
    head: str = "dense"
    norm: str = "none"
    dropout: float = 0.0
    recurrent_dropout: float = 0.0
    # Convolutional families (conv_gru, wavenet_simple, wavenet). padding: "causal", "valid"
    # or "same"; filters: conv channels (WaveNet's residual and skip channels); dilations are
    # 1, 2, ..., 2^(layers_per_block-1), repeated ``blocks`` times. WaveNet's head may also be
    # "mulaw" (256 class logits per step, for audio).
    kernel_size: int = 2
    stride: int = 1
    padding: str = "causal"
    filters: int = 20
    blocks: int = 2
    layers_per_block: int = 4
    season: int = 1  # seasonal period, read by the seasonal naive baseline
    # Distribution heads (seqcast.models.heads): quantile levels in (0, 1), increasing, trained
    # with the pinball loss; or a likelihood ("normal", "studentt") trained by its NLL.
    quantiles: tuple[float, ...] = ()
    likelihood: str = "none"

    def __post_init__(self):  # JSON gives lists; keep the fields hashable tuples
        for name, (low, high) in _MODEL_SIZES.items():  # a config read from disk: sizes to build
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or not low <= v <= high:
                raise ValueError(f"model {name} must be a whole number in [{low}, {high}],"
                                 f" got {v!r}")
        if not isinstance(self.quantiles, (list, tuple)) or not all(
                isinstance(q, (int, float)) and not isinstance(q, bool) for q in self.quantiles):
            raise ValueError(f"model quantiles must be a list of numbers, got {self.quantiles!r}")
        object.__setattr__(self, "quantiles", tuple(float(q) for q in self.quantiles))


# Whole-number model fields: the least and most each may be (far beyond any model trained
# here), so that a damaged or hand-edited config.json cannot ask for terabytes.
_MODEL_SIZES = {"input_size": (1, 100_000), "input_len": (1, 1_000_000),
                "horizon": (1, 1_000_000), "hidden_size": (1, 65_536), "num_layers": (0, 100),
                "kernel_size": (1, 10_000), "stride": (1, 10_000), "filters": (1, 65_536),
                "blocks": (1, 100), "layers_per_block": (1, 30), "season": (1, 1_000_000)}


@dataclass(frozen=True)
class TrainConfig:
    """How to train: Adam on MSE, Keras' epsilon by default; early stopping off unless
    ``patience`` is set.

    ``weight_decay`` > 0 trains with AdamW (decoupled decay); ``lr_schedule`` "plateau"
    halves the rate when the validation loss stalls, "cosine" anneals it to zero over
    ``epochs``. ``min_epochs``: early stopping neither stops nor keeps weights from before
    this epoch (a noisy validation loss often looks best after the first epoch).
    """

    epochs: int = 20
    batch_size: int = 32
    lr: float = 1e-3
    adam_eps: float = 1e-7
    seed: int = 42
    patience: int | None = None
    clip_norm: float | None = None
    clip_value: float | None = None
    device: str = "auto"
    checkpoint_every: int | None = None  # steps between mid-epoch checkpoints (epoch ends always)
    num_threads: int | None = None  # torch CPU threads while training; None keeps torch's
    # On a GPU: replay each full batch's whole training step (forward, backward, clipping,
    # Adam) as one captured CUDA graph; the last, smaller batch of an epoch runs eagerly.
    cuda_graph: bool = True
    precision: str = "float32"  # or "bf16": the forward pass under bfloat16 autocast
    weight_decay: float = 0.0
    lr_schedule: str = "none"
    min_epochs: int = 0

    def __post_init__(self):
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"unknown lr_schedule {self.lr_schedule!r};"
                             f" valid: {', '.join(LR_SCHEDULES)}")
        if self.weight_decay < 0 or self.min_epochs < 0:
            raise ValueError(f"weight_decay and min_epochs must be >= 0, got"
                             f" {self.weight_decay}, {self.min_epochs}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"unknown precision {self.precision!r}; valid: {', '.join(PRECISIONS)}")


@dataclass(frozen=True)
class DataConfig:
    """Where the data comes from: a named dataset and task.

    For real series (``task="forecast"``): ``path`` names a CSV, Excel or Parquet file (else
    ``dataset`` names a bundled series); ``targets`` are value columns, each series forecast
    ``horizon`` steps ahead by ``strategy`` ("direct", "seq2seq" or "iterative") after
    differencing by ``diff`` lags and scaling (fitted on the training part only), after
    taking logarithms when ``log`` (positive series whose swings grow with their level).
    """

    dataset: str = "chapter15"
    task: str = "one_step"
    path: str | None = None
    time_col: str | None = None
    targets: tuple[str, ...] | None = None
    id_col: str | None = None
    fill: str | None = None
    freq: str | None = None
    sheet: str | None = None  # an Excel workbook's sheet (default: its first)
    horizon: int = 1
    strategy: str = "direct"
    season: int = 1
    diff: tuple[int, ...] = ()
    scale: bool = True
    log: bool = False
    stride: int = 1
    valid_frac: float = 0.2
    test_frac: float = 0.0
    # Covariates (``seqcast.data.covariates``): column names of the data file; ``calendar``
    # holds resolved feature names of ``seqcast.data.calendar.FEATURES``; ``future_path``
    # names a file with the future covariates over the horizon.
    past_covariates: tuple[str, ...] = ()
    future_covariates: tuple[str, ...] = ()
    static_covariates: tuple[str, ...] = ()
    calendar: tuple[str, ...] = ()
    future_path: str | None = None
    intervals: str = "none"  # "conformal": split-conformal intervals from validation residuals

    def __post_init__(self):  # JSON gives lists; keep the fields hashable tuples
        if self.targets is not None:
            object.__setattr__(self, "targets", tuple(self.targets))
        object.__setattr__(self, "diff", tuple(int(d) for d in self.diff))
        for name, v in (("horizon", self.horizon), ("season", self.season),
                        ("stride", self.stride), *(("diff lag", d) for d in self.diff)):
            if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 1_000_000:
                raise ValueError(f"data {name} must be a whole number in [1, 1000000], got {v!r}")
        for name in ("past_covariates", "future_covariates", "static_covariates", "calendar"):
            object.__setattr__(self, name, tuple(str(c) for c in getattr(self, name)))


@dataclass(frozen=True)
class RunConfig:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunConfig:
        parts = {}
        for f in dataclasses.fields(cls):
            parts[f.name] = _build(f.type if isinstance(f.type, type) else _SECTIONS[f.name],
                                   data.get(f.name, {}), f.name)
        unknown = set(data) - set(parts)
        if unknown:
            raise ValueError(f"unknown config section(s): {', '.join(sorted(unknown))}")
        return cls(**parts)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> RunConfig:
        """The config saved at ``path``; a damaged or hand-edited one is a ValueError naming
        the file and what is wrong with it."""
        try:
            raw = json.loads(Path(path).read_text())
            if not isinstance(raw, dict):
                raise ValueError("not a JSON object")
            return cls.from_dict(raw)
        except (ValueError, TypeError) as e:  # JSONDecodeError is a ValueError
            raise ValueError(f"{path}: {e}") from None


_SECTIONS = {"data": DataConfig, "model": ModelConfig, "train": TrainConfig}


def _build(kind: type, values: dict[str, Any], where: str):
    if not isinstance(values, dict):
        raise ValueError(f"config section {where!r} must be an object")
    names = {f.name for f in dataclasses.fields(kind)}
    unknown = set(values) - names
    if unknown:
        raise ValueError(f"unknown key(s) in config section {where!r}: {', '.join(sorted(unknown))}")
    return kind(**values)
