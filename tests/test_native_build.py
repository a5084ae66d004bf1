"""The C kernels' build says what happened: one compile for concurrent first uses, a
library readable by all, no stale temporaries, a failed build remembered, one warning line
and the fallback path where the kernels cannot be had, an error under SEQCAST_NATIVE=1."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from seqcast.backends.native import build

needs_cc = pytest.mark.skipif(build._compiler() is None, reason="no C compiler here")
# a fresh process: the kernels, then a GRU layer through "auto" against the reference
CHILD = """
import torch
from seqcast.backends.native import library
from seqcast.nn import Recurrent, make_cell
cell = make_cell("gru", 2, 3)
x = torch.randn(4, 6, 2)
torch.testing.assert_close(Recurrent(cell)(x)[0], Recurrent(cell, backend="python")(x)[0])
print("native" if library() is not None else "fallback")
"""


def _counting_cc(tmp_path: Path, body: str = 'exec gcc "$@"') -> tuple[Path, Path]:
    """A compiler wrapper that appends a line to a file at every invocation."""
    count, cc = tmp_path / "calls", tmp_path / "cc"
    cc.write_text(f'#!/bin/sh\necho call >> "{count}"\n{body}\n')
    cc.chmod(0o755)
    return cc, count


def _start(env: dict) -> subprocess.Popen:
    full = {**os.environ, "OMP_NUM_THREADS": "1", **env}
    full.pop("SEQCAST_NATIVE", None)
    full.update({k: v for k, v in env.items() if k == "SEQCAST_NATIVE"})
    return subprocess.Popen([sys.executable, "-c", CHILD], env=full, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _finish(proc: subprocess.Popen) -> tuple[int, str, list[str]]:
    out, err = proc.communicate(timeout=300)
    return proc.returncode, out.strip(), [line for line in err.splitlines() if line.strip()]


@pytest.mark.slow  # four processes importing torch and one real compile: a minute on 2 cores
@needs_cc
def test_four_processes_on_an_empty_cache_compile_once(tmp_path):
    cc, count = _counting_cc(tmp_path)
    env = {"CC": str(cc), "SEQCAST_CACHE_DIR": str(tmp_path / "cache")}
    results = [_finish(p) for p in [_start(env) for _ in range(4)]]
    assert all(code == 0 and out == "native" and not err for code, out, err in results), results
    assert count.read_text().count("call") == 1  # one compile; the others waited and loaded it
    (library,) = (tmp_path / "cache").glob("*.so")
    assert library.stat().st_mode & 0o777 == 0o644
    assert not list((tmp_path / "cache").glob("*.tmp*"))


def _copying_cc(tmp_path: Path) -> tuple[Path, Path]:
    """A counting compiler that "builds" by copying the library this process loaded."""
    real = build.library()._name
    return _counting_cc(tmp_path, 'while [ $# -gt 0 ]; do [ "$1" = -o ] && out="$2"; shift; done\n'
                                  f'sleep 1; cp "{real}" "$out"')


@needs_cc
def test_a_killed_builds_temporary_file_is_removed(tmp_path, monkeypatch):
    cc, count = _copying_cc(tmp_path)
    cache = tmp_path / "cache"
    monkeypatch.setenv("CC", str(cc))
    monkeypatch.setenv("SEQCAST_CACHE_DIR", str(cache))
    name = build.target(str(cc), build._FLAGS[0], build._source()).name
    cache.mkdir()
    (cache / f"{name}.tmp4242").write_bytes(b"half a library")  # a build killed midway
    build.library.cache_clear()
    try:
        assert build.library() is not None
        assert [p.name for p in cache.glob("*.so*")] == [name]
        assert count.read_text().count("call") == 1
    finally:
        build.library.cache_clear()


def _read_only_folder(tmp_path: Path) -> Path:
    if os.geteuid() != 0:
        folder = tmp_path / "ro"
        folder.mkdir()
        folder.chmod(0o555)
        return folder / "cache"
    if not Path("/sys").is_dir():
        pytest.skip("root and no read-only file system to point at")
    return Path("/sys/seqcast-cache")  # sysfs: read-only even for root


def _case_env(case: str, tmp_path: Path) -> tuple[dict, str]:
    """The environment that makes the kernels unavailable in this way, and the words of the
    reason the warning must give."""
    env = {"SEQCAST_CACHE_DIR": str(tmp_path / "cache")}
    if case == "read-only cache":
        env["SEQCAST_CACHE_DIR"] = str(_read_only_folder(tmp_path))
        return env, "is not writable"
    if case == "no compiler":
        empty = tmp_path / "bin"
        empty.mkdir()
        return {**env, "PATH": str(empty), "CC": ""}, "no C compiler found"
    # a library that cannot be loaded (another user's, unreadable; or corrupt)
    cc = build._compiler()
    if cc is None:
        pytest.skip("no C compiler here")
    (tmp_path / "cache").mkdir()
    for flags in build._FLAGS:  # every build this machine would try
        (tmp_path / "cache" / build.target(cc, flags, build._source()).name).write_bytes(b"junk")
    return env, "cannot load"


CASES = ["read-only cache", "no compiler", "broken library"]


@pytest.mark.parametrize("case", CASES)
def test_one_warning_and_the_fallback_path(case, tmp_path, monkeypatch):
    import torch

    from seqcast.nn import Recurrent, make_cell

    env, why = _case_env(case, tmp_path)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(sys, "executable", sys.executable)  # the PATH change must not matter
    build.library.cache_clear()
    try:
        with pytest.warns(RuntimeWarning) as warned:
            layer, x = Recurrent(make_cell("lstm", 2, 3)), torch.randn(4, 6, 2)
            got = layer(x)[0]
            layer(x)  # no second warning
            assert build.library() is None
        assert len(warned) == 1 and "C kernels are off" in str(warned[0].message)
        assert why in str(warned[0].message)
        torch.testing.assert_close(got, Recurrent(layer.cell, backend="python")(x)[0])
        monkeypatch.setenv("SEQCAST_NATIVE", "1")  # strict: an error instead
        build.library.cache_clear()
        with pytest.raises(build.NativeUnavailable, match=why):
            layer(x)
    finally:
        build.library.cache_clear()


@pytest.mark.slow  # a fresh process per case
@pytest.mark.parametrize("case", CASES)
def test_one_warning_line_and_the_fallback_path_in_a_fresh_process(case, tmp_path):
    env, why = _case_env(case, tmp_path)
    code, out, err = _finish(_start(env))
    assert code == 0 and out == "fallback", err
    assert len(err) == 1 and "C kernels are off" in err[0] and why in err[0], err


def test_a_failed_build_is_recorded_and_not_retried(tmp_path, monkeypatch):
    cc, count = _counting_cc(tmp_path, 'echo "x.c:1:2: error: boom" >&2; exit 1')
    monkeypatch.setenv("CC", str(cc))
    monkeypatch.setenv("SEQCAST_CACHE_DIR", str(tmp_path / "cache"))
    build.library.cache_clear()
    try:
        for attempt in range(2):  # the second as a later process would: the record, no compile
            build.library.cache_clear()
            with pytest.warns(RuntimeWarning, match="error: boom") as warned:
                assert build.library() is None
            assert len(warned) == 1
            assert count.read_text().count("call") == len(build._FLAGS)  # each flag set once
            assert ("recorded in" in str(warned[0].message)) == (attempt == 1)
        assert len(list((tmp_path / "cache").glob("*.failed"))) == len(build._FLAGS)
        assert not list((tmp_path / "cache").glob("*.so*"))
    finally:
        build.library.cache_clear()
