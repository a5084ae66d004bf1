"""Audio run directories: ``config.json`` (``AudioConfig``), ``model.safetensors``,
``baselines.json`` (the unigram and linear-predictor baselines fitted on the training audio),
``history.csv`` (bits per sample during training), ``learning_curve.png``, and a generated
``sample.wav`` with ``spectrogram.png`` (held-out audio above, generated below). Written into a temporary
sibling and renamed into place; loaded from JSON and safetensors only."""

from __future__ import annotations

import csv
import json
import tempfile
from pathlib import Path

from ..rundir import write_atomically
from .baselines import LinearPredictor, Unigram
from .config import VERSION, AudioConfig
from .model import AudioModel

FILES = ("config.json", "model.safetensors", "baselines.json")


def check_out(out: str | Path) -> Path:
    """``out`` if a run may be written there (absent, empty, or an earlier audio run)."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or (any(out.iterdir())
                                              and not (out / "baselines.json").is_file())):
        raise ValueError(f"{out} exists and is not a seqcast audio run; choose another --out")
    return out


def check_writable(out: str | Path) -> None:
    """Fail before training if the folder that will hold ``out`` cannot be written."""
    parent = Path(out).absolute().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryDirectory(prefix=".probe.", dir=parent).cleanup()
    except OSError as exc:
        raise ValueError(f"cannot write a run into {parent}: {exc.strerror or exc}") from None


def save_audio_run(out: str | Path, config: AudioConfig, model: AudioModel, unigram: Unigram,
                   lpc: LinearPredictor, history: list[dict], extra: dict) -> Path:
    """Write the run directory; ``extra`` maps file names to bytes or matplotlib figures."""
    from safetensors.torch import save_file

    out = check_out(out)

    def write(tmp: Path) -> None:
        config.save(tmp / "config.json")
        state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
        save_file(state, str(tmp / "model.safetensors"))
        baselines = {"unigram": list(unigram.probs),
                     "lpc": {"coefficients": list(lpc.coefficients), "scale": lpc.scale}}
        (tmp / "baselines.json").write_text(json.dumps(baselines, indent=2) + "\n")
        with (tmp / "history.csv").open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(history[0]) if history else ["step"])
            writer.writeheader()
            writer.writerows(history)
        for name, item in extra.items():
            if isinstance(item, bytes):
                (tmp / name).write_bytes(item)
            else:
                item.savefig(tmp / name, dpi=100)

    return write_atomically(out, write)


def load_audio_run(path: str | Path) -> tuple[AudioConfig, AudioModel, Unigram, LinearPredictor]:
    """The config, model (eval mode) and baselines of a run directory."""
    from safetensors.torch import load_file

    path = Path(path)
    missing = [f for f in FILES if not (path / f).is_file()]
    if missing:
        raise ValueError(f"{path} is not a seqcast audio run (missing {', '.join(missing)})")
    try:
        config = AudioConfig.load(path / "config.json")
        if config.version > VERSION:
            raise ValueError(f"{path}: written by a newer seqcast (audio run version "
                             f"{config.version}; this one reads up to {VERSION})")
        if config.version < 2 and config.speakers:
            raise ValueError(f"{path}: a speaker-conditioned run of an earlier seqcast (one "
                             "vector added at the input), which this version does not run; "
                             "retrain it")
        raw = json.loads((path / "baselines.json").read_text())
        unigram = Unigram(tuple(float(p) for p in raw["unigram"]))
        lpc = LinearPredictor(tuple(float(c) for c in raw["lpc"]["coefficients"]),
                              float(raw["lpc"]["scale"]))
        model = AudioModel(config)
        model.load_state_dict(load_file(str(path / "model.safetensors")), strict=True)
    except (KeyError, TypeError, json.JSONDecodeError, RuntimeError) as exc:
        raise ValueError(f"{path}: damaged audio run ({str(exc).splitlines()[0]})") from None
    return config, model.eval(), unigram, lpc
