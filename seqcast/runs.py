"""Run directories: everything needed to forecast again, in plain files.

``config.json`` (``RunConfig``), ``model.safetensors`` (weights), ``transforms.json`` (each
series' differencing lags and scaling), ``metrics.json``, ``history.csv`` and figures;
``calibration.json`` for conformal intervals.
Loading reads JSON and safetensors only, so it never unpickles anything. A run directory is
written into a temporary sibling and renamed into place, so a failure leaves no half run.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import tempfile
from pathlib import Path

from .config import RunConfig
from .data.transforms import SeriesTransform

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

    out = Path(out)
    if out.exists() and (
        not out.is_dir() or (any(out.iterdir()) and not (out / "config.json").is_file())
    ):
        raise ValueError(f"{out} exists and is not a seqcast run directory; choose another --out")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        forecaster.config.save(tmp / "config.json")
        state = {k: v.detach().cpu().contiguous() for k, v in forecaster.model.state_dict().items()}
        save_file(state, str(tmp / "model.safetensors"))
        _write_json(
            tmp / "transforms.json", {k: t.to_dict() for k, t in forecaster.transforms.items()}
        )
        _write_json(tmp / "metrics.json", metrics)
        if hasattr(forecaster, "calibration"):  # conformal intervals' validation scores
            _write_json(tmp / "calibration.json", forecaster.calibration())
        _write_history(tmp / "history.csv", history)
        for name, fig in (figures or {}).items():
            fig.savefig(tmp / name, dpi=100)
        if out.exists():  # an earlier run: swap it out only once the new one is complete
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
            os.replace(out, old / "run")
            os.replace(tmp, out)
            shutil.rmtree(old)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def load_run(path: str | Path):
    """Load the ``Forecaster`` saved in a run directory (JSON and safetensors only).

    Example:
        >>> load_run("runs/co2").forecast(load_panel(DataConfig(dataset="co2")))
    """
    from safetensors.torch import load_file

    from .pipeline import Forecaster, build_forecaster_model

    path = Path(path)
    missing = [f for f in FILES[:3] if not (path / f).is_file()]
    if missing:
        raise ValueError(f"{path} is not a seqcast run directory (missing {', '.join(missing)})")
    config = RunConfig.load(path / "config.json")
    model = build_forecaster_model(config)
    model.load_state_dict(load_file(str(path / "model.safetensors")), strict=True)
    model.eval()
    raw = json.loads((path / "transforms.json").read_text())
    transforms = {k: SeriesTransform.from_dict(v) for k, v in raw.items()}
    forecaster = Forecaster(config, model, transforms)
    if config.data.intervals == "conformal":
        from .forecasting.conformal import ConformalForecaster

        if not (path / "calibration.json").is_file():
            raise ValueError(f"{path} has conformal intervals but no calibration.json")
        try:
            raw = json.loads((path / "calibration.json").read_text())
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}/calibration.json is not valid JSON: {exc}") from None
        return ConformalForecaster.from_calibration(forecaster, raw)
    return forecaster


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
