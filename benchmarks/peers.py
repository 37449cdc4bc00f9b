"""Peer libraries (the optional ``bench`` extra) run on our graphs with the same model.

Each peer gets the same graph (converted outside the timing), the same initial holders and
parameters that give the same per-tie transmissibility T, so the final sizes must agree with
ours and with theory; the suite prints them side by side. A peer that is not installed is
reported as skipped with the import error.
"""

from __future__ import annotations

import importlib
import random
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from benchmarks.harness import Job, Outcome
from benchmarks.workloads import ModelSpec
from diffusion import Network


class Graphs:
    """One benchmark network and its conversions for the peers, each built once."""

    def __init__(self, net: Network) -> None:
        self.net = net

    @cached_property
    def networkx(self):
        import networkx

        graph = networkx.Graph()
        graph.add_nodes_from(range(self.net.n_nodes))
        graph.add_edges_from(self.net.edges()[0].tolist())
        return graph

    @cached_property
    def csr_uint32(self) -> tuple[np.ndarray, np.ndarray]:
        """cynetdiff's CSR: row starts (one per node, no end marker) and neighbours, uint32."""
        return self.net.offsets[:-1].astype(np.uint32), self.net.neighbours.astype(np.uint32)


Prepare = Callable[[Graphs, ModelSpec, np.ndarray, int], Job]


@dataclass(frozen=True)
class Peer:
    """A peer implementation, the models it runs, and how its model maps onto ours."""

    name: str
    package: str
    models: tuple[str, ...]
    how: str
    prepare: Prepare
    max_nodes: int | None = None
    """Largest graph it runs on (EoN and NDlib are pure Python: minutes per run beyond 10^5)."""

    def unavailable(self) -> str | None:
        """Why the peer cannot run here (its import error), or None."""
        try:
            importlib.import_module(self.package)
        except Exception as error:  # any import failure means "skipped", with the reason
            return f"{type(error).__name__}: {error}"
        return None


def _cynetdiff(graphs: Graphs, model: ModelSpec, seeds: np.ndarray, repeat: int) -> Job:
    from cynetdiff.models import IndependentCascadeModel

    starts, edges = graphs.csr_uint32
    cascade = IndependentCascadeModel(starts, edges, activation_prob=model.beta, rng=repeat)
    cascade.set_seeds(seeds.tolist())

    def run() -> Outcome:
        cascade.advance_until_completion()
        return Outcome(cascade.get_num_activated_nodes() / graphs.net.n_nodes)

    return run


def _eon_fast_sir(graphs: Graphs, model: ModelSpec, seeds: np.ndarray, repeat: int) -> Job:
    import EoN

    transmissibility = model.params.transmissibility()
    recovery = 1.0  # continuous time: T = tau / (tau + gamma) fixes tau; the time unit is free
    tau = recovery * transmissibility / (1 - transmissibility)
    graph, initial = graphs.networkx, seeds.tolist()

    def run() -> Outcome:
        random.seed(repeat)
        _, susceptible, _, _ = EoN.fast_SIR(graph, tau, recovery, initial_infecteds=initial)
        return Outcome(1 - susceptible[-1] / graphs.net.n_nodes)

    return run


def _eon_discrete(graphs: Graphs, model: ModelSpec, seeds: np.ndarray, repeat: int) -> Job:
    import EoN

    graph, initial = graphs.networkx, seeds.tolist()

    def run() -> Outcome:
        random.seed(repeat)
        _, susceptible, _, _ = EoN.basic_discrete_SIR(graph, model.beta, initial_infecteds=initial)
        return Outcome(1 - susceptible[-1] / graphs.net.n_nodes)

    return run


def _ndlib_sir(graphs: Graphs, model: ModelSpec, seeds: np.ndarray, repeat: int) -> Job:
    import ndlib.models.epidemics as epidemics
    from ndlib.models.ModelConfig import Configuration

    sir = epidemics.SIRModel(graphs.networkx, seed=repeat)
    config = Configuration()
    config.add_model_parameter("beta", model.beta)
    config.add_model_parameter("gamma", model.gamma)
    config.add_model_initial_configuration("Infected", seeds.tolist())
    sir.set_initial_status(config)

    def run() -> Outcome:
        counts = sir.iteration(node_status=False)["node_count"]
        while counts[1]:
            counts = sir.iteration(node_status=False)["node_count"]
        return Outcome(1 - counts[0] / graphs.net.n_nodes)

    return run


PEERS = (
    Peer(
        "cynetdiff IC",
        "cynetdiff",
        ("IC",),
        "IndependentCascadeModel, edge probability beta (= our gamma 1, delta 0)",
        _cynetdiff,
    ),
    Peer(
        "EoN.fast_SIR",
        "EoN",
        ("SIR",),
        "continuous-time Gillespie SIR with tau/(tau+gamma) = our T (same final size)",
        _eon_fast_sir,
        max_nodes=100_000,
    ),
    Peer(
        "EoN.basic_discrete_SIR",
        "EoN",
        ("IC",),
        "discrete SIR infectious for one step with p = beta (= our gamma 1, delta 0)",
        _eon_discrete,
        max_nodes=100_000,
    ),
    Peer(
        "NDlib SIRModel",
        "ndlib",
        ("SIR", "IC"),
        "discrete SIR: Bernoulli(beta) per infected-susceptible tie, then recovery gamma",
        _ndlib_sir,
        max_nodes=100_000,
    ),
)
