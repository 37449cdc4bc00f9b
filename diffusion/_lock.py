"""A lock on an output folder, so two commands never write into the same folder at once.

The lock is a hidden file beside the folder, ``.<name>.lock``, holding as JSON the owner's PID,
host and start time, and the kernel's start tick of that process (so that a PID reused by an
unrelated process after the owner died is not mistaken for the owner). It is created
atomically (written to a temporary file, then hard-linked to the lock's name, which fails if
the lock exists), so a reader never sees a half-written lock. A lock whose owner is on this
host and no longer running is stale and is taken over; a lock of a live process, or of another
host (where this one cannot tell), is refused with a message naming its owner.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

from diffusion._io import temporary_name
from diffusion.errors import DiffusionError, OutputError

_HOST = socket.gethostname()


class FolderLocked(DiffusionError, RuntimeError):
    """The folder is being written by another process (the message names it)."""


class FolderLock:
    """``with FolderLock(folder):`` holds the lock on ``folder`` for the block.

    Taking a lock this process already holds succeeds without taking it again (and releasing
    it then leaves it to the outer holder).
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.path = lock_path(self.folder)
        self._held = False

    def acquire(self) -> None:
        """Take the lock, taking over a stale one; raise ``FolderLocked`` if it is held."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        owner = {
            "pid": os.getpid(),
            "host": _HOST,
            "started": time.time(),
            "tick": _start_tick(os.getpid()),
        }
        tmp = temporary_name(self.path)
        tmp.write_text(json.dumps(owner), encoding="utf-8")
        try:
            for _ in range(3):
                try:
                    os.link(tmp, self.path)
                    self._held = True
                    return
                except FileExistsError:
                    holder = _read_owner(self.path)
                    if _is_mine(holder):
                        return  # already held by this process (an outer caller releases it)
                    if holder is not None and not _is_stale(holder):
                        raise FolderLocked(_held_message(self.folder, self.path, holder)) from None
                    _remove_stale(self.path, holder)
            raise FolderLocked(f"{self.folder}: could not take the lock {self.path}")
        finally:
            tmp.unlink(missing_ok=True)

    def release(self) -> None:
        """Give the lock up (only if this process holds it)."""
        if self._held:
            holder = _read_owner(self.path)
            if holder is not None and holder.get("pid") == os.getpid():
                self.path.unlink(missing_ok=True)
            self._held = False

    def __enter__(self) -> FolderLock:
        self.acquire()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.release()


@contextmanager
def claim(out: str | Path) -> Iterator[Path]:
    """Claim the output folder ``out`` of a command for the block: the one place that does it.

    ``out`` must be a folder or absent, under folders; its parents are created and its lock
    taken (``FolderLocked`` names the holder). Yields the absolute path. What may be written
    into the folder (the same experiment, a resumable one) is each command's own check.
    """
    out = Path(os.path.abspath(out))  # "." or "x/.." have no name to build a sibling from
    check_place(out)
    lock = FolderLock(out)
    try:
        lock.acquire()
    except FolderLocked as exc:
        raise FolderLocked(f"--out: {exc}") from None
    except OSError as exc:
        raise OutputError(f"--out: cannot write beside {out} ({reason(exc)})") from None
    try:
        yield out
    finally:
        lock.release()


def check_place(out: Path) -> None:
    """``out`` must be a folder (or absent) under folders; create the parents."""
    for place in (out, *out.parents):
        if place.exists() and not place.is_dir():
            raise OutputError(f"--out: {place} is a file, not a folder")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"--out: cannot create {out.parent} ({reason(exc)})") from None


def reason(exc: OSError) -> str:
    """An ``OSError``'s reason in words (``No space left on device``)."""
    return exc.strerror or errno.errorcode.get(exc.errno or 0, type(exc).__name__)


def lock_path(folder: str | Path) -> Path:
    """Where the lock of ``folder`` lives: ``.<name>.lock`` in its parent folder."""
    folder = Path(folder).absolute()
    return folder.with_name(f".{folder.name}.lock")


def _read_owner(path: Path) -> dict | None:
    """The owner recorded in a lock file; None when it is gone or unreadable (stale)."""
    try:
        owner = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}  # released meanwhile: try again
    except (OSError, ValueError):
        return None
    return owner if isinstance(owner, dict) else None


def _is_mine(owner: dict | None) -> bool:
    return bool(owner) and owner.get("pid") == os.getpid() and owner.get("host") == _HOST


def _is_stale(owner: dict) -> bool:
    """True when the owner is known to be gone: a process of this host that no longer runs."""
    if not owner:
        return True
    if owner.get("host") != _HOST:
        return False
    pid = owner.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    tick = owner.get("tick")
    return tick is not None and _start_tick(pid) not in (None, tick)  # the PID was reused


def _start_tick(pid: int) -> int | None:
    """When process ``pid`` started, in clock ticks since boot (Linux), else None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return int(stat.rpartition(")")[2].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def _remove_stale(path: Path, owner: dict | None) -> None:
    """Delete a stale lock, unless another process replaced it meanwhile."""
    if owner == {}:
        return
    if _read_owner(path) == owner:
        path.unlink(missing_ok=True)


def _held_message(folder: Path, path: Path, owner: dict) -> str:
    since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(owner.get("started", 0)))
    return (
        f"{folder}: in use by process {owner.get('pid')} on {owner.get('host')} "
        f"(since {since}); wait for it to finish, or if it is no longer running delete {path}"
    )
