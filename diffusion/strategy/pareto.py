"""The reach-vs-arrests front: the placements no other beats on both counts.

A point dominates another when it reaches at least as many people with at most as many
detections, and is strictly better on one of them. The front is every point that no other
dominates (equal points are all on it: neither beats the other).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

CHUNK = 1024
"""Points compared at once (bounds the n x CHUNK comparison matrices)."""


def non_dominated(reach: npt.ArrayLike, detected: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """Whether each point (more reach is better, fewer detections better) is on the front."""
    reach = np.asarray(reach, dtype=float)
    detected = np.asarray(detected, dtype=float)
    front = np.ones(len(reach), dtype=bool)
    for lo in range(0, len(reach), CHUNK):
        r, d = reach[lo : lo + CHUNK, None], detected[lo : lo + CHUNK, None]
        at_least = (reach >= r) & (detected <= d)
        better = (reach > r) | (detected < d)
        front[lo : lo + CHUNK] = ~np.any(at_least & better, axis=1)
    return front


def front_order(reach: npt.ArrayLike, detected: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Indices of the front's points by increasing detections (to draw it as a line)."""
    mask = non_dominated(reach, detected)
    index = np.flatnonzero(mask)
    return index[np.lexsort((np.asarray(reach)[index], np.asarray(detected)[index]))]
