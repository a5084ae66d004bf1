"""One Python call per CLI verb on real series: train, forecast, backtest, datasets."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np

from .config import RunConfig
from .data.io import Panel
from .forecasting.defaults import resolve_diff  # noqa: F401  (the CLI and API share it)
from .outputs import write_file, write_table, write_text


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
    search=None,
) -> dict:
    """Train ``config`` on its data and write a run directory at ``out``; returns the metrics.

    While training, ``out.partial/`` holds ``config.json`` and a checkpoint written at every
    epoch; ``resume=True`` continues from it (``config`` may then be ``None``), or starts
    the saved configuration afresh when the run was stopped before its first checkpoint.
    Inside a torchrun process group only rank 0 writes files. ``search`` (an
    ``AutoConfig``) sets the budget and ensemble of ``--model auto``, or the seeds to
    ensemble for one model.
    """
    from . import distributed
    from .data.covariate_io import covers_horizon
    from .data.load import load_panel
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
    forecaster, history, metrics = fit_forecaster(panel, config, progress, checkpoint, resume,
                                                  search=search)
    metrics = {
        **metrics,
        "epochs": len(history.records.get("loss", [])),
        "seconds": float(sum(history.records.get("seconds", []))),
    }
    if out is not None and main:
        levels = _plot_levels(forecaster)
        figures = {}
        if covers_horizon(panel, config.data):  # future covariates may come only at forecast
            from .forecasting.young import forecast_all

            shown = forecast_all(forecaster, panel, None, levels, None, out)[0]
            figures["forecast.png"] = series_forecast_figure(panel, shown)
        if history.records.get("loss") and hasattr(forecaster, "model"):
            figures["learning_curves.png"] = learning_curves_figure({config.model.name: history})
        save_run(out, forecaster, history, metrics, figures)
        shutil.rmtree(partial, ignore_errors=True)
    return metrics


def _plot_levels(forecaster) -> tuple[float, ...]:
    """Bands for the run's forecast plot: 80 and 95 where the model gives them."""
    from .forecasting.intervals import has_head

    cfg = forecaster.config.model
    if not hasattr(forecaster, "calibration") and not has_head(cfg):
        return ()
    if cfg.quantiles and not hasattr(forecaster, "calibration"):
        return tuple(lv for lv in (80, 95) if cfg.quantiles[0] <= 0.5 - lv / 200 + 1e-9
                     and cfg.quantiles[-1] >= 0.5 + lv / 200 - 1e-9)
    if hasattr(forecaster, "calibration"):
        return tuple(lv for lv in (80, 95) if forecaster.gives(lv))
    return (80, 95)


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
    levels: tuple[float, ...] = (),
    samples: int | None = None,
    nonnegative: bool = False,
):
    """Forecast past the end of every series (default: the run's own data).

    Args:
        data: ``DataConfig`` fields that name other data (``path``, ``dataset``, ``time_col``,
            ``targets``, ``id_col``, ``fill``, ``freq``, ``future_path``); the rest is read as
            in training. Covariate fields, if given, must be the run's own (``calendar`` may
            be ``"auto"``): a model reads exactly the covariates it was trained with.
        levels: interval levels in percent (adds ``lo-L``, ``hi-L`` columns).
        samples: instead, ``samples`` sample paths per series in long format.
        nonnegative: values below zero (forecasts, bounds, sample values) are written as 0,
            for quantities that cannot be negative (counts, sales); each bound is still the
            same quantile, since clipping at 0 is monotone.

    Returns:
        DataFrame with columns ``id``, ``time``, ``forecast`` (``lo-L``, ``hi-L``), or
        ``id``, ``time``, ``sample``, ``value`` (also written to ``output``).
    """
    import dataclasses

    from .data.calendar import resolve
    from .data.load import check_steps, load_panel, other_data
    from .forecasting.young import forecast_all
    from .plot import series_forecast_figure
    from .runs import load_run

    forecaster = load_run(run)
    data = dict(data or {})
    if ("path" in data or "dataset" in data) and "future_path" not in data:
        data["future_path"] = None  # the training's future file belongs to the training data
    calendar = data.pop("calendar", None)
    trained = forecaster.config.data
    for key in ("past_covariates", "future_covariates", "static_covariates"):
        if key in data and tuple(data[key]) != getattr(trained, key):
            raise ValueError(f"{run} reads {key.replace('_', ' ')} {list(getattr(trained, key))};"
                             f" got {list(data[key])}")
    panel = load_panel(dataclasses.replace(trained, **other_data(trained, data)))
    check_steps(panel, trained, run)
    if calendar is not None and resolve(calendar, panel.freq) != trained.calendar:
        raise ValueError(f"{run} reads calendar features {list(trained.calendar)};"
                         f" got {calendar!r}")
    frame, shown, notes = forecast_all(forecaster, panel, horizon, levels, samples, run)
    for note in notes:  # new series, and series too short for the run's window
        print(note, file=sys.stderr)
    if nonnegative:
        frame, shown = (_at_least_zero(f) for f in (frame, shown))
    if output is not None:
        write_table(frame, output)
    if plot is not None:
        figure = series_forecast_figure(panel, shown)
        write_file(plot, lambda tmp: figure.savefig(tmp, dpi=100))
    return frame


def _at_least_zero(frame):
    """``frame`` with its forecast, bound and sample value columns clipped at 0."""
    cols = [c for c in frame.columns if c in ("forecast", "value") or c[:3] in ("lo-", "hi-")]
    return frame.assign(**{c: frame[c].clip(lower=0.0) for c in cols})


def backtest(
    config: RunConfig,
    folds: int = 5,
    step: int | None = None,
    baselines: tuple[str, ...] = ("naive", "seasonal_naive", "arima"),
    json_path: str | Path | None = None,
    panel: Panel | None = None,
    arima_order: tuple | None = None,
    progress: bool | None = None,
    search=None,
    levels: tuple[float, ...] = (),
    forecasts_path: str | Path | None = None,
    nonnegative: bool = False,
):
    """Rolling-origin backtest of ``config`` against ``baselines``; optionally saved as JSON,
    and every origin's forecasts beside the truth as a table (CSV, or Parquet by suffix).

    ``arima_order`` is ((p, d, q), (P, D, Q, s)) to skip the ARIMA order search; ``search``
    is the ``AutoConfig`` of ``--model auto``; ``nonnegative``: every model's forecasts and
    bounds clipped at 0 before scoring (as ``forecast(nonnegative=True)`` writes them)."""
    from .backtest import backtest as run_backtest
    from .data.load import load_panel

    panel = load_panel(config.data) if panel is None else panel
    result = run_backtest(panel, config, folds, step, baselines, arima_order, progress,
                          search=search, levels=levels, nonnegative=nonnegative)
    if json_path is not None:
        write_text(json_path, json.dumps(result.to_dict(), indent=2) + "\n")
    if forecasts_path is not None:
        write_table(result.forecasts, forecasts_path)
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
