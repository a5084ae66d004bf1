"""Run directories written atomically: into a fresh sibling folder, swapped into place only
once complete, so a failure or a kill leaves no half-written run and an earlier run intact."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path


def usual_mode(path: str | Path) -> None:
    """Give a folder or file made by ``tempfile`` (0700 or 0600) the mode a plain ``mkdir`` or
    ``open`` would have given it under the process's umask, so runs and exported files are as
    readable by others as any file the user writes."""
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(path, (0o777 if os.path.isdir(path) else 0o666) & ~mask)


def write_atomically(out: str | Path, write) -> Path:
    """Call ``write(tmp)`` on a fresh sibling folder of ``out``, then swap it into place."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or (any(out.iterdir())
                                              and not (out / "config.json").is_file())):
        raise ValueError(f"{out} exists and is not a seqcast run directory; choose another --out")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        usual_mode(tmp)
        write(tmp)
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
            os.replace(out, old / "run")
            os.replace(tmp, out)
            shutil.rmtree(old)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
