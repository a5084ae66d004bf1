"""WaveNet on speech, end to end through the CLI: train with the defaults of ``seqcast audio
train``, score a speaker not in training beside the two baselines, generate and time it.

No recordings ship with seqcast and none are downloaded: the speech is synthesised with
espeak-ng (Debian's ``espeak-ng``), and its voices and variants stand in for speakers. Each
voice reads its own sentences; the test voice and its sentences are not in training. The
test recording is scored whole and without its pauses (``without_pauses``).

    python benchmarks/audio_speech.py --work /tmp/speech [--minutes 10] [--seconds 10]

(from the repository root, with seqcast installed or ``PYTHONPATH=.``)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

TRAIN = {  # voice+variant: what it reads
    "en-us+m3": "The quick brown fox jumps over the lazy dog. A stitch in time saves nine, "
                "and every cloud has a silver lining when the weather turns.",
    "en-gb+f2": "She sells sea shells by the sea shore, and the shells she sells are surely "
                "sea shells. Round the rugged rock the ragged rascal ran.",
    "en-us+f4": "Peter Piper picked a peck of pickled peppers. How much wood would a "
                "woodchuck chuck if a woodchuck could chuck wood?",
}
TEST = {"en-gb-scotland+m1": "Red lorry, yellow lorry. Six slippery snails slid slowly "
                             "seaward, while the old mill by the river kept on turning."}


def speak(voice: str, text: str, path: Path) -> None:
    subprocess.run(["espeak-ng", "-v", voice, "-s", "150", "-w", str(path), text], check=True)


def without_pauses(audio, rate: int = 16000):
    """The audio without its pauses: espeak-ng writes them as exact digital silence, which
    a WaveNet learns to predict almost for free while the linear predictor's Laplace
    residual pays for it, so scores on speech alone are the harder comparison. Runs of at
    least 10 ms of (near) zeros are removed."""
    import numpy as np

    quiet = np.abs(audio) < 1e-4
    edges = np.flatnonzero(np.diff(np.concatenate([[0], quiet.astype(np.int8), [0]])))
    keep = np.ones(len(audio), dtype=bool)
    for start, stop in zip(edges[::2], edges[1::2], strict=True):
        if stop - start >= rate // 100:
            keep[start:stop] = False
    return audio[keep]


def seqcast(*args: str) -> tuple[str, float, float]:
    """Run ``python -m seqcast ARGS``; its stdout, wall seconds and child CPU seconds."""
    before, start = os.times(), time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "seqcast", *args], capture_output=True,
                          text=True)
    after = os.times()
    if done.returncode:
        raise SystemExit(done.stderr)
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return done.stdout, time.perf_counter() - start, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", default="speech_bench", help="folder for audio and the run")
    parser.add_argument("--minutes", default="10", help="training budget in CPU minutes")
    parser.add_argument("--seconds", default="10", help="seconds of audio to generate")
    args = parser.parse_args()
    if shutil.which("espeak-ng") is None:
        raise SystemExit("needs espeak-ng (apt-get install espeak-ng)")
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    for voice, text in {**TRAIN, **TEST}.items():
        speak(voice, text, work / f"{voice}.raw.wav")
    from seqcast.audio.wav import load_training_audio, write_wav

    for voice in TEST:  # the speech-only copy is cut at the model's rate
        audio = load_training_audio(work / f"{voice}.raw.wav", 16000)
        write_wav(work / f"{voice}.wav", audio, 16000)
        write_wav(work / f"{voice}.speech.wav", without_pauses(audio), 16000)
    train = [str(work / f"{v}.raw.wav") for v in TRAIN]
    test = [str(work / f"{v}{part}.wav") for v in TEST for part in ("", ".speech")]
    run = str(work / "run")
    out, wall, cpu = seqcast("audio", "train", "--wav", *train, "--out", run,
                             "--minutes", args.minutes)
    print(out.strip())
    print(f"train: {wall:.0f} s wall, {cpu:.0f} s CPU (process and children)")
    out, _, _ = seqcast("audio", "evaluate", run, "--wav", *test, "--json", str(work / "eval.json"))
    print(out.strip())
    scores = json.loads((work / "eval.json").read_text())["files"]
    for name, r in scores.items():
        print(f"{name}: model - lpc = {r['bits_per_sample'] - r['lpc_bits']:+.3f} bits per sample")
    for prime in ([], ["--prime", test[1]]):
        out, _, _ = seqcast("audio", "generate", run, "--seconds", args.seconds, "--out",
                            str(work / ("primed.wav" if prime else "generated.wav")), *prime)
        print(("primed: " if prime else "from silence: ") + out.strip())


if __name__ == "__main__":
    main()
