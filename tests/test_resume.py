"""Crash safety: SIGKILL mid-epoch, resume, and end with bit-identical weights (CPU)."""

import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from seqcast.checkpoint import load_checkpoint, save_checkpoint
from seqcast.config import ModelConfig, TrainConfig
from seqcast.models import build_model
from seqcast.train import TrainingDiverged, fit

CHILD = str(Path(__file__).with_name("_train_child.py"))


def _run(*args):
    return subprocess.run([sys.executable, CHILD, *map(str, args)], capture_output=True, text=True)


def test_sigkill_mid_epoch_then_resume_is_bit_identical(tmp_path):
    full, crashed = tmp_path / "full.pt", tmp_path / "crashed.pt"
    assert _run("full", full).returncode == 0
    # 600 series / batch 32 = 19 steps per epoch: die at step 27, in the second epoch,
    # three steps after the step-24 checkpoint
    proc = _run("crash", crashed, 27)
    assert proc.returncode == -9
    assert not crashed.exists()
    saved = load_checkpoint(f"{crashed}.ckpt")
    assert (saved["epoch"], saved["step"]) == (1, 5)
    assert _run("resume", crashed).returncode == 0
    a = torch.load(full, weights_only=True)
    b = torch.load(crashed, weights_only=True)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)


def _data(n=64):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 10, 1)).astype(np.float32), rng.normal(size=(n, 1)).astype(np.float32)


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path):
    x, y = _data()
    model = build_model(ModelConfig(name="rnn", hidden_size=4))
    ckpt = tmp_path / "c.pt"
    fit(model, (x, y), config=TrainConfig(epochs=1), checkpoint=ckpt, progress=False)
    good = load_checkpoint(ckpt)
    y_bad = y.copy()
    y_bad[5] = np.nan
    with pytest.raises(TrainingDiverged, match="became nan in epoch 2.*last good checkpoint"):
        fit(model, (x, y_bad), config=TrainConfig(epochs=3), checkpoint=ckpt, resume=True,
            progress=False)
    kept = load_checkpoint(ckpt)
    assert kept["epoch"] == good["epoch"] == 1
    assert all(torch.equal(kept["model"][k], good["model"][k]) for k in good["model"])


def test_resume_checks_settings_and_file(tmp_path):
    x, y = _data()
    model = build_model(ModelConfig(name="rnn", hidden_size=4))
    ckpt = tmp_path / "c.pt"
    fit(model, (x, y), config=TrainConfig(epochs=1), checkpoint=ckpt, progress=False)
    with pytest.raises(ValueError, match="batch_size=32, not 16"):
        fit(model, (x, y), config=TrainConfig(epochs=2, batch_size=16), checkpoint=ckpt, resume=True)
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="junk.pt: not a readable seqcast checkpoint"):
        fit(model, (x, y), checkpoint=tmp_path / "junk.pt", resume=True)


def test_checkpoint_refuses_arbitrary_pickles(tmp_path):
    import pickle

    class Evil:
        def __reduce__(self):
            return (print, ("unpickled!",))

    path = tmp_path / "evil.pt"
    path.write_bytes(pickle.dumps({"format": "seqcast-checkpoint-1", "x": Evil()}))
    with pytest.raises(ValueError, match="not a readable seqcast checkpoint"):
        load_checkpoint(path)
    save_checkpoint(tmp_path / "ok.pt", {"w": torch.ones(2)})
    assert torch.equal(load_checkpoint(tmp_path / "ok.pt")["w"], torch.ones(2))
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_data_parallel_matches_single_process(tmp_path):
    single, ddp = tmp_path / "single.pt", tmp_path / "ddp.pt"
    assert _run("single", single).returncode == 0
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
         "--master_port", str(_free_port()), CHILD, "ddp", str(ddp)],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    a = torch.load(single, weights_only=True)
    b = torch.load(ddp, weights_only=True)
    assert all(torch.allclose(a[k], b[k], atol=1e-5, rtol=1e-4) for k in a)
    writes = (tmp_path / "ddp.pt.writes").read_text().split()
    assert writes and set(writes) == {"0"}  # every checkpoint written once, by rank 0
    assert len(writes) == len((tmp_path / "single.pt.writes").read_text().split())


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "seqcast", *map(str, args)], capture_output=True,
                          text=True, timeout=600)


def test_cli_train_killed_then_resumed_equals_uninterrupted(tmp_path):
    import signal
    import time

    common = ["--dataset", "nile", "--model", "gru", "--epochs", "8", "--patience", "100"]
    assert _cli("train", *common, "--out", tmp_path / "full").returncode == 0
    # an earlier complete run at the same place must survive the killed one untouched
    assert _cli("train", *common, "--epochs", "1", "--out", tmp_path / "run").returncode == 0
    before = (tmp_path / "run" / "model.safetensors").read_bytes()
    proc = subprocess.Popen([sys.executable, "-m", "seqcast", "train", *common, "--out",
                             str(tmp_path / "run")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ckpt = tmp_path / "run.partial" / "checkpoint.pt"
    deadline = time.time() + 300
    while not ckpt.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert ckpt.exists()
    assert (tmp_path / "run" / "model.safetensors").read_bytes() == before
    done = _cli("train", "--resume", tmp_path / "run")
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "run.partial").exists()
    assert (tmp_path / "run" / "model.safetensors").read_bytes() == \
        (tmp_path / "full" / "model.safetensors").read_bytes()


def test_cli_resume_of_a_run_killed_before_its_first_checkpoint_starts_it_afresh(tmp_path):
    from seqcast.cli import main

    common = ["--dataset", "nile", "--model", "linear", "--epochs", "2"]
    assert main(["train", *common, "--out", str(tmp_path / "full")]) == 0
    # what a run killed before its first checkpoint leaves: its folder and configuration only
    (tmp_path / "run.partial").mkdir()
    (tmp_path / "run.partial" / "config.json").write_bytes((tmp_path / "full" / "config.json").read_bytes())
    assert main(["train", "--resume", str(tmp_path / "run")]) == 0
    assert not (tmp_path / "run.partial").exists()
    assert (tmp_path / "run" / "model.safetensors").read_bytes() == \
        (tmp_path / "full" / "model.safetensors").read_bytes()


def test_cli_train_reports_bad_output_and_resume_cleanly(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    proc = _cli("train", "--dataset", "nile", "--model", "gru", "--out", blocker / "run")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    proc = _cli("train", "--resume", tmp_path / "nothing")
    assert proc.returncode == 2 and "no interrupted run to resume" in proc.stderr
    proc = _cli("train", "--model", "gru")
    assert proc.returncode == 2 and "--data/--dataset" in proc.stderr


@pytest.mark.parametrize("mask", [0o022, 0o077])
def test_runs_and_checkpoints_get_the_modes_the_umask_gives_any_file(tmp_path, mask):
    """They are written into ``tempfile``'s private names first (0700, 0600) and renamed;
    the result has the mode a plain ``mkdir`` or ``open`` would have given it."""
    import os
    import stat

    from seqcast.rundir import write_atomically

    old = os.umask(mask)
    try:
        run = write_atomically(tmp_path / "run", lambda d: (d / "config.json").write_text("{}"))
        save_checkpoint(tmp_path / "ckpt.pt", {"step": 1})
    finally:
        os.umask(old)
    assert stat.S_IMODE(run.stat().st_mode) == 0o777 & ~mask
    assert stat.S_IMODE((run / "config.json").stat().st_mode) == 0o666 & ~mask
    assert stat.S_IMODE((tmp_path / "ckpt.pt").stat().st_mode) == 0o666 & ~mask
