"""Audio files in (soundfile: WAV of any sample format, FLAC, AIFF, Ogg, MP3, ...), WAV out,
resampling (soxr).

Every file, for training, scoring (``seqcast audio evaluate``) or continuing (``--prime``), is
mixed down to mono and resampled to the model's rate with soxr's very high quality filter, the
same way for all three, so a held-out file is scored as the model's own validation audio is;
``read_mono`` says what it changed. Every problem names the file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

# What libsndfile decodes to floats in [-1, 1]: integer PCM of 8 to 32 bits (WAV's extensible
# header included, as recorders write 24-bit and multichannel files), floats, mu-law and
# A-law, and compressed FLAC, Ogg and MP3. Headerless raw samples cannot be read unasked.
FORMATS = ("WAV", "WAVEX", "RF64", "W64", "FLAC", "AIFF", "CAF", "AU", "OGG", "MP3")


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """The samples of an audio file as float32 (N, channels) in [-1, 1], and its rate.

    Raises ``ValueError`` naming the file when it is missing, not an audio file of one of
    ``FORMATS``, empty, or holds samples that are not finite.
    """
    import soundfile as sf

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    try:
        info = sf.info(str(path))
    except (RuntimeError, sf.LibsndfileError) as exc:
        raise ValueError(f"{path}: not a readable audio file ({_first_line(exc)})") from None
    if info.format not in FORMATS:
        raise ValueError(f"{path}: unknown audio format {info.format}; valid: "
                         f"{', '.join(FORMATS)}")
    if info.frames == 0:
        raise ValueError(f"{path}: the file holds no samples")
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, sf.LibsndfileError) as exc:  # a header that promises more than is there
        raise ValueError(f"{path}: cannot decode ({_first_line(exc)})") from None
    if len(data) == 0:
        raise ValueError(f"{path}: the file holds no samples")
    if not np.isfinite(data).all():
        raise ValueError(f"{path}: the file holds NaN or infinite samples")
    return np.clip(data, -1.0, 1.0), int(rate)


def read_mono(path: str | Path, sample_rate: int) -> tuple[np.ndarray, str]:
    """Mono float32 (N,) at ``sample_rate`` (channels averaged, resampled with soxr) and what
    was changed to get it ("" for a mono file at that rate), e.g. "2 channels mixed down,
    44100 Hz resampled to 16000 Hz"."""
    import soxr

    data, rate = read_wav(path)
    mono = data.mean(axis=1)
    changes = [f"{data.shape[1]} channels mixed down"] if data.shape[1] > 1 else []
    if rate != sample_rate:
        mono = soxr.resample(mono, rate, sample_rate, quality="VHQ").astype(np.float32)
        changes.append(f"{rate} Hz resampled to {sample_rate} Hz")
        if len(mono) == 0:
            raise ValueError(f"{path}: {len(data)} samples at {rate} Hz leave none at "
                             f"{sample_rate} Hz")
    return np.clip(mono, -1.0, 1.0), ", ".join(changes)


def load_training_audio(path: str | Path, sample_rate: int) -> np.ndarray:
    """Mono float32 (N,) at ``sample_rate``, as ``read_mono`` gives it."""
    return read_mono(path, sample_rate)[0]


def write_wav(path, audio: np.ndarray, sample_rate: int) -> None:
    """Write mono float audio (N,) in [-1, 1] as a 16-bit PCM WAV file (a path or a binary
    file object)."""
    import soundfile as sf

    target = str(path) if isinstance(path, (str, Path)) else path
    audio = np.clip(np.asarray(audio, dtype=np.float32), -1, 1)
    sf.write(target, audio, sample_rate, subtype="PCM_16", format="WAV")


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
