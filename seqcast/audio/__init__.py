"""WaveNet on recordings: WAV in, a trained mu-law model, bits per sample beside two
baselines, and audio back out. ``api`` holds the calls behind ``seqcast audio ...``."""

from .config import AudioConfig

__all__ = ["AudioConfig"]
