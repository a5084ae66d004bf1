"""Training a mu-law WaveNet on recordings: random windows, loss where the receptive field is
full, validation on held-out audio, early stopping, a CPU-time budget."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import torch
import torch.nn.functional as F

from ..seeding import seeded
from .baselines import LN2, LinearPredictor, Unigram
from .config import AudioConfig
from .data import Recording
from .model import AudioModel, bits_per_sample


def valid_bits(model: AudioModel, recordings: list[Recording], config: AudioConfig) -> float:
    """Bits per sample over all held-out recordings (weighted by their samples)."""
    total = sum(bits_per_sample(model, r.classes, _speaker_index(config, r)) * (len(r.classes) - 1)
                for r in recordings)
    return total / sum(len(r.classes) - 1 for r in recordings)


def train_audio(train: list[Recording], valid: list[Recording], config: AudioConfig,
                log: Callable[[str], None] = print
                ) -> tuple[AudioModel, AudioConfig, list[dict], Unigram, LinearPredictor]:
    """Fit ``AudioModel(config)`` on random windows of ``train`` until ``valid`` stops
    improving or ``config.minutes`` of CPU time are spent; the best weights by validation
    are kept. Returns the model (eval mode), the config with the speakers found, the history
    rows and the two baselines fitted on ``train``."""
    torch.set_num_threads(config.threads)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    speakers = sorted({r.speaker for r in train if r.speaker is not None})
    config = replace(config, speakers=tuple(speakers))
    unknown = {r.speaker for r in valid} - set(speakers) - {None}
    if unknown:
        raise ValueError(f"validation speaker(s) {', '.join(sorted(unknown))} not in training")
    with seeded(config.seed):
        model = AudioModel(config)
    field, width = model.receptive_field, config.window_samples
    if width < field:
        raise ValueError(f"--window {config.window} s is {width} samples, shorter than the "
                         f"receptive field ({field}); use a longer window or a smaller network")
    for r in train:
        if len(r.classes) < width + 1:
            held = "" if not any(v.name == f"{r.name} (end)" for v in valid) else (
                ", its last part held out for validation")
            raise ValueError(f"{r.name}: {len(r.classes)} samples to train on at"
                             f" {config.sample_rate} Hz{held}, fewer than one window ({width}"
                             " + 1); use a shorter --window")
    for r in valid:
        if len(r.classes) < 2:
            raise ValueError(f"{r.name}: held-out audio needs at least two samples")
    unigram = Unigram.fit([r.classes.numpy() for r in train])
    lpc = LinearPredictor.fit([r.classes.numpy() for r in train])
    inputs = [r.inputs for r in train]
    # A window's inputs are samples o .. o + width - 1 and its targets the next ones, so o
    # runs over 0 .. len - width - 1: len - width of them per file, files drawn by that count.
    offsets_of = np.array([len(r.classes) - width for r in train], dtype=np.float64)
    rng = np.random.default_rng(config.seed)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    budget = 60 * config.minutes
    history, best, best_state, waiting, running, step = [], float("inf"), None, 0, [], 0
    while True:
        files = rng.choice(len(train), size=config.batch_size, p=offsets_of / offsets_of.sum())
        offsets = [int(rng.integers(0, offsets_of[f])) for f in files]
        x = torch.stack([inputs[f][o:o + width] for f, o in zip(files, offsets, strict=True)])
        y = torch.stack([train[f].classes[o + 1:o + width + 1]
                         for f, o in zip(files, offsets, strict=True)])
        spk = _speakers(config, [train[f] for f in files])
        model.train()
        logits = model(x[..., None], spk)[:, field - 1:]  # (B, W - field + 1, 256): full fields
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y[:, field - 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        running.append(loss.item() / LN2)
        spent = time.process_time() - cpu0
        if step % config.valid_every == 0 or spent >= budget:
            model.eval()
            score = valid_bits(model, valid, config)
            history.append({"step": step, "cpu_seconds": round(time.process_time() - cpu0, 2),
                            "wall_seconds": round(time.perf_counter() - wall0, 2),
                            "train_bits": round(float(np.mean(running)), 4),
                            "valid_bits": round(score, 4)})
            running = []
            log(f"step {step}: train {history[-1]['train_bits']:.3f}, valid {score:.3f} bits "
                f"per sample ({history[-1]['cpu_seconds']:.0f} s CPU)")
            if score < best:
                best, best_state, waiting = score, copy.deepcopy(model.state_dict()), 0
            else:
                waiting += 1
            if waiting >= config.patience or time.process_time() - cpu0 >= budget:
                break
    if best_state is None:
        raise ValueError("the validation bits were never finite (training diverged); "
                         "lower --lr")
    model.load_state_dict(best_state)
    return model.eval(), config, history, unigram, lpc


def _speaker_index(config: AudioConfig, r: Recording) -> int | None:
    return config.speakers.index(r.speaker) if config.speakers and r.speaker is not None else None


def _speakers(config: AudioConfig, recordings: list[Recording]) -> torch.Tensor | None:
    if not config.speakers:
        return None
    return torch.tensor([config.speakers.index(r.speaker) for r in recordings])
