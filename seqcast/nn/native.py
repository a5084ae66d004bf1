"""The C kernels of ``csrc/``: built on first use with the machine's C compiler, cached.

The shared library is compiled once per machine (sources, compiler, flags and CPU features
make its name) into ``$SEQCAST_CACHE_DIR`` or ``~/.cache/seqcast``, which takes well under a
second, and loaded with ``ctypes``. Where there is no C compiler, or ``SEQCAST_NATIVE=0``,
``library()`` returns None and the layers use PyTorch's kernels instead: slower for small
cells, the same results to float precision.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import platform
import shutil
import subprocess
import sysconfig
import tempfile
from pathlib import Path

_SOURCES = sorted((Path(__file__).parent / "csrc").glob("*.c"))  # each includes common.h
_HEADER = Path(__file__).parent / "csrc" / "common.h"
# -fno-trapping-math lets the compiler vectorize the exp loops; it changes no result and,
# unlike -ffast-math, leaves the process's floating-point state alone
_FLAGS = (["-O3", "-march=native", "-fno-trapping-math"], ["-O3", "-fno-trapping-math"])
_P, _I, _S = ctypes.c_void_p, ctypes.c_int, ctypes.c_ssize_t
_SIGNATURES = {
    "seqcast_lanes": [],
    "seqcast_lstm_forward": [_I] * 4 + [_P] + [_S] * 3 + [_P] * 13,
    "seqcast_lstm_backward": [_I] * 4 + [_P] + [_S] * 3 + [_P] * 14 + [_S] * 3 + [_P] * 2,
    "seqcast_rnn_forward": [_I] * 5 + [_P] + [_S] * 3 + [_P] * 6 + [ctypes.c_float] + [_P] * 5,
    "seqcast_rnn_backward": [_I] * 5 + [_P] + [_S] * 3 + [_P] * 13 + [_S] * 3 + [_P],
    "seqcast_convs_forward": [_I, _P, _I, _P] + [_I] * 3 + [_P] * 3 + [_S] * 3 + [_P, _I],
    "seqcast_convs_backward": [_I, _P, _I, _P] + [_I] * 3 + [_P] * 2 + [_S] * 3 + [_P] * 2
    + [_S] * 3 + [_P] * 2,
    "seqcast_wavenet_generate": [_I] * 4 + [_P] + [_I] * 3 + [ctypes.c_longlong] + [_P] * 8
    + [_I] + [_P] * 2 + [_I] + [_P] * 3 + [_I, ctypes.c_float, _P, _P],
    "seqcast_wavenet_forward": [_I] * 4 + [_P] + [_I] * 3 + [_P] * 5 + [_S] * 3 + [_P] * 3 + [_I],
    "seqcast_wavenet_backward": [_I] * 4 + [_P] + [_I] * 3 + [_P] * 3 + [_S] * 3 + [_P] * 3
    + [_S] * 3 + [_P] * 4,
}


def _compiler() -> str | None:
    for name in (os.environ.get("CC"), (sysconfig.get_config_var("CC") or "").split(" ")[0], "cc", "gcc"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


def _cpu_tag() -> str:
    """What the compiled code may depend on: the architecture and the CPU's features."""
    tag = platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            tag += next((line for line in f if line.startswith(("flags", "Features"))), "")
    except OSError:
        tag += platform.processor()
    return tag


def _cache_dir() -> Path:
    base = os.environ.get("SEQCAST_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "seqcast")
    return Path(base)


def _build(cc: str, flags: list[str], source: bytes) -> Path | None:
    key = hashlib.sha256(source + cc.encode() + " ".join(flags).encode() + _cpu_tag().encode())
    target = _cache_dir() / f"native-{key.hexdigest()[:16]}.so"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # Build beside the target and rename: concurrent processes never load a partial file
    fd, tmp = tempfile.mkstemp(suffix=".so", dir=target.parent)
    os.close(fd)
    try:
        done = subprocess.run([cc, *flags, "-fPIC", "-shared", "-o", tmp, *map(str, _SOURCES)],
                              capture_output=True, timeout=120)
        if done.returncode != 0:
            return None
        os.replace(tmp, target)
        return target
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@functools.cache
def library() -> ctypes.CDLL | None:
    """The loaded kernels, or None where they cannot be built here."""
    if os.environ.get("SEQCAST_NATIVE", "1") == "0":
        return None
    cc = _compiler()
    if cc is None:
        return None
    try:
        source = b"".join(p.read_bytes() for p in (_HEADER, *_SOURCES))
        for flags in _FLAGS:
            path = _build(cc, flags, source)
            if path is not None:
                lib = ctypes.CDLL(str(path))
                for name, args in _SIGNATURES.items():
                    fn = getattr(lib, name)
                    fn.argtypes, fn.restype = args, ctypes.c_int
                lib.lanes = lib.seqcast_lanes()  # the batch is padded to a multiple of this
                return lib
    except (OSError, subprocess.SubprocessError, AttributeError):
        pass
    return None


def pointer(t) -> int | None:
    """A tensor's data address for the C kernels, None for None."""
    return None if t is None else t.data_ptr()
