"""Seeded blocks that leave the caller's global RNG state as it was."""

from __future__ import annotations

import contextlib

import torch


@contextlib.contextmanager
def seeded(seed: int):
    """Run the block with torch's CPU generator seeded, then restore its previous state."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield
