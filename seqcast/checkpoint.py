"""Atomic training checkpoints that load without unpickling arbitrary objects.

A checkpoint is a dict of tensors, numbers, strings, lists and dicts written with
``torch.save`` and read back with ``torch.load(weights_only=True)``, whose unpickler
accepts only those types. Writes go to a temporary file in the same folder, are fsynced,
then renamed over the old checkpoint, so a crash never leaves a torn file behind.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import torch

from .rundir import usual_mode

FORMAT = "seqcast-checkpoint-1"


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` to ``path`` atomically (temporary file, fsync, rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save({"format": FORMAT, **payload}, f)
            f.flush()
            os.fsync(f.fileno())
        usual_mode(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # make the rename itself durable
    finally:
        os.close(dir_fd)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint written by ``save_checkpoint``; anything else is a ``ValueError``."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no checkpoint found")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # foreign pickles warn before they are refused
            payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated, foreign or unsafe pickle
        raise ValueError(f"{path}: not a readable seqcast checkpoint ({type(exc).__name__})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{path}: not a seqcast checkpoint")
    return payload
