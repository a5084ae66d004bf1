"""One Python call per CLI verb on real series: train, forecast, backtest, datasets."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np

from .config import RunConfig
from .data.io import Panel


def resolve_diff(panel: Panel, season: int, valid_frac: float) -> tuple[int, ...]:
    """``diff="auto"``: the lags ARIMA's tests pick (KPSS for lag 1, variance for lag s), by
    majority over the first 20 series' training parts."""
    from .data.transforms import split_points
    from .models.arima import choose_differences

    votes: dict[tuple[int, ...], int] = {}
    for s in list(panel)[:20]:
        n_train = split_points(len(s), valid_frac)[0]
        d, D = choose_differences(s.values[:n_train], season)
        lags = (1,) * d + (season,) * D
        votes[lags] = votes.get(lags, 0) + 1
    return max(votes, key=votes.get)


def partial_dir(out: str | Path) -> Path:
    """Where a run in progress keeps its config and checkpoint: ``RUN_DIR.partial`` beside it,
    so an earlier complete run at ``RUN_DIR`` stays intact until the new one is complete."""
    out = Path(out)
    return out.with_name(out.name + ".partial")


def train(
    config: RunConfig | None,
    out: str | Path | None = None,
    panel: Panel | None = None,
    progress: bool | None = None,
    resume: bool = False,
) -> dict:
    """Train ``config`` on its data and write a run directory at ``out``; returns the metrics.

    While training, ``out.partial/`` holds ``config.json`` and a checkpoint written at every
    epoch; ``resume=True`` continues from it (``config`` may then be ``None``), or starts
    the saved configuration afresh when the run was stopped before its first checkpoint. Inside a
    torchrun process group only rank 0 writes files.
    """
    from . import distributed
    from .data.io import load_panel
    from .pipeline import fit_forecaster
    from .plot import learning_curves_figure, series_forecast_figure
    from .runs import save_run

    main = distributed.context().main
    partial = partial_dir(out) if out is not None else None
    if resume:
        if partial is None or not (partial / "config.json").is_file():
            raise ValueError(f"{out}: no interrupted run to resume (no {partial}/config.json)")
        config = RunConfig.load(partial / "config.json")
        # Killed before its first checkpoint: nothing to continue, so the run starts from the
        # beginning with its saved configuration (same seeds: the same weights as unbroken)
        resume = (partial / "checkpoint.pt").is_file()
    elif partial is not None and main:
        _prepare(partial, config)
    distributed.barrier()
    panel = load_panel(config.data) if panel is None else panel
    checkpoint = partial / "checkpoint.pt" if partial is not None else None
    forecaster, history, metrics = fit_forecaster(panel, config, progress, checkpoint, resume)
    metrics = {
        **metrics,
        "epochs": len(history.records.get("loss", [])),
        "seconds": float(sum(history.records.get("seconds", []))),
    }
    if out is not None and main:
        figures = {"forecast.png": series_forecast_figure(panel, forecaster.forecast(panel))}
        if history.records.get("loss"):
            figures["learning_curves.png"] = learning_curves_figure({config.model.name: history})
        save_run(out, forecaster, history, metrics, figures)
        shutil.rmtree(partial, ignore_errors=True)
    return metrics


def _prepare(partial: Path, config: RunConfig, needed_mb: float = 50.0) -> None:
    """Fail before training, not after it, when the output cannot be written."""
    parent = partial.parent
    parent.mkdir(parents=True, exist_ok=True)
    if not os.access(parent, os.W_OK):
        raise ValueError(f"{parent}: output folder is not writable")
    free_mb = shutil.disk_usage(parent).free / 2**20
    if free_mb < needed_mb:
        raise ValueError(f"{parent}: only {free_mb:.0f} MB free, {needed_mb:.0f} MB needed for the run")
    shutil.rmtree(partial, ignore_errors=True)  # a stale interrupted run is started afresh
    partial.mkdir()
    config.save(partial / "config.json")


def forecast(
    run: str | Path,
    data: dict | None = None,
    horizon: int | None = None,
    output: str | Path | None = None,
    plot: str | Path | None = None,
):
    """Forecast past the end of every series (default: the run's own data).

    Args:
        data: ``DataConfig`` fields that name other data (``path``, ``dataset``, ``time_col``,
            ``targets``, ``id_col``, ``fill``, ``freq``); the rest is read as in training.

    Returns:
        DataFrame with columns ``id``, ``time``, ``forecast`` (also written to ``output``).
    """
    import dataclasses

    from .data.io import load_panel
    from .plot import series_forecast_figure
    from .runs import load_run

    forecaster = load_run(run)
    panel = load_panel(dataclasses.replace(forecaster.config.data, **(data or {})))
    frame = forecaster.forecast(panel, horizon)
    if output is not None:
        frame.to_csv(output, index=False)
    if plot is not None:
        series_forecast_figure(panel, frame).savefig(plot, dpi=100)
    return frame


def backtest(
    config: RunConfig,
    folds: int = 5,
    step: int | None = None,
    baselines: tuple[str, ...] = ("naive", "seasonal_naive", "arima"),
    json_path: str | Path | None = None,
    panel: Panel | None = None,
    arima_order: tuple | None = None,
    progress: bool | None = None,
):
    """Rolling-origin backtest of ``config`` against ``baselines``; optionally saved as JSON.

    ``arima_order`` is ((p, d, q), (P, D, Q, s)) to skip the ARIMA order search."""
    from .backtest import backtest as run_backtest
    from .data.io import load_panel

    panel = load_panel(config.data) if panel is None else panel
    result = run_backtest(panel, config, folds, step, baselines, arima_order, progress)
    if json_path is not None:
        Path(json_path).write_text(json.dumps(result.to_dict(), indent=2) + "\n")
    return result


def datasets() -> list[dict]:
    """The bundled real series: name, length, frequency, season, start, end, source."""
    from .data.datasets import REAL_DATASETS, load_dataset

    rows = []
    for name, meta in REAL_DATASETS.items():
        s = load_dataset(name).series[0]
        rows.append(
            {
                "name": name,
                "length": len(s),
                "freq": meta.freq,
                "season": meta.season,
                "horizon": meta.horizon,
                "start": str(s.index[0].date()),
                "end": str(s.index[-1].date()),
                "source": meta.source,
                "description": meta.description,
                "mean": float(np.mean(s.values)),
            }
        )
    return rows
