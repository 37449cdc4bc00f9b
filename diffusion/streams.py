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
ENTRY_COPIES = 0x5EED0006
"""The key of the smuggled copies' addressed draws (recipient and medium of each copy)."""

# Purposes of the addressed draws made in Python (the third word of the counter, as in
# ``kernels/rng.pxd``); each is drawn under its own key, so they cannot meet the kernel's.
SEED_MEDIUM = 1
"""An initial holder's medium, at (agent, 0, SEED_MEDIUM, 0) under ``key(SEED_MEDIA)``."""
ENTRY_COPY = 2
"""A smuggled copy's draws, at (copy of the day, day, ENTRY_COPY, 0) under ``key(ENTRY_COPIES)``."""

_MASK32 = np.uint64(0xFFFFFFFF)
_MULTIPLIERS = (np.uint64(0xD2E7470EE14C6C93), np.uint64(0xCA5A826395121157))
_WEYL = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBB67AE8584CAA73B))


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
        return self.key(KERNEL)

    def key(self, purpose: int) -> npt.NDArray[np.uint64]:
        """A 128-bit key for the addressed draws (``addressed_uniforms``) of one purpose."""
        return self.child(purpose).generate_state(2, np.uint64)


def _mulhilo(a: npt.NDArray[np.uint64], b: np.uint64) -> tuple[np.ndarray, np.ndarray]:
    """High and low 64-bit words of the 128-bit products ``a * b`` (32-bit pieces)."""
    a_lo, a_hi = a & _MASK32, a >> np.uint64(32)
    b_lo, b_hi = b & _MASK32, b >> np.uint64(32)
    lo_lo, hi_lo, lo_hi = a_lo * b_lo, a_hi * b_lo, a_lo * b_hi
    cross = (lo_lo >> np.uint64(32)) + (hi_lo & _MASK32) + lo_hi  # < 2**64: no overflow
    high = a_hi * b_hi + (hi_lo >> np.uint64(32)) + (cross >> np.uint64(32))
    return high, a * b


def philox_blocks(counters: npt.ArrayLike, key: npt.ArrayLike) -> npt.NDArray[np.uint64]:
    """Philox4x64-10 of each row of ``counters`` (n x 4 words) under a 2-word ``key``: the
    generator of ``kernels/rng.pxd``, vectorised, so Python's draws are addressed as the
    kernel's are (tests check it against the kernel's and numpy's Philox)."""
    c = np.array(counters, dtype=np.uint64).reshape(-1, 4).T.copy()
    k0, k1 = (np.uint64(w) for w in np.asarray(key, dtype=np.uint64))
    with np.errstate(over="ignore"):
        for round_ in range(10):
            if round_:
                k0, k1 = k0 + _WEYL[0], k1 + _WEYL[1]
            hi0, lo0 = _mulhilo(c[0], _MULTIPLIERS[0])
            hi1, lo1 = _mulhilo(c[2], _MULTIPLIERS[1])
            c = np.stack([hi1 ^ c[1] ^ k0, lo1, hi0 ^ c[3] ^ k1, lo0])
    return c.T


def addressed_uniforms(
    key: npt.ArrayLike,
    agent: npt.ArrayLike,
    step: npt.ArrayLike,
    purpose: int,
    other: npt.ArrayLike = 0,
) -> npt.NDArray[np.float64]:
    """The first four uniforms in [0, 1) (53 bits) at each address (agent, step, purpose,
    other), one row per address: the kernel's ``Stream`` of that address, first block."""
    agent, step, other = np.broadcast_arrays(
        np.asarray(agent, np.int64), np.asarray(step, np.int64), np.asarray(other, np.int64)
    )
    counters = np.stack(
        [
            agent.ravel().astype(np.uint64),
            step.ravel().astype(np.uint64),
            np.full(agent.size, np.uint64(purpose) << np.uint64(32), np.uint64),
            other.ravel().astype(np.uint64),
        ],
        axis=1,
    )
    words = philox_blocks(counters, key)
    return (words >> np.uint64(11)).astype(np.float64) * 1.1102230246251565e-16


def inverse_cdf(u: npt.NDArray[np.float64], weights: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """The category of each uniform ``u[i]`` under probabilities ``weights[i]`` (a row per
    draw, or one row for all): never a category of weight 0, whatever the rounding of sums."""
    weights = np.asarray(weights, dtype=np.float64)
    weights = np.broadcast_to(weights, (len(u), weights.shape[-1]))
    chosen = (u[:, None] >= np.cumsum(weights, axis=1)).sum(axis=1)
    last = weights.shape[1] - 1 - np.argmax(weights[:, ::-1] > 0, axis=1)
    return np.minimum(chosen, last)
