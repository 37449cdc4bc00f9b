"""Timing with the standard library's ``timeit``, and the description of the machine.

Why ``timeit.Timer``: the runs timed here take 0.01 s to a minute, so timer resolution
and loop overhead do not matter, while two things do: every figure must be a ratio to a
baseline timed in the same process (``pyperf`` spawns worker processes and calibrates loops
for microbenchmarks), and ``--quick`` must work with only the package's own dependencies
(``pytest-benchmark`` would add pytest and its fixtures to the run path). ``timeit`` runs a
setup callable outside the timed region, disables the garbage collector while timing and uses
``time.perf_counter``; we time each run once (``number=1``) and report the median of the
repeats. Implementations are timed round-robin (``time_interleaved``), so that load from other
processes on a shared machine hits them alike and the ratios of medians stay fair.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
import timeit
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Outcome:
    """What one run produced: the final reach as a share of agents and the ties it examined."""

    reach: float
    examined: int | None = None


Job = Callable[[], Outcome]
"""One prepared run; calling it does the work that is timed."""


@dataclass(frozen=True)
class Timing:
    """Seconds and outcomes of the repeats of one implementation on one workload."""

    seconds: list[float]
    outcomes: list[Outcome]

    @property
    def median(self) -> float:
        return float(np.median(self.seconds))

    @property
    def fastest(self) -> float:
        """The least disturbed repeat (used for the scaling fit)."""
        return float(min(self.seconds))

    @property
    def reach_mean(self) -> float:
        return float(np.mean([o.reach for o in self.outcomes]))

    @property
    def reach_sd(self) -> float | None:
        """Standard deviation of the final reach across repeats (None for a single run)."""
        reach = [o.reach for o in self.outcomes]
        return float(np.std(reach, ddof=1)) if len(reach) > 1 else None

    @property
    def examined(self) -> float | None:
        """Median over repeats of the ties examined per run (None when not counted)."""
        if any(o.examined is None for o in self.outcomes):
            return None
        return float(np.median([o.examined for o in self.outcomes]))

    @property
    def throughput(self) -> float | None:
        """Median over repeats of ties examined per second."""
        if any(o.examined is None for o in self.outcomes):
            return None
        return float(
            np.median([o.examined / s for o, s in zip(self.outcomes, self.seconds, strict=True)])
        )


@dataclass(frozen=True)
class Series:
    """The repeats of one implementation: ``prepare(seeds, repeat)`` builds a run, untimed."""

    prepare: Callable[[np.ndarray, int], Job]
    seed_sets: Sequence[np.ndarray]


def time_one(
    prepare: Callable[[np.ndarray, int], Job], seeds: np.ndarray, repeat: int
) -> tuple[float, Outcome]:
    """Seconds and outcome of one run; the preparation is ``timeit``'s untimed setup."""
    job: list[Job] = []
    outcome: list[Outcome] = []
    timer = timeit.Timer(
        lambda: outcome.append(job[0]()), setup=lambda: job.append(prepare(seeds, repeat))
    )
    return timer.timeit(number=1), outcome[0]


def time_interleaved(series: dict[str, Series]) -> dict[str, Timing]:
    """Time every implementation, round-robin: repeat 0 of each, then repeat 1, and so on.

    On a shared machine the background load drifts; interleaving spreads it over every
    implementation alike, so the ratios of medians stay fair.
    """
    seconds: dict[str, list[float]] = {name: [] for name in series}
    outcomes: dict[str, list[Outcome]] = {name: [] for name in series}
    for repeat in range(max(len(s.seed_sets) for s in series.values())):
        for name, s in series.items():
            if repeat < len(s.seed_sets):
                took, outcome = time_one(s.prepare, s.seed_sets[repeat], repeat)
                seconds[name].append(took)
                outcomes[name].append(outcome)
    return {name: Timing(seconds[name], outcomes[name]) for name in series}


PACKAGES = ("diffusion", "numpy", "igraph", "networkx", "EoN", "ndlib", "cynetdiff")


def _version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def machine() -> dict[str, object]:
    """CPU model, cores and memory of this machine, and the versions that matter for speed."""
    info: dict[str, object] = {
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "platform": platform.platform(),
        "load_average_1min": round(os.getloadavg()[0], 2),  # other work competing for the cores
        "packages": {name: _version(name) for name in PACKAGES},
    }
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return info
    fields = dict(line.split(":", 1) for line in lscpu.splitlines() if ":" in line)
    fields = {k.strip(): v.strip() for k, v in fields.items()}
    info["cpu"] = fields.get("Model name", info["cpu"])
    for key, name in (("L2 cache", "l2"), ("L3 cache", "l3"), ("Hypervisor vendor", "hypervisor")):
        if key in fields:
            info[name] = fields[key]
    return info
