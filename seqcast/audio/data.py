"""Recordings as training data: mu-law classes and the decoded amplitudes the model reads,
the held-out split, and speaker labels (from file names or a CSV)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from ..nn.mulaw import mu_law_decode, mu_law_encode
from .wav import load_training_audio


@dataclass(frozen=True)
class Recording:
    """One file's audio: ``classes`` (N,) long mu-law ids, ``inputs`` (N,) their decoded
    amplitudes (what the network reads), ``speaker`` its speaker's id (None: unlabelled)."""

    name: str
    classes: Tensor
    speaker: str | None = None

    @property
    def inputs(self) -> Tensor:
        return mu_law_decode(self.classes)

    def split(self, fraction: float) -> tuple[Recording, Recording]:
        """The first ``1 - fraction`` and the last ``fraction`` of the samples."""
        cut = int(round(len(self.classes) * (1 - fraction)))
        return (Recording(self.name, self.classes[:cut], self.speaker),
                Recording(self.name + " (end)", self.classes[cut:], self.speaker))


def quantise(audio: np.ndarray) -> Tensor:
    """float audio (N,) in [-1, 1] -> mu-law class ids (N,)."""
    return mu_law_encode(torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32)))


def load_recordings(paths: list[str], sample_rate: int,
                    speakers: dict[str, str] | None = None) -> list[Recording]:
    """Each audio file mixed down, resampled to ``sample_rate`` and quantised."""
    return [Recording(Path(p).name, quantise(load_training_audio(p, sample_rate)),
                      None if speakers is None else speakers[p]) for p in paths]


def speaker_labels(spec: str, paths: list[str]) -> dict[str, str]:
    """Speaker id per path: ``spec`` "names" takes the file name up to its first "_" or "-"
    (``alice_01.wav`` -> alice); otherwise it is a CSV file with columns ``file,speaker``
    (``file`` a base name or the path as given)."""
    if spec == "names":
        return {p: Path(p).stem.replace("-", "_").split("_")[0] for p in paths}
    table: dict[str, str] = {}
    try:
        with open(spec, newline="") as f:
            rows = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ValueError(f"--speaker-labels {spec}: cannot read it ({exc})") from None
    for i, row in enumerate(rows, start=2):
        if not row.get("file") or not row.get("speaker"):
            raise ValueError(f"{spec}: line {i}: needs columns file,speaker with values")
        table[row["file"].strip()] = row["speaker"].strip()
    labels = {}
    for p in paths:
        label = table.get(p, table.get(Path(p).name))
        if label is None:
            raise ValueError(f"{spec}: no speaker for {p}")
        labels[p] = label
    return labels
