"""Figures (matplotlib, no pyplot state): each function returns a ``Figure``; nothing is shown."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.figure import Figure


def learning_curves_figure(histories: Mapping[str, object]) -> Figure:
    """Training loss and validation figure per epoch, one panel per run (log scale unless a
    value is not positive)."""
    n = len(histories)
    cols = min(n, 3)
    rows = (n + cols - 1) // cols
    fig = Figure(figsize=(4.5 * cols, 3.2 * rows), layout="constrained")
    for i, (name, history) in enumerate(histories.items()):
        ax = fig.add_subplot(rows, cols, i + 1)
        records = history.records
        epochs = np.arange(1, len(records["loss"]) + 1)
        ax.plot(epochs, records["loss"], "b.-", label="training loss")
        for key, values in records.items():
            if key.startswith("val_"):
                ax.plot(epochs, values, ".-", label=f"validation {key[4:]}")
        positive = all(v > 0 for k, vs in records.items() if k == "loss" or k.startswith("val_")
                       for v in vs)
        ax.set_yscale("log" if positive else "linear")  # a negative log-likelihood can be < 0
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    return fig


def forecast_figure(example: Mapping[str, np.ndarray], title: str = "") -> Figure:
    """One series: its input, the true future and the forecast (the chapter's plot).

    ``example`` holds ``x`` (T,), ``y`` and ``pred`` of shape (H,) or, for seq2seq, (T, H)
    (then the forecast made at the last input step is drawn).
    """
    x, y, pred = (np.asarray(example[k]) for k in ("x", "y", "pred"))
    if y.ndim == 2:
        y, pred = y[-1], pred[-1]
    t_in = np.arange(len(x))
    t_out = np.arange(len(x), len(x) + len(y))
    fig = Figure(figsize=(6, 3.2), layout="constrained")
    ax = fig.add_subplot()
    ax.plot(t_in, x, ".-", color="tab:blue", label="input")
    ax.plot(t_out, y, "o-" if len(y) > 1 else "o", color="tab:blue", mfc="none", label="actual")
    ax.plot(t_out, pred, "x-" if len(y) > 1 else "x", color="tab:red", ms=8, label="forecast")
    ax.set_xlabel("t")
    ax.set_ylabel("x(t)")
    ax.set_title(title, fontsize=9)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def series_forecast_figure(series, forecasts, tail: int = 120) -> Figure:
    """The last ``tail`` steps of each series and its forecast, one panel per series (up to 6).

    Args:
        series: ``seqcast.data.io.Series`` objects (``id``, ``index``, ``values``).
        forecasts: a DataFrame with columns ``id``, ``time``, ``forecast`` and, per interval
            level L, ``lo-L``, ``hi-L`` (drawn as shaded bands).
    """
    every = list(series)
    series = every[:6]
    fig = Figure(figsize=(7, 2.6 * len(series)), layout="constrained")
    if len(every) > len(series):  # say so: the forecast table holds every series
        fig.suptitle(f"the first {len(series)} of {len(every)} series", fontsize=9)
    for i, s in enumerate(series):
        ax = fig.add_subplot(len(series), 1, i + 1)
        f = forecasts[forecasts["id"] == s.id]
        ax.plot(s.index[-tail:], s.values[-tail:], "-", color="tab:blue", label="history")
        ax.plot(f["time"], f["forecast"], ".-", color="tab:red", label="forecast")
        levels = sorted((float(c[3:]) for c in f.columns if c.startswith("lo-")), reverse=True)
        for k, level in enumerate(levels):  # widest band palest, drawn first
            lo, hi = f[f"lo-{level:g}"], f[f"hi-{level:g}"]
            ax.fill_between(f["time"], lo, hi, color="tab:red", alpha=0.15 + 0.15 * k, lw=0,
                            label=f"{level:g}% interval")
        if np.issubdtype(np.asarray(s.index).dtype, np.datetime64):  # dates that never collide
            from matplotlib import dates

            locator = dates.AutoDateLocator()
            ax.xaxis.set_major_locator(locator)
            ax.xaxis.set_major_formatter(dates.ConciseDateFormatter(locator))
        ax.set_title(s.id, fontsize=9)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    return fig
