import json

import numpy as np
import pytest
import soundfile as sf
from audio_files import chirp, espeak, tone, write

from seqcast.audio.baselines import class_edges, decode
from seqcast.audio.data import quantise
from seqcast.audio.wav import load_training_audio
from seqcast.cli import main as _main


def main(argv: list[str]) -> int:
    """The CLI's exit status, argument errors (SystemExit) included."""
    try:
        return _main(argv)
    except SystemExit as exc:
        return exc.code


SMALL = ["--sample-rate", "8000", "--window", "0.05", "--blocks", "1", "--layers-per-block", "4",
         "--channels", "8", "--minutes", "0.02"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny run on two chirps (one at 16 kHz, resampled), validated on a third."""
    d = tmp_path_factory.mktemp("audio")
    a = write(d / "alice_1.wav", chirp(0.5, 16000, seed=1), 16000)
    b = write(d / "bob_1.wav", chirp(0.4, 8000, 300, 1500, seed=2), 8000)
    v = write(d / "alice_2.wav", chirp(0.3, 8000, seed=3), 8000)
    assert main(["audio", "train", "--wav", a, b, "--valid", v, "--out", str(d / "run"),
                 *SMALL]) == 0
    return d, [a, b]


def test_train_writes_a_run_directory(trained):
    d, _ = trained
    run = d / "run"
    for name in ("config.json", "model.safetensors", "baselines.json", "history.csv",
                 "spectrogram.png", "learning_curve.png", "sample.wav"):
        assert (run / name).stat().st_size > 0
    header = (run / "history.csv").read_text().splitlines()[0]
    assert header == "step,cpu_seconds,wall_seconds,train_bits,valid_bits"
    assert sf.info(str(run / "sample.wav")).subtype == "PCM_16"


def test_evaluate_scores_each_file_beside_baselines_fitted_on_the_training_audio(trained, tmp_path):
    d, train = trained
    scored = write(tmp_path / "test.wav", chirp(0.2, 8000, 300, 1500, seed=9), 8000)
    assert main(["audio", "evaluate", str(d / "run"), "--wav", scored, "--json",
                 str(tmp_path / "e.json")]) == 0
    result = json.loads((tmp_path / "e.json").read_text())["files"][scored]
    assert set(result) == {"bits_per_sample", "unigram_bits", "lpc_bits", "samples"}
    classes = quantise(sf.read(scored, dtype="float32")[0]).numpy()
    assert result["samples"] == len(classes) - 1
    # the baselines again, by hand, from the training files resampled to the run's rate
    fitted = [quantise(load_training_audio(p, 8000)).numpy() for p in train]
    counts = sum(np.bincount(c, minlength=256) for c in fitted) + 1
    unigram = -np.log2(counts / counts.sum())[classes[1:]].mean()
    assert result["unigram_bits"] == pytest.approx(unigram, rel=1e-9)
    rows, targets = [], []
    for c in fitted:
        x = decode(c)
        for t in range(1, len(x)):
            rows.append([1.0] + [x[t - k] if t >= k else 0.0 for k in range(1, 17)])
            targets.append(x[t])
    coef = np.linalg.lstsq(np.array(rows), np.array(targets), rcond=None)[0]
    scale = np.abs(np.array(targets) - np.array(rows) @ coef).mean()
    x, edges = decode(classes), class_edges()
    cdf = lambda z: np.where(z < 0, 0.5 * np.exp(np.minimum(z, 0) / scale),  # noqa: E731
                             1 - 0.5 * np.exp(-np.maximum(z, 0) / scale))
    bits = []
    for t in range(1, len(x)):
        pred = coef[0] + sum(coef[k] * (x[t - k] if t >= k else 0.0) for k in range(1, 17))
        bits.append(-np.log2(cdf(edges[classes[t] + 1] - pred) - cdf(edges[classes[t]] - pred)))
    assert result["lpc_bits"] == pytest.approx(np.mean(bits), rel=1e-6)
    assert 0 < result["bits_per_sample"] < 8.5


def test_generate_writes_16_bit_audio_and_the_real_time_factor(trained, tmp_path, capsys):
    d, _ = trained
    out = tmp_path / "g.wav"
    prime = write(tmp_path / "p.wav", tone(0.1, 8000), 8000)
    assert main(["audio", "generate", str(d / "run"), "--seconds", "0.25", "--out", str(out),
                 "--prime", prime, "--seed", "3", "--temperature", "0.8"]) == 0
    assert "real-time factor" in capsys.readouterr().out
    info = sf.info(str(out))
    assert (info.subtype, info.samplerate, info.frames) == ("PCM_16", 8000, 2000)
    again = tmp_path / "h.wav"
    main(["audio", "generate", str(d / "run"), "--seconds", "0.25", "--out", str(again),
          "--prime", prime, "--seed", "3", "--temperature", "0.8"])
    assert np.array_equal(sf.read(str(out))[0], sf.read(str(again))[0])


@pytest.mark.parametrize("argv,needle", [
    (["--seconds", "3000"], "--seconds 3000 is 24,000,000 samples at 8000 Hz; one generation"
                            " makes at most 16,777,216 (about 35 minutes)"),
    (["--seconds", "0.1", "--temperature", "inf"], "--temperature: expected a positive number"),
    (["--seconds", "0.1", "--speaker", "bob"], "not conditioned on speakers; leave out --speaker"
                                               " bob"),
])
def test_bad_generation_choices_exit_2(trained, tmp_path, capsys, argv, needle):
    d, _ = trained
    assert main(["audio", "generate", str(d / "run"), *argv, "--out", str(tmp_path / "g.wav")]
                ) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1 and not (tmp_path / "g.wav").exists()
    a = write(tmp_path / "a.wav", tone(0.2, 8000), 8000)
    assert main(["audio", "evaluate", str(d / "run"), "--wav", a, "--speaker-labels", "names"]
                ) == 2
    assert "not conditioned on speakers; leave out --speaker-labels" in capsys.readouterr().err


def test_generate_on_cuda(trained, tmp_path, capsys):
    import torch

    d, _ = trained
    argv = ["audio", "generate", str(d / "run"), "--seconds", "0.25", "--out",
            str(tmp_path / "g.wav"), "--device", "cuda"]
    if not torch.cuda.is_available():
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "no CUDA GPU is available" in err and err.count("\n") == 1
        assert not (tmp_path / "g.wav").exists()
        return
    assert main(argv) == 0
    assert "on cuda: real-time factor" in capsys.readouterr().out
    assert sf.info(str(tmp_path / "g.wav")).frames == 2000


def test_speaker_conditioning_from_file_names(tmp_path, capsys):
    a = write(tmp_path / "alice_1.wav", chirp(0.3, 8000, seed=1), 8000)
    b = write(tmp_path / "bob-1.wav", tone(0.3, 8000, 300), 8000)
    run = str(tmp_path / "run")
    assert main(["audio", "train", "--wav", a, b, "--out", run, "--speaker-labels", "names",
                 *SMALL]) == 0
    assert json.loads((tmp_path / "run" / "config.json").read_text())["speakers"] == ["alice", "bob"]
    for who in ("alice", "bob"):
        assert main(["audio", "generate", run, "--seconds", "0.1", "--out",
                     str(tmp_path / f"{who}.wav"), "--speaker", who]) == 0
    capsys.readouterr()
    assert main(["audio", "generate", run, "--seconds", "0.1", "--out", str(tmp_path / "c.wav"),
                 "--speaker", "carol"]) == 2
    assert "unknown speaker 'carol'; valid: alice, bob" in capsys.readouterr().err
    assert main(["audio", "evaluate", run, "--wav", a, "--speaker-labels", "names"]) == 0
    assert main(["audio", "evaluate", run, "--wav", a]) == 2
    assert "give --speaker-labels" in capsys.readouterr().err
    # a run saved before the config had a version conditioned at the input: refused in a line
    config = tmp_path / "run" / "config.json"
    config.write_text(json.dumps({k: v for k, v in json.loads(config.read_text()).items()
                                  if k != "version"}))
    capsys.readouterr()
    assert main(["audio", "generate", run, "--seconds", "0.1", "--out", str(tmp_path / "d.wav"),
                 "--speaker", "bob"]) == 2
    err = capsys.readouterr().err
    assert "speaker-conditioned run of an earlier seqcast" in err and err.count("\n") == 1


def test_runs_without_a_version_load_as_before_when_unconditioned(trained, tmp_path):
    import shutil

    d, _ = trained
    old = tmp_path / "old"
    shutil.copytree(d / "run", old)
    data = json.loads((old / "config.json").read_text())
    assert data.pop("version") == 2
    (old / "config.json").write_text(json.dumps(data))
    for run in (d / "run", old):
        assert main(["audio", "generate", str(run), "--seconds", "0.1", "--out",
                     str(tmp_path / f"{run.name}.wav")]) == 0
    assert np.array_equal(sf.read(str(tmp_path / "run.wav"))[0], sf.read(str(tmp_path / "old.wav"))[0])
    data["version"] = 3
    (old / "config.json").write_text(json.dumps(data))
    assert main(["audio", "evaluate", str(old), "--wav", str(d / "alice_1.wav")]) == 2


def _bad(tmp_path, kind):
    p = tmp_path / f"{kind}.wav"
    if kind == "text":
        p.write_text("RIFF? no")
    elif kind == "empty":
        p.write_bytes(b"")
    elif kind == "no_samples":
        write(p, np.zeros(0, np.float32), 8000)
    return str(p)


@pytest.mark.parametrize("kind,needle", [
    ("text", "not a readable audio file"), ("empty", "not a readable audio file"),
    ("no_samples", "holds no samples"),
])
def test_bad_audio_exits_2_with_one_line(trained, tmp_path, capsys, kind, needle):
    d, _ = trained
    bad = _bad(tmp_path, kind)
    before = sorted(p.name for p in (d / "run").iterdir())
    for argv in (["audio", "evaluate", str(d / "run"), "--wav", bad],
                 ["audio", "generate", str(d / "run"), "--seconds", "0.1", "--prime", bad,
                  "--out", str(tmp_path / "o.wav")]):
        capsys.readouterr()
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("seqcast: error: ") and needle in err and err.count("\n") == 1
        assert bad in err
    assert not (tmp_path / "o.wav").exists()
    assert sorted(p.name for p in (d / "run").iterdir()) == before
    assert main(["audio", "train", "--wav", bad, "--out", str(tmp_path / "r"), *SMALL]) == 2
    assert needle in capsys.readouterr().err and not (tmp_path / "r").exists()


def test_stereo_or_other_rate_audio_is_scored_and_primes_as_training_audio_is(trained, tmp_path,
                                                                            capsys):
    d, _ = trained
    mono = tone(0.2, 8000)
    same = write(tmp_path / "same.wav", mono, 8000)
    stereo = write(tmp_path / "stereo.wav", np.stack([mono, mono], axis=1), 8000)
    fast = write(tmp_path / "fast.wav", tone(0.2, 16000), 16000)
    capsys.readouterr()
    assert main(["audio", "evaluate", str(d / "run"), "--wav", same, stereo, fast, "--json",
                 str(tmp_path / "e.json")]) == 0
    err = capsys.readouterr().err
    files = json.loads((tmp_path / "e.json").read_text())["files"]
    assert "converted" not in files[same]
    assert files[stereo]["converted"] == "2 channels mixed down"
    assert files[fast]["converted"] == "16000 Hz resampled to 8000 Hz"
    assert f"{stereo}: 2 channels mixed down" in err and "16000 Hz resampled" in err
    # the same signal mixed down scores exactly as the mono file; resampled, nearly
    assert files[stereo]["bits_per_sample"] == files[same]["bits_per_sample"]
    assert abs(files[fast]["samples"] - files[same]["samples"]) <= 1
    assert files[fast]["bits_per_sample"] == pytest.approx(files[same]["bits_per_sample"], abs=0.3)
    out = tmp_path / "g.wav"
    assert main(["audio", "generate", str(d / "run"), "--seconds", "0.1", "--out", str(out),
                 "--prime", fast]) == 0
    assert "resampled to 8000 Hz" in capsys.readouterr().err
    assert sf.info(str(out)).samplerate == 8000


def test_files_of_the_same_name_in_two_folders_are_scored_apart(trained, tmp_path):
    d, _ = trained
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    a = write(tmp_path / "a" / "take.wav", tone(0.2, 8000), 8000)
    b = write(tmp_path / "b" / "take.wav", chirp(0.2, 8000, 300, 1500, seed=2), 8000)
    assert main(["audio", "evaluate", str(d / "run"), "--wav", a, b, "--json",
                 str(tmp_path / "e.json")]) == 0
    files = json.loads((tmp_path / "e.json").read_text())["files"]
    assert set(files) == {a, b} and files[a] != files[b]


def test_a_recording_one_sample_longer_than_the_window_trains(tmp_path):
    """Its only window starts at 0: the next samples of a window starting later would run
    past the end (the targets came one short, and the batch failed to stack)."""
    a = write(tmp_path / "a.wav", chirp(401 / 8000, 8000), 8000)  # window 0.05 s: 400 + 1
    assert len(sf.read(a)[0]) == 401
    v = write(tmp_path / "v.wav", chirp(0.1, 8000, seed=3), 8000)
    assert main(["audio", "train", "--wav", a, "--valid", v, "--out", str(tmp_path / "r"),
                 *SMALL, "--batch-size", "64"]) == 0


@pytest.mark.parametrize("argv,needle", [
    (["--window", "0.001"], "shorter than the receptive field"),
    (["--window", "2"], "samples to train on at 8000 Hz, its last part held out for"
                        " validation, fewer than one window (16000 + 1)"),
    (["--minutes", "0"], "expected a positive number"),
    (["--sample-rate", "10000000"], "sample_rate must lie in 1000..384000 Hz, got 10000000"),
    (["--speaker-labels", "/nonexistent.csv"], "cannot read it"),
])
def test_bad_training_choices_exit_2(tmp_path, capsys, argv, needle):
    a = write(tmp_path / "a.wav", chirp(0.3, 8000), 8000)
    assert main(["audio", "train", "--wav", a, "--out", str(tmp_path / "r"), *SMALL, *argv]) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1 and not (tmp_path / "r").exists()


def test_not_a_run_directory_exits_2(tmp_path, capsys):
    a = write(tmp_path / "a.wav", chirp(0.3, 8000), 8000)
    assert main(["audio", "evaluate", str(tmp_path), "--wav", a]) == 2
    assert "is not a seqcast audio run" in capsys.readouterr().err


def test_espeak_speech_trains_and_scores_or_is_skipped(tmp_path, capsys):
    a = espeak(tmp_path / "a.wav", "Hello there, this is a test.", "en-us")
    if a is None:
        pytest.skip("espeak-ng is not installed")
    b = espeak(tmp_path / "b.raw.wav", "Something else entirely.", "en-gb+f2")
    write(tmp_path / "b.wav", load_training_audio(b, 8000), 8000)
    run = str(tmp_path / "run")
    assert main(["audio", "train", "--wav", a, "--out", run, *SMALL]) == 0
    assert main(["audio", "evaluate", run, "--wav", str(tmp_path / "b.wav")]) == 0
    assert "b.wav" in capsys.readouterr().out


def test_an_unwritable_output_folder_is_reported_before_training(tmp_path, capsys):
    a = write(tmp_path / "a.wav", chirp(0.3, 8000), 8000)
    (tmp_path / "file").write_text("x")
    assert main(["audio", "train", "--wav", a, "--out", str(tmp_path / "file" / "run"),
                 *SMALL]) == 2
    assert "cannot write a run into" in capsys.readouterr().err
    assert (tmp_path / "file").read_text() == "x"
