"""Audio that the audio tests make for themselves: tones, chirps, noise, espeak-ng speech."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import soundfile as sf


def tone(seconds: float, rate: int, hz: float = 440.0, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def chirp(seconds: float, rate: int, lo: float = 200.0, hi: float = 2000.0,
          seed: int = 0) -> np.ndarray:
    """A linear sweep from ``lo`` to ``hi`` Hz with a little noise (no class left empty)."""
    t = np.arange(int(seconds * rate)) / rate
    phase = 2 * np.pi * (lo * t + (hi - lo) * t * t / (2 * seconds))
    noise = np.random.default_rng(seed).normal(0, 0.01, len(t))
    return (0.6 * np.sin(phase) + noise).clip(-1, 1).astype(np.float32)


def write(path: Path, audio: np.ndarray, rate: int, subtype: str = "PCM_16") -> str:
    sf.write(str(path), audio, rate, subtype=subtype, format="WAV")
    return str(path)


def espeak(path: Path, text: str, voice: str = "en-us") -> str | None:
    """Speech synthesised by espeak-ng (22,050 Hz), or None where it is not installed."""
    if shutil.which("espeak-ng") is None:
        return None
    subprocess.run(["espeak-ng", "-v", voice, "-w", str(path), text], check=True,
                   capture_output=True, timeout=60)
    return str(path)
