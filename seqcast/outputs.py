"""Files the CLI writes (``--output``, ``--json``, ``--plot``, a file ``--out``): checked
before any work, so an hour's backtest does not end on a missing folder, and written
atomically, so a failure leaves no half-written file and an earlier one intact."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

TABLES = (".parquet", ".pq")  # a table written here is Parquet; anything else is CSV
FLAGS = ("output", "json", "plot")  # the CLI's file arguments; a parser adds "out" by name


def check_output(path: str | Path, flag: str) -> None:
    """Raise ``ValueError`` unless ``path`` can be written: its folder (made if missing, as a
    run directory's is) takes a new file, the path is not a folder, and a ``--plot`` has a
    format matplotlib writes."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"--{flag} {path}: is a folder; give a file name")
    if _special(path):  # /dev/null, /dev/stdout, a named pipe: written in place
        if not os.access(path, os.W_OK):
            raise ValueError(f"--{flag} {path}: cannot write to it")
        return
    parent = path.absolute().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=f".{path.name}.", dir=parent)
        os.close(fd)
        os.unlink(probe)
    except (FileExistsError, NotADirectoryError):
        raise ValueError(f"--{flag} {path}: a file stands where its folder would be") from None
    except OSError as exc:
        raise ValueError(f"--{flag} {path}: cannot write in {parent} ({exc.strerror or exc})") \
            from None
    if flag == "plot":
        from matplotlib.figure import Figure

        kinds = Figure().canvas.get_supported_filetypes()
        suffix = path.suffix.lower().lstrip(".")
        if suffix not in kinds:
            raise ValueError(f"--plot {path}: unknown image format {suffix or '(none)'!r};"
                             f" valid: {', '.join(sorted(kinds))}")


def check_outputs(args) -> None:
    """``check_output`` for every file argument a parsed command line gives."""
    for flag in (*FLAGS, *getattr(args, "file_args", ())):
        value = getattr(args, flag, None)
        if isinstance(value, (str, Path)) and str(value) not in ("", "-"):
            check_output(value, flag)


def write_file(path: str | Path, write) -> Path:
    """Call ``write(tmp)`` on a fresh temporary file beside ``path`` (its name ends as
    ``path``'s does, so writers that go by the suffix write the same format), then move it
    there."""
    from .rundir import usual_mode

    path = Path(path)
    if _special(path):  # a device or a pipe is written in place, never replaced
        write(str(path))
        return path
    if path.is_symlink():  # the file it points to is replaced; the link stays
        path = path.resolve()
    fd, tmp = tempfile.mkstemp(prefix=".tmp.", suffix=f".{path.name}", dir=path.absolute().parent)
    os.close(fd)
    try:
        write(tmp)
        usual_mode(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def _special(path: Path) -> bool:
    """An existing path that is neither a regular file nor a folder (a device, a pipe)."""
    return path.exists() and not path.is_file() and not path.is_dir()


def write_table(frame, path: str | Path) -> Path:
    """``frame`` as Parquet for a ``.parquet``/``.pq`` path, else as CSV (compressed by a
    ``.gz``, ``.bz2`` or ``.xz`` suffix, as pandas does)."""
    if Path(path).suffix.lower() in TABLES:
        return write_file(path, lambda tmp: frame.to_parquet(tmp, index=False))
    return write_file(path, lambda tmp: frame.to_csv(tmp, index=False))


def write_text(path: str | Path, text: str) -> Path:
    return write_file(path, lambda tmp: Path(tmp).write_text(text))
