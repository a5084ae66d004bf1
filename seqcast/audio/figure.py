"""Spectrograms of real and generated audio, one above the other on the same scales."""

from __future__ import annotations

import numpy as np


def spectrogram_figure(real: np.ndarray, generated: np.ndarray, sample_rate: int):
    """A matplotlib Figure: log-power spectrograms (25 ms Hann windows, 10 ms hop) of
    ``real`` and ``generated`` (each (N,)), sharing time, frequency and colour scales."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 6))
    axes = fig.subplots(2, 1, sharex=True, sharey=True)
    n_fft, hop = int(0.025 * sample_rate), int(0.010 * sample_rate)
    kw = {"NFFT": n_fft, "Fs": sample_rate, "noverlap": n_fft - hop, "cmap": "magma",
          "vmin": -140, "vmax": -20, "scale": "dB"}
    for ax, audio, title in ((axes[0], real, "real"), (axes[1], generated, "generated")):
        audio = np.asarray(audio, dtype=np.float64)
        if len(audio) > n_fft:
            ax.specgram(audio, **kw)
        ax.set_title(f"{title} ({len(audio) / sample_rate:.2f} s)")
        ax.set_ylabel("Hz")
    axes[1].set_xlabel("seconds")
    fig.tight_layout()
    return fig


def learning_curve_figure(history: list[dict]):
    """Training and validation bits per sample against CPU seconds (rows of ``history``)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4))
    ax = fig.subplots()
    seconds = [row["cpu_seconds"] for row in history]
    ax.plot(seconds, [row["train_bits"] for row in history], label="training windows")
    ax.plot(seconds, [row["valid_bits"] for row in history], label="held-out audio")
    ax.set_xlabel("CPU seconds")
    ax.set_ylabel("bits per sample")
    ax.legend()
    fig.tight_layout()
    return fig
