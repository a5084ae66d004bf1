import math

import numpy as np
import pytest
import soundfile as sf
import torch
from audio_files import chirp, tone, write

from seqcast.audio.baselines import LinearPredictor, Unigram, class_edges, decode
from seqcast.audio.data import quantise
from seqcast.audio.wav import load_training_audio, read_mono, read_wav, write_wav
from seqcast.nn.mulaw import mu_law_decode, mu_law_encode


def test_mu_law_classes_survive_a_16_bit_wav_round_trip(tmp_path):
    classes = torch.from_numpy(np.random.default_rng(0).integers(0, 256, 4000))
    write_wav(tmp_path / "a.wav", mu_law_decode(classes).numpy(), 16000)
    back, changed = read_mono(tmp_path / "a.wav", 16000)
    assert changed == ""
    assert sf.info(str(tmp_path / "a.wav")).subtype == "PCM_16"
    assert torch.equal(quantise(back), classes)


def test_class_edges_bound_every_encoded_amplitude():
    x = np.linspace(-1, 1, 20001)
    q = mu_law_encode(torch.from_numpy(x)).numpy()
    edges = class_edges()
    inside = (edges[q] <= x + 1e-7) & (x - 1e-7 <= edges[q + 1])
    assert inside.all()
    assert np.allclose(decode(np.arange(256)), mu_law_decode(torch.arange(256)).numpy(), atol=1e-6)


def test_resampling_keeps_the_tone_and_mixes_channels_down(tmp_path):
    left, right = tone(1.0, 22050, 1000.0), tone(1.0, 22050, 1000.0, amplitude=0.1)
    write(tmp_path / "s.wav", np.stack([left, right], axis=1), 22050)
    audio = load_training_audio(tmp_path / "s.wav", 16000)
    assert len(audio) == 16000
    spectrum = np.abs(np.fft.rfft(audio[1000:-1000] * np.hanning(14000)))
    assert np.argmax(spectrum) * 16000 / 14000 == pytest.approx(1000, abs=2)
    assert np.sqrt(np.mean(audio[1000:-1000] ** 2)) == pytest.approx(0.3 / math.sqrt(2), rel=0.01)


def test_unigram_is_the_smoothed_class_frequency():
    train = np.array([3, 3, 3, 7, 200])
    model = Unigram.fit([train])
    probs = np.full(256, 1.0) / 261
    probs[3], probs[7], probs[200] = 4 / 261, 2 / 261, 2 / 261
    assert np.allclose(model.probs, probs)
    scored = np.array([0, 3, 7, 7])  # sample 0 has no history and is not scored
    assert model.bits(scored) == pytest.approx(-np.log2([4 / 261, 2 / 261, 2 / 261]).mean())


def test_linear_predictor_recovers_an_ar2_and_scores_laplace_mass_per_class():
    rng = np.random.default_rng(1)
    x = np.zeros(20000)
    for t in range(2, len(x)):
        x[t] = 1.6 * x[t - 1] - 0.8 * x[t - 2] + rng.laplace(0, 0.01)
    classes = mu_law_encode(torch.from_numpy(x / np.abs(x).max() * 0.9)).numpy()
    lpc = LinearPredictor.fit([classes])
    assert len(lpc.coefficients) == 17
    assert lpc.coefficients[1] == pytest.approx(1.6, abs=0.1)
    assert lpc.coefficients[2] == pytest.approx(-0.8, abs=0.1)
    # by hand: predict from the 16 decoded samples before, Laplace CDF over the class interval
    amp, c, b = decode(classes), np.asarray(lpc.coefficients), lpc.scale
    edges = class_edges()
    cdf = lambda z: np.where(z < 0, 0.5 * np.exp(np.minimum(z, 0) / b),  # noqa: E731
                             1 - 0.5 * np.exp(-np.maximum(z, 0) / b))
    bits = []
    for t in range(1, 400):
        past = [amp[t - k] if t - k >= 0 else 0.0 for k in range(1, 17)]
        pred = c[0] + np.dot(c[1:], past)
        bits.append(-np.log2(cdf(edges[classes[t] + 1] - pred) - cdf(edges[classes[t]] - pred)))
    assert lpc.bits(classes[:400]) == pytest.approx(np.mean(bits), rel=1e-9)
    pred = 0.013  # the probabilities of the 256 classes sum to one
    assert np.sum(cdf(edges[1:] - pred) - cdf(edges[:-1] - pred)) == pytest.approx(1.0)


def test_far_tails_keep_finite_bits():
    lpc = LinearPredictor((0.0, 0.999) + (0.0,) * 15, 1e-4)
    classes = np.array([255, 0, 255, 0])
    assert np.isfinite(lpc.bits(classes))


@pytest.mark.parametrize("make,needle", [
    (lambda p: p.write_text("not audio"), "not a readable audio file"),
    (lambda p: p.write_bytes(b""), "not a readable audio file"),
    (lambda p: write(p, np.zeros(0, np.float32), 16000), "holds no samples"),
])
def test_bad_files_are_named_in_one_line(tmp_path, make, needle):
    path = tmp_path / "bad.wav"
    make(path)
    with pytest.raises(ValueError, match=needle) as err:
        read_wav(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("fmt,subtype,tolerance", [
    ("WAV", "PCM_24", 2 ** -23), ("WAV", "PCM_32", 2 ** -31), ("WAV", "PCM_U8", 2 ** -7),
    ("WAV", "ULAW", 0.02), ("WAVEX", "PCM_24", 2 ** -23), ("FLAC", "PCM_24", 2 ** -23),
    ("AIFF", "PCM_16", 2 ** -15),
])
def test_recordings_as_recorders_write_them_are_read(tmp_path, fmt, subtype, tolerance):
    x = 0.8 * np.stack([tone(0.05, 44100), chirp(0.05, 44100)], axis=1)
    path = tmp_path / f"rec.{'flac' if fmt == 'FLAC' else 'aiff' if fmt == 'AIFF' else 'wav'}"
    sf.write(str(path), x, 44100, subtype=subtype, format=fmt)  # stereo, 44.1 kHz
    data, rate = read_wav(path)
    assert rate == 44100 and data.shape == x.shape
    assert np.max(np.abs(data - x)) <= tolerance + 1e-7
    mono = load_training_audio(path, 16000)  # mixed down and resampled for training
    assert abs(len(mono) - round(len(x) * 16000 / 44100)) <= 1


def test_read_mono_says_what_it_changed(tmp_path):
    stereo = write(tmp_path / "st.wav", np.zeros((800, 2), np.float32) + 0.1, 8000)
    audio, changed = read_mono(stereo, 16000)
    assert changed == "2 channels mixed down, 8000 Hz resampled to 16000 Hz"
    assert len(audio) == 1600
    tiny = write(tmp_path / "tiny.wav", np.full(1, 0.1, np.float32), 48000)
    with pytest.raises(ValueError, match="tiny.wav: 1 samples at 48000 Hz leave none at 8000"):
        read_mono(tiny, 8000)
