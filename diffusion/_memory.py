"""How much memory this process may still use, and refusing work that cannot fit.

A run that needs more memory than the machine can give fails late and slowly (swapping, the
kernel's OOM killer, or a ``MemoryError`` after minutes). So the sizes a run implies are checked
first, against the smallest of: the memory the system reports available (``MemAvailable`` in
``/proc/meminfo``), the address-space limit of this process (``ulimit -v``) less what it already
maps, and its cgroup's memory limit less its usage (a batch job's or container's share).
"""

from __future__ import annotations

import resource
from pathlib import Path

from diffusion.errors import DiffusionError


class NotEnoughMemory(DiffusionError, MemoryError):
    """The work would need more memory than is available (the message says how much)."""


def available_bytes() -> int | None:
    """Bytes this process can still allocate, or None when no limit can be read."""
    limits = [
        _meminfo_available(),
        _address_space_left(),
        _cgroup_left(),
    ]
    known = [limit for limit in limits if limit is not None]
    return min(known) if known else None


def check_fits(needed: int, what: str) -> None:
    """Raise ``NotEnoughMemory`` when ``needed`` bytes exceed what is available.

    ``what`` names the work in the message, e.g. ``"a population of 400000000 agents"``.
    """
    available = available_bytes()
    if available is not None and needed > available:
        raise NotEnoughMemory(
            f"{what} needs about {format_bytes(needed)} of memory, and "
            f"{format_bytes(available)} is available"
        )


def format_bytes(n: float) -> str:
    """``1.5 GiB``-style sizes."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def _meminfo_available() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _address_space_left() -> int | None:
    """``RLIMIT_AS`` less the virtual memory already mapped (``VmSize``)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return None
    return max(0, soft - _status_kib("VmSize") * 1024)


def _cgroup_left() -> int | None:
    """cgroup v2 ``memory.max`` less ``memory.current`` of this process's cgroup."""
    try:
        relative = Path("/proc/self/cgroup").read_text().strip().split("::", 1)[1]
        folder = Path("/sys/fs/cgroup") / relative.lstrip("/")
        limit = (folder / "memory.max").read_text().strip()
        if limit == "max":
            return None
        return max(0, int(limit) - int((folder / "memory.current").read_text()))
    except (OSError, ValueError, IndexError):
        return None


def _status_kib(field: str) -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0
