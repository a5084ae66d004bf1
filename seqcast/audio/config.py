"""``AudioConfig``: everything a recording-trained WaveNet run needs, frozen, JSON round trip."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

VERSION = 2  # the model layout this seqcast writes and reads (see AudioConfig.version)


@dataclass(frozen=True)
class AudioConfig:
    """A mu-law WaveNet on recordings and how it is trained.

    window: seconds per training window (the loss counts only outputs whose receptive field
        lies inside the window). minutes: training budget in CPU time of this process
        (``time.process_time``: fair on a shared machine; with one thread it is about the
        wall time of an idle one). valid_every: updates between validation scores; patience:
        scores without improvement before stopping early. speakers: the speaker ids of global
        conditioning, in embedding order (empty: unconditioned). version: the layout of the
        run's model (2: a speaker's embedding projected into every layer's gates; 1, runs
        saved before ``version`` existed: one vector added at the input).
    """

    sample_rate: int = 16000
    window: float = 1.0
    minutes: float = 10.0
    blocks: int = 2
    layers_per_block: int = 10
    channels: int = 32
    batch_size: int = 1
    lr: float = 2e-3
    valid_every: int = 50
    patience: int = 6
    seed: int = 0
    threads: int = 1
    speakers: tuple[str, ...] = ()
    version: int = VERSION

    def __post_init__(self):
        object.__setattr__(self, "speakers", tuple(self.speakers))  # JSON gives a list
        checks = {"sample_rate": self.sample_rate, "window": self.window, "minutes": self.minutes,
                  "blocks": self.blocks, "layers_per_block": self.layers_per_block,
                  "channels": self.channels, "batch_size": self.batch_size, "lr": self.lr,
                  "valid_every": self.valid_every, "patience": self.patience,
                  "threads": self.threads}
        for name, value in checks.items():
            if not value > 0:
                raise ValueError(f"{name} must be positive, got {value}")
        if not 1000 <= self.sample_rate <= 384000:  # telephone bands to studio masters
            raise ValueError(f"sample_rate must lie in 1000..384000 Hz, got {self.sample_rate}")

    @property
    def window_samples(self) -> int:
        return int(round(self.window * self.sample_rate))

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(dataclasses.asdict(self), indent=2) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> AudioConfig:
        data: Any = json.loads(Path(path).read_text())
        names = {f.name for f in dataclasses.fields(cls)}
        if not isinstance(data, dict) or set(data) - names:
            raise ValueError(f"{path}: not an audio run's config (unknown keys: "
                             f"{', '.join(sorted(set(data) - names)) if isinstance(data, dict) else data})")
        return cls(**{"version": 1, **data})  # written before the field: version 1
