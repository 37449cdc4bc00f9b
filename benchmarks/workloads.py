"""The graphs and model settings the suite runs, and the final size theory predicts for them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from diffusion import Network, Params

N_SEEDS = 10
"""Initial holders per run (issue 2, item 7)."""


@dataclass(frozen=True)
class GraphSpec:
    """A benchmark graph: a label and how to build it (igraph generators, fixed seed)."""

    label: str
    n: int
    build: Callable[[], Network]


@dataclass(frozen=True)
class ModelSpec:
    """A setting of the edge-wise model (docs/model.md section 6)."""

    label: str
    beta: float
    gamma: float
    delta: float

    @property
    def params(self) -> Params:
        return Params(beta=self.beta, gamma=self.gamma, delta=self.delta)

    @property
    def is_cascade(self) -> bool:
        """gamma = 1, delta = 0: each holder shares for one step, an independent cascade."""
        return self.gamma == 1.0 and self.delta == 0.0


SIR = ModelSpec("SIR", beta=0.05, gamma=0.2, delta=0.0)
SIR_DETECT = ModelSpec("SIR+detect", beta=0.05, gamma=0.2, delta=0.01)
CASCADE = ModelSpec("IC", beta=SIR.params.transmissibility(), gamma=1.0, delta=0.0)
"""The independent cascade with the SIR workload's transmissibility T = 0.2083: same final size."""
MODELS = (SIR, SIR_DETECT, CASCADE)


def erdos_renyi(n: int) -> GraphSpec:
    """Erdős–Rényi G(n, m) with mean degree 10."""
    return GraphSpec(f"ER {n:.0e}", n, lambda: Network.erdos_renyi(n, 10, seed=1))


def barabasi_albert(n: int) -> GraphSpec:
    """Barabási–Albert with m = 5 (mean degree 10)."""
    return GraphSpec(f"BA {n:.0e}", n, lambda: Network.barabasi_albert(n, 5, seed=1))


def seed_sets(n_agents: int, count: int) -> list[np.ndarray]:
    """The initial holders of each repeat, the same for every implementation (fair comparison)."""
    return [
        np.sort(np.random.default_rng([7, i]).choice(n_agents, N_SEEDS, replace=False)).astype(
            np.int32
        )
        for i in range(count)
    ]


def theory_reach(degree: np.ndarray, transmissibility: float) -> float:
    """Final reach share of a large outbreak on a configuration-model graph of this degree sequence.

    ``1 - G0(u)`` with ``u = 1 - T + T G1(u)`` (Newman 2002), the smallest root found by
    fixed-point iteration from 0; for an Erdős–Rényi graph this is ``r = 1 - exp(-c T r)``.
    """
    p_k = np.bincount(degree) / len(degree)
    k = np.arange(len(p_k))
    mean = float((k * p_k).sum())
    if mean == 0:
        return 0.0
    q_k = (k[1:] * p_k[1:]) / mean  # excess degree distribution: q_k[j] = P(excess degree j)
    polyval = np.polynomial.polynomial.polyval
    u = 0.0
    for _ in range(10_000):
        new = 1 - transmissibility + transmissibility * float(polyval(u, q_k))
        if abs(new - u) < 1e-13:
            break
        u = new
    return 1.0 - float(polyval(u, p_k))
