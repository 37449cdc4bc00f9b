"""Atomic file and folder writes: the one helper every writer of the package uses.

A reader must never see a partial file, and a folder of results must never mix two runs. So a
file is written under a hidden temporary name in its own folder, synced, then renamed into place
(``os.replace`` is atomic on POSIX file systems), and a folder is built under a hidden temporary
sibling name and renamed into place the same way. Temporary names are
``.<name>.<pid>.<random>.tmp``, so they are hidden from Parquet readers and name the process
that wrote them; ``remove_temporaries`` clears those a killed process left behind (callers hold
the folder's lock, see ``diffusion._lock``, so no live writer can own them).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

TMP_SUFFIX = ".tmp"


def temporary_name(path: str | Path) -> Path:
    """A hidden sibling of ``path`` for writing: ``.<name>.<pid>.<random>.tmp``."""
    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:12]}{TMP_SUFFIX}")


def atomic_write(path: str | Path, write: Callable[[BinaryIO], object] | bytes) -> Path:
    """Write ``path`` through a hidden temporary file, fsync and ``os.replace``.

    ``write`` is the bytes to write, or a function that writes to the open binary handle. On any
    failure (a full disk, an exception, Ctrl-C) the temporary file is removed and ``path`` keeps
    its old content; a kill leaves at most the temporary file.
    """
    path = Path(path)
    tmp = temporary_name(path)
    try:
        with open(tmp, "xb") as handle:
            if isinstance(write, bytes | bytearray):
                handle.write(write)
            else:
                write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _sync_folder(path.parent)
    return path


def replace_folder(built: Path, target: Path) -> None:
    """Move the finished folder ``built`` to ``target``, replacing what is there.

    ``target`` is first renamed aside to a temporary name, then ``built`` takes its place and the
    old folder is deleted: at every moment ``target`` is either the whole old folder, absent, or
    the whole new one, never a mixture.
    """
    old = None
    if target.exists():
        old = temporary_name(target)
        os.replace(target, old)
    os.replace(built, target)
    _sync_folder(target.parent)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def remove_temporaries(folder: Path, name: str | None = None) -> int:
    """Delete the temporary files and folders of ``folder`` (of ``name`` only, when given).

    Only safe while holding the lock that every writer of these names takes. Returns how many
    were removed.
    """
    pattern = f".{name}.*{TMP_SUFFIX}" if name else f".*{TMP_SUFFIX}"
    removed = 0
    for leftover in folder.glob(pattern) if folder.is_dir() else ():
        if leftover.is_dir() and not leftover.is_symlink():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)
        removed += 1
    return removed


def _sync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (best effort: not every file system allows it)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
