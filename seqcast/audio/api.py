"""The calls behind ``seqcast audio train | evaluate | generate``: files in, files out."""

from __future__ import annotations

import io
import json
from collections.abc import Callable

import numpy as np
import torch

from ..backends.native.structs import MAX_SIZE
from ..outputs import write_file, write_text
from .config import AudioConfig
from .data import load_recordings, quantise, speaker_labels
from .figure import learning_curve_figure, spectrogram_figure
from .generate import generate_audio
from .model import bits_per_sample
from .run import check_out, check_writable, load_audio_run, save_audio_run
from .train import train_audio, valid_bits
from .wav import read_mono, write_wav

VALID_FRACTION = 0.1  # held out from the end of each training file when no --valid is given
SAMPLE_SECONDS = 2.0  # generated for the run directory's spectrogram


def train(wavs: list[str], out: str, config: AudioConfig, valid: list[str] | None = None,
          speakers: str | None = None, log: Callable[[str], None] = print) -> dict:
    """Train on ``wavs``, validate on ``valid`` (or the last 10% of each training file), and
    write the run directory ``out``; returns a summary (validation and baseline bits)."""
    check_out(out)  # before any work
    check_writable(out)
    labels = speaker_labels(speakers, wavs + (valid or [])) if speakers else None
    recordings = load_recordings(wavs, config.sample_rate, labels)
    if valid:
        held = load_recordings(valid, config.sample_rate, labels)
        fitted = recordings
    else:
        parts = [r.split(VALID_FRACTION) for r in recordings]
        fitted, held = [a for a, _ in parts], [b for _, b in parts]
    model, config, history, unigram, lpc = train_audio(fitted, held, config, log)
    score = valid_bits(model, held, config)
    real = held[0].inputs.numpy()
    prime_len = min(model.receptive_field, len(real) // 2)
    samples = int(SAMPLE_SECONDS * config.sample_rate)
    generated, _, _ = generate_audio(model, samples, held[0].inputs[:prime_len], seed=config.seed,
                                  speaker=_index(config, held[0].speaker))
    wav = io.BytesIO()
    write_wav(wav, generated, config.sample_rate)  # soundfile writes to file objects too
    figure = spectrogram_figure(real[prime_len:prime_len + samples], generated, config.sample_rate)
    save_audio_run(out, config, model, unigram, lpc, history,
                   {"sample.wav": wav.getvalue(), "spectrogram.png": figure,
                    "learning_curve.png": learning_curve_figure(history)})
    n = sum(len(r.classes) - 1 for r in held)
    return {"valid_bits": score, "samples": n,
            "unigram_bits": sum(unigram.bits(r.classes.numpy()) * (len(r.classes) - 1) for r in held) / n,
            "lpc_bits": sum(lpc.bits(r.classes.numpy()) * (len(r.classes) - 1) for r in held) / n,
            "steps": history[-1]["step"], "cpu_seconds": history[-1]["cpu_seconds"],
            "wall_seconds": history[-1]["wall_seconds"]}


def evaluate(run: str, wavs: list[str], json_path: str | None = None,
             speakers: str | None = None) -> dict:
    """Bits per sample of the model and both baselines on each file (keyed by its path as
    given), mixed down and resampled to the run's rate as training audio is (``converted``
    says what was changed, when anything was)."""
    config, model, unigram, lpc = load_audio_run(run)
    torch.set_num_threads(config.threads)
    if config.speakers and not speakers:
        raise ValueError("this model is conditioned on speakers; give --speaker-labels")
    if speakers and not config.speakers:  # said, then ignored, would mislead
        raise ValueError("this model is not conditioned on speakers; leave out --speaker-labels")
    labels = speaker_labels(speakers, wavs) if speakers else {}
    files = {}
    for path in wavs:
        audio, converted = read_mono(path, config.sample_rate)
        classes = quantise(audio)
        if len(classes) < 2:
            raise ValueError(f"{path}: one sample; scoring needs at least two")
        files[str(path)] = {
            "bits_per_sample": bits_per_sample(model, classes, _index(config, labels.get(path))),
            "unigram_bits": unigram.bits(classes.numpy()), "lpc_bits": lpc.bits(classes.numpy()),
            "samples": len(classes) - 1, **({"converted": converted} if converted else {})}
    result = {"files": files}
    if json_path:
        write_text(json_path, json.dumps(result, indent=2) + "\n")
    return result


def generate(run: str, seconds: float, out: str, prime: str | None = None,
             temperature: float = 1.0, seed: int = 0, speaker: str | None = None,
             device: str = "cpu") -> dict:
    """Write ``seconds`` of sampled audio to ``out`` (16-bit WAV); returns the real-time
    factor (generation seconds / audio seconds), by wall time and by this process's CPU time.
    ``device``: "cpu" or "cuda" (see ``generate_audio``)."""
    from ..devices import resolve_device

    if not seconds > 0:
        raise ValueError(f"--seconds must be positive, got {seconds}")
    device = str(resolve_device(device))
    config, model, _, _ = load_audio_run(run)
    torch.set_num_threads(config.threads)
    primer, converted = None, ""
    if prime:
        audio, converted = read_mono(prime, config.sample_rate)
        primer = quantise(audio)
        from ..nn.mulaw import mu_law_decode
        primer = mu_law_decode(primer)[:model.receptive_field]  # the recording's start
    if config.speakers and speaker is None:
        raise ValueError(f"this model is conditioned on speakers; give --speaker, one of: "
                         f"{', '.join(config.speakers)}")
    samples = int(round(seconds * config.sample_rate))
    if samples > MAX_SIZE:  # the generation kernel's largest length (a WAV holds 2**31)
        raise ValueError(f"--seconds {seconds:g} is {samples:,} samples at {config.sample_rate}"
                         f" Hz; one generation makes at most {MAX_SIZE:,} (about"
                         f" {MAX_SIZE / config.sample_rate / 60:.0f} minutes)")
    audio, wall, cpu = generate_audio(model, samples, primer, temperature, seed,
                                      _index(config, speaker), device)
    write_file(out, lambda tmp: write_wav(tmp, audio, config.sample_rate))
    seconds = samples / config.sample_rate
    return {"seconds": seconds, "device": device, "generation_seconds": wall, "cpu_seconds": cpu,
            "real_time_factor": wall / seconds, "cpu_real_time_factor": cpu / seconds,
            "rms": float(np.sqrt(np.mean(np.square(audio)))),
            **({"prime_converted": converted} if converted else {})}


def _index(config: AudioConfig, speaker: str | None) -> int | None:
    if not config.speakers and speaker is not None:  # said, then ignored, would mislead
        raise ValueError(f"this model is not conditioned on speakers; leave out --speaker"
                         f" {speaker}")
    if not config.speakers or speaker is None:
        return None
    if speaker not in config.speakers:
        raise ValueError(f"unknown speaker {speaker!r}; valid: {', '.join(config.speakers)}")
    return config.speakers.index(speaker)
