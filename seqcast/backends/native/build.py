"""The C kernels of ``csrc/``: built on first use with the machine's C compiler, cached.

The shared library is compiled once per machine (sources, compiler, flags and CPU features
make its name) into ``$SEQCAST_CACHE_DIR`` or ``~/.cache/seqcast``, which takes about a
second, and loaded with ``ctypes``. What can go wrong is said once and remembered:

- concurrent first uses (``torchrun`` ranks) wait on a lock file, so one compiles;
- the library is written readable by all (0644), through a temporary file renamed into
  place; temporaries a killed build left behind are removed by the next build;
- a failed build leaves ``native-<key>.failed`` holding the compiler's first error line, so
  later processes do not retry it (delete the file, or change compiler, to retry);
- where the kernels cannot be had (no compiler, a failed build, a cache folder that cannot
  be written, a library another user built that cannot be read), ``library()`` returns
  None after one ``RuntimeWarning`` per process naming why, and the layers run their
  PyTorch paths: slower for small cells, the same results to float precision.

``SEQCAST_NATIVE=0`` turns the kernels off without a word; ``SEQCAST_NATIVE=1`` makes any
of the failures above an error (``NativeUnavailable``) instead of a fallback.
"""

from __future__ import annotations

import ctypes
import fcntl
import functools
import hashlib
import os
import platform
import shutil
import subprocess
import sysconfig
import warnings
from pathlib import Path

from .structs import STRUCTS

_CSRC = Path(__file__).parent / "csrc"
_SOURCES = sorted(_CSRC.glob("*.c"))  # each includes common.h
_HEADERS = sorted(_CSRC.glob("*.h"))
# -fno-trapping-math lets the compiler vectorize the exp loops; it changes no result and,
# unlike -ffast-math, leaves the process's floating-point state alone
_FLAGS = (["-O3", "-march=native", "-fno-trapping-math"], ["-O3", "-fno-trapping-math"])


class NativeUnavailable(RuntimeError):
    """The C kernels cannot be built or loaded here (raised under ``SEQCAST_NATIVE=1``)."""


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


def cache_dir() -> Path:
    base = os.environ.get("SEQCAST_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "seqcast")
    return Path(base)


def _first_error(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return next((line for line in lines if "error" in line.lower()), lines[0] if lines else "")


def _compile(cc: str, flags: list[str], target: Path) -> str | None:
    """Compile into ``target`` (under the lock); None, or why it failed."""
    for stale in target.parent.glob(f"{target.name}.tmp*"):  # a killed build's
        stale.unlink(missing_ok=True)
    tmp = target.with_name(f"{target.name}.tmp{os.getpid()}")
    try:
        done = subprocess.run([cc, *flags, "-fPIC", "-shared", "-o", str(tmp), *map(str, _SOURCES)],
                              capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            return f"{Path(cc).name} failed: {_first_error(done.stderr) or 'exit ' + str(done.returncode)}"
        os.chmod(tmp, 0o644)  # other users of a shared cache can load it
        os.replace(tmp, target)  # never a partial file under the final name
        return None
    except (OSError, subprocess.SubprocessError) as exc:
        return f"{Path(cc).name} could not run: {exc}"
    finally:
        tmp.unlink(missing_ok=True)


def _source() -> bytes:
    return b"".join(p.read_bytes() for p in (*_HEADERS, *_SOURCES))


def target(cc: str, flags: list[str], source: bytes) -> Path:
    """Where the library built from ``source`` by ``cc`` with ``flags`` is cached."""
    key = hashlib.sha256(source + cc.encode() + " ".join(flags).encode() + _cpu_tag().encode())
    return cache_dir() / f"native-{key.hexdigest()[:16]}.so"


def _build(cc: str, flags: list[str], source: bytes) -> Path:
    """The cached library for ``flags``, built under a lock if need be; raises
    ``NativeUnavailable`` with the reason when there is none."""
    target_ = target(cc, flags, source)
    folder = target_.parent
    failed = target_.with_suffix(".failed")
    if target_.exists():
        return target_
    if failed.exists():
        raise NativeUnavailable(f"{failed.read_text().strip()} (recorded in {failed})")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        lock = open(target_.with_suffix(".lock"), "a")  # noqa: SIM115 (held across the build)
    except OSError as exc:
        raise NativeUnavailable(f"cache folder {folder} is not writable: {exc.strerror}") from None
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # others wait here, then find the library built
        if target_.exists():
            return target_
        if failed.exists():
            raise NativeUnavailable(f"{failed.read_text().strip()} (recorded in {failed})")
        reason = _compile(cc, flags, target_)
        if reason is None:
            return target_
        try:
            failed.write_text(reason + "\n")
        except OSError:
            pass
        raise NativeUnavailable(reason)


def load(path: Path) -> ctypes.CDLL:
    """Load a built library and declare its entry points, checking that every struct of
    ``structs.py`` has the size the C code gives it."""
    try:
        lib = ctypes.CDLL(str(path))
    except OSError as exc:
        raise NativeUnavailable(f"cannot load {path}: {exc}") from None
    lib.seqcast_struct_size.argtypes, lib.seqcast_struct_size.restype = [ctypes.c_int64], ctypes.c_int64
    for i, (name, struct) in enumerate(STRUCTS.items()):
        if lib.seqcast_struct_size(i) != ctypes.sizeof(struct):
            raise NativeUnavailable(f"{struct.__name__} does not match csrc/seqcast.h")
        fn = getattr(lib, name)
        fn.argtypes, fn.restype = [ctypes.POINTER(struct)], ctypes.c_int
        raw = lib[name]  # the same entry point given the struct's bytes (structs.packer)
        raw.argtypes, raw.restype = [ctypes.c_char_p], ctypes.c_int
        setattr(lib, f"{name}_bytes", raw)
    lib.lanes = lib.seqcast_lanes()  # the batch is padded to a multiple of this
    return lib


def _library() -> ctypes.CDLL:
    cc = _compiler()
    if cc is None:
        raise NativeUnavailable("no C compiler found (set CC)")
    source = _source()
    reasons = []
    for flags in _FLAGS:  # the widest vectors first
        try:
            return load(_build(cc, flags, source))
        except NativeUnavailable as exc:
            reasons.append(str(exc))
    raise NativeUnavailable(reasons[-1] if len(set(reasons)) == 1 else "; ".join(reasons))


@functools.cache
def library() -> ctypes.CDLL | None:
    """The loaded kernels, or None (after one warning saying why) where they cannot be had."""
    mode = os.environ.get("SEQCAST_NATIVE", "")
    if mode == "0":
        return None
    try:
        return _library()
    except NativeUnavailable as exc:
        if mode == "1":
            raise
        # one line, whoever called first: no source line under it
        warnings.warn_explicit(f"seqcast's C kernels are off, PyTorch paths run instead: {exc}",
                               RuntimeWarning, "seqcast", 0)
        return None


def unavailable_reason() -> str | None:
    """Why ``library()`` is None, for the strict selector; None when it loads."""
    if library() is not None:
        return None
    if os.environ.get("SEQCAST_NATIVE", "") == "0":
        return "turned off by SEQCAST_NATIVE=0"
    return "the C kernels could not be built here (see the warning)"
