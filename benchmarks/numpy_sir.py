"""The baseline: the edge-wise model (docs/model.md section 6) as a plain vectorised-numpy loop.

Synchronous, one step at a time, exactly as the model is stated: every holder draws a
Bernoulli(beta) for every susceptible neighbour, then detection (delta), then ceasing (gamma);
the exposed become holders at the end of the step. Trust 1 and p_copy 1 (the reduction).
"""

from __future__ import annotations

import numpy as np


def numpy_sir(
    offsets: np.ndarray,
    neighbours: np.ndarray,
    seeds: np.ndarray,
    beta: float,
    gamma: float,
    delta: float,
    rng: np.random.Generator,
) -> tuple[dict[str, int], int]:
    """Run to extinction; return the final counts {S, I, R, D} and the (holder, tie) pairs drawn."""
    state = np.zeros(len(offsets) - 1, dtype=np.uint8)  # 0 S, 1 I, 2 R, 3 D
    holders = np.asarray(seeds, dtype=np.int64)
    state[holders] = 1
    removal = 1 - (1 - delta) * (1 - gamma)
    examined = 0
    while holders.size:
        start, degree = offsets[holders], offsets[holders + 1] - offsets[holders]
        first = np.cumsum(degree) - degree
        ties = np.repeat(start - first, degree) + np.arange(degree.sum())
        targets = neighbours[ties]
        examined += ties.size
        targets = targets[state[targets] == 0]
        exposed = np.unique(targets[rng.random(targets.size) < beta])
        u = rng.random(holders.size)  # u < delta: detected; delta <= u < removal: ceased
        state[holders[u < delta]] = 3
        state[holders[(u >= delta) & (u < removal)]] = 2
        state[exposed] = 1
        holders = np.concatenate([holders[u >= removal], exposed])
    counts = np.bincount(state, minlength=4)
    return dict(zip("SIRD", (int(c) for c in counts), strict=True)), examined
