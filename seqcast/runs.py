"""Run directories: everything needed to forecast again, in plain files.

``config.json`` (``RunConfig``), ``model.safetensors`` (weights), ``transforms.json`` (each
series' differencing lags and scaling), ``metrics.json``, ``history.csv`` and figures;
``covariates.json`` (the covariate scaling and categories) when the model reads covariates,
whose columns and calendar features ``config.json`` names.
``calibration.json`` for conformal intervals.
Loading reads JSON and safetensors only, so it never unpickles anything. A run directory is
written into a temporary sibling and renamed into place, so a failure leaves no half run.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from .config import RunConfig
from .data.transforms import SeriesTransform
from .rundir import write_atomically

FILES = ("config.json", "model.safetensors", "transforms.json", "metrics.json", "history.csv")


def save_run(
    out: str | Path, forecaster, history, metrics: dict, figures: dict | None = None
) -> Path:
    """Write a run directory at ``out`` (replacing an earlier run there, never other files).

    Args:
        forecaster: a ``seqcast.pipeline.Forecaster``.
        history: the ``seqcast.train.History`` of its training.
        figures: file name -> matplotlib ``Figure``.
    """
    from safetensors.torch import save_file

    own = forecaster if hasattr(forecaster, "save") else getattr(forecaster, "inner", None)
    if hasattr(own, "save"):  # an ensemble or a classical member (conformal or not): its files
        def write(tmp: Path) -> None:
            own.save(tmp)
            if hasattr(forecaster, "calibration"):  # conformal intervals around the ensemble
                _write_json(tmp / "calibration.json", forecaster.calibration())
            _write_json(tmp / "metrics.json", metrics)
            for name, fig in (figures or {}).items():
                fig.savefig(tmp / name, dpi=100)

        return write_atomically(out, write)

    def write(tmp: Path) -> None:  # a forecaster of one network
        forecaster.config.save(tmp / "config.json")
        state = {k: v.detach().cpu().contiguous() for k, v in forecaster.model.state_dict().items()}
        save_file(state, str(tmp / "model.safetensors"))
        _write_json(
            tmp / "transforms.json", {k: t.to_dict() for k, t in forecaster.transforms.items()}
        )
        _write_json(tmp / "metrics.json", metrics)
        if getattr(forecaster, "covariate_scaler", None) is not None:
            _write_json(tmp / "covariates.json", forecaster.covariate_scaler.to_dict())
        if hasattr(forecaster, "calibration"):  # conformal intervals' validation scores
            _write_json(tmp / "calibration.json", forecaster.calibration())
        _write_history(tmp / "history.csv", history)
        for name, fig in (figures or {}).items():
            fig.savefig(tmp / name, dpi=100)

    return write_atomically(out, write)


def save_member(out: Path, forecaster) -> None:
    """Write one ensemble member's run directory at ``out`` (no history, metrics or figures)."""
    from .train import History

    if hasattr(forecaster, "save"):
        out.mkdir(parents=True)
        forecaster.save(out)
    else:
        save_run(out, forecaster, History(), {})


def load_run(path: str | Path):
    """Load the forecaster saved in a run directory (JSON and safetensors only): a
    ``seqcast.pipeline.Forecaster``, or an ``Ensemble`` / ``ETSForecaster`` of
    ``seqcast.forecasting`` when the folder holds ``ensemble.json`` / ``classical.json``.

    Example:
        >>> load_run("runs/co2").forecast(load_panel(DataConfig(dataset="co2")))
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from .data.covariates import CovariateScaler, uses_covariates
    from .pipeline import Forecaster, build_forecaster_model

    path = Path(path)
    try:
        if (path / "ensemble.json").is_file():
            from .forecasting.ensemble import Ensemble

            ensemble = Ensemble.load(path)
            if (path / "calibration.json").is_file():  # calibrated on the ensemble's residuals
                return _conformal(path, ensemble)
            return ensemble
        if (path / "classical.json").is_file():
            from .forecasting.classical import ETSForecaster

            return ETSForecaster.load(path)
    except (OSError, KeyError, TypeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: damaged run directory ({type(e).__name__}: {e})") from None
    missing = [f for f in FILES[:3] if not (path / f).is_file()]
    if missing:
        raise ValueError(f"{path} is not a seqcast run directory (missing {', '.join(missing)})")
    config = RunConfig.load(path / "config.json")
    scaler = None
    if uses_covariates(config.data):
        if not (path / "covariates.json").is_file():
            raise ValueError(f"{path}: config.json names covariates but covariates.json is missing")
        scaler = CovariateScaler.from_dict(json.loads((path / "covariates.json").read_text()))
    try:  # the weights read as tensors only; a config that does not fit them is one line
        model = build_forecaster_model(config, scaler)
        model.load_state_dict(load_file(str(path / "model.safetensors")), strict=True)
    except (RuntimeError, SafetensorError, MemoryError, OverflowError) as e:
        lines = [x.strip() for x in str(e).strip().splitlines() if x.strip()]
        why = (lines[1] if len(lines) > 1 and lines[0].startswith("Error(s) in loading") else
               lines[0] if lines else type(e).__name__)
        raise ValueError(f"{path}: config.json and model.safetensors do not fit together"
                         f" ({why[:200]}{'...' if len(why) > 200 else ''})") from None
    model.eval()
    raw = json.loads((path / "transforms.json").read_text())
    transforms = {k: SeriesTransform.from_dict(v) for k, v in raw.items()}
    forecaster = Forecaster(config, model, transforms, scaler)
    if config.data.intervals == "conformal":
        return _conformal(path, forecaster)
    return forecaster


def _conformal(path: Path, forecaster):
    """``forecaster`` wrapped with the conformal calibration saved beside it."""
    from .forecasting.conformal import ConformalForecaster

    if not (path / "calibration.json").is_file():
        raise ValueError(f"{path} has conformal intervals but no calibration.json")
    try:
        raw = json.loads((path / "calibration.json").read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}/calibration.json is not valid JSON: {exc}") from None
    return ConformalForecaster.from_calibration(forecaster, raw)


def export(run: str | Path, out: str | Path, format: str = "onnx", horizon: int | None = None,
           levels=()) -> Path:
    """Export the run directory ``run`` as one self-contained model file at ``out``.

    ``format="onnx"``: raw history in the data's units to forecasts in them, scaling,
    differencing and the strategy inside (``seqcast.forecasting.export``).

    Example:
        >>> export("runs/co2", "co2.onnx")  # doctest: +SKIP
    """
    from .forecasting.export import FORMATS, export_onnx

    if format not in FORMATS:
        raise ValueError(f"unknown export format {format!r}; valid: {', '.join(FORMATS)}")
    out = Path(out)
    if out.is_dir():
        raise ValueError(f"{out} is a directory; --out names the .onnx file to write")
    forecaster = load_run(run)
    return export_onnx(forecaster, out, horizon, freq=_freq_of(forecaster.config.data),
                       levels=levels)


def _freq_of(data) -> str | None:
    """The run's frequency: as configured, else as inferred from its data where still readable
    (a config keeps ``freq=None`` when the data's timestamps gave it)."""
    if data.freq is not None:
        return data.freq
    from .data.load import load_panel

    try:
        return load_panel(data).freq
    except (ValueError, OSError):
        return None


def _write_json(path: Path, data) -> None:
    path.write_text(json.dumps(data, indent=2) + "\n")


def _write_history(path: Path, history) -> None:
    records = history.records
    keys = list(records)
    n = len(records[keys[0]]) if keys else 0
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["epoch", *keys])
        for i in range(n):
            writer.writerow([i + 1, *(records[k][i] for k in keys)])
