"""A run's random numbers, each purpose on its own stream (common random numbers).

Two runs of the same replicate that differ in one respect (an entry strategy, a parameter)
should differ only through that respect, not because one extra draw shifted every later one.
So a run's seed is split by purpose: the initial holders, their media, the scenario's own entry
and the kernel each draw from a stream derived from the run's ``SeedSequence`` and a purpose tag,
and the kernel itself addresses every decision by (agent, step, purpose[, other agent]) under a
128-bit key (``kernels/rng.pxd``). Changing where a strategy's copies go leaves the scenario's
smuggling, the initial holders and every agent's draws untouched.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

RngSpec = int | np.random.SeedSequence | np.random.Generator | np.random.BitGenerator | None

# Purpose tags, appended to the run's spawn key (distinct from small replicate and point indices).
SEEDS = 0x5EED0001
SEED_MEDIA = 0x5EED0002
ENTRY = 0x5EED0003
KERNEL = 0x5EED0004
PLACEMENT = 0x5EED0005
"""For callers that place copies themselves (entry strategies)."""


@dataclass(frozen=True)
class RunStreams:
    """The streams of one run, derived from its ``SeedSequence``."""

    root: np.random.SeedSequence

    @classmethod
    def of(cls, rng: RngSpec) -> RunStreams:
        """From an integer seed, a ``SeedSequence``, a ``Generator`` or ``BitGenerator`` (128
        bits are drawn from it) or None (fresh entropy)."""
        if isinstance(rng, np.random.Generator):
            rng = rng.bit_generator
        if isinstance(rng, np.random.BitGenerator):
            rng = np.random.SeedSequence(rng.random_raw(2).tolist())
        if not isinstance(rng, np.random.SeedSequence):
            rng = np.random.SeedSequence(rng)
        return cls(rng)

    def child(self, purpose: int) -> np.random.SeedSequence:
        """The stream of one purpose: the same for the same run whatever else the run does."""
        return np.random.SeedSequence(self.root.entropy, spawn_key=(*self.root.spawn_key, purpose))

    def generator(self, purpose: int) -> np.random.Generator:
        return np.random.Generator(np.random.PCG64(self.child(purpose)))

    def kernel_key(self) -> npt.NDArray[np.uint64]:
        """The 128-bit key under which the kernel addresses its draws."""
        return self.child(KERNEL).generate_state(2, np.uint64)
