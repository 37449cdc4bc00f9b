"""A population's make-up (agents by province) and its trust network's structure: ties by kind,
degrees, clustering, components.

Up to ``EXACT_EDGES`` ties the network goes to igraph whole. Above that, clustering is estimated
from a random sample of agents: the sample, its neighbours and all ties among them form an igraph
graph in which each sampled agent's local clustering is exact, and the global transitivity is
their degree-weighted mean (a ratio estimate). Components come from scipy's
``connected_components`` on the CSR arrays themselves, without copying them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from diffusion._lazy import lazy_module
from diffusion.network import Network
from diffusion.population.build import ranges
from diffusion.ties import EDGE_KINDS

igraph = lazy_module("igraph")

if TYPE_CHECKING:
    from diffusion.population import Population

EXACT_EDGES = 2_000_000
"""Largest number of ties for which the whole network is handed to igraph."""

_ROWS = 1 << 22
"""Agents per chunk when scanning the ties, to bound temporary memory."""


def summarize(population: Population, sample: int = 2000, seed: int = 0) -> dict[str, Any]:
    """The summary dict of ``Population.summary``."""
    net = population.network
    degree = net.degree()
    by_kind = np.bincount(net.kind, minlength=len(EDGE_KINDS)) // 2
    groups = population.groups
    n_households = int(np.count_nonzero(groups.kind == 1))
    summary: dict[str, Any] = {
        "agents": population.n_agents,
        "regions": population.n_regions,
        "border_regions": len(population.border_regions),
        "agents_by_province": agents_by_province(population),
        "households": n_households,
        "circles": groups.n_groups - n_households,
        "traders": int(np.count_nonzero(population.trader)),
        "informants": int(np.count_nonzero(population.informant)),
        "edges": net.n_edges,
        "edges_by_kind": {name: int(c) for name, c in zip(EDGE_KINDS, by_kind, strict=True)},
        "degree": {
            "mean": float(degree.mean()),
            "std": float(degree.std()),
            "min": int(degree.min()),
            "median": float(np.median(degree)),
            "p99": float(np.percentile(degree, 99)),
            "max": int(degree.max()),
        },
        "cross_region_share": cross_region_share(net, population.region),
        "bytes": population.nbytes,
    }
    if net.n_edges <= EXACT_EDGES:
        graph = net.to_igraph()
        summary["clustering"] = {
            "method": "exact",
            "transitivity": graph.transitivity_undirected(),
            "mean_local": graph.transitivity_avglocal_undirected(mode="zero"),
        }
    else:
        summary["clustering"] = sampled_clustering(net, sample, seed)
    summary["components"] = components(net)
    return summary


def agents_by_province(population: Population) -> dict[str, int]:
    """Agents of each province, by name, in the order of ``province_names``."""
    regions = np.bincount(population.region, minlength=population.n_regions)
    counts = np.bincount(
        population.region_province, weights=regions, minlength=len(population.province_names)
    )
    return {name: int(c) for name, c in zip(population.province_names, counts, strict=True)}


def cross_region_share(network: Network, region: np.ndarray) -> float:
    """Share of ties whose two ends live in different regions."""
    crossing = 0
    for a in range(0, network.n_nodes, _ROWS):
        b = min(a + _ROWS, network.n_nodes)
        lo, hi = network.offsets[a], network.offsets[b]
        source_region = np.repeat(region[a:b], np.diff(network.offsets[a : b + 1]))
        crossing += int(np.count_nonzero(source_region != region[network.neighbours[lo:hi]]))
    return crossing / max(len(network.neighbours), 1)


def sampled_clustering(network: Network, sample: int, seed: int) -> dict[str, Any]:
    """Transitivity and mean local clustering estimated from ``sample`` random agents."""
    rng = np.random.default_rng(seed)
    n = network.n_nodes
    chosen = np.sort(rng.choice(n, size=min(sample, n), replace=False))
    chosen_degree = np.diff(network.offsets)[chosen]
    rows = network.neighbours[ranges(network.offsets[chosen], chosen_degree)]
    ball = np.unique(np.concatenate([chosen, rows]))
    inside = np.zeros(n, dtype=bool)
    inside[ball] = True
    degree = np.diff(network.offsets)[ball]
    index = ranges(network.offsets[ball], degree)
    source = np.repeat(ball, degree)
    target = network.neighbours[index]
    keep = inside[target] & (source < target)
    local_id = np.searchsorted(ball, np.stack([source[keep], target[keep]], axis=1))
    graph = igraph.Graph(n=len(ball), edges=local_id, directed=False)
    where = np.searchsorted(ball, chosen)
    local = np.asarray(graph.transitivity_local_undirected(vertices=where, mode="zero"))
    triples = chosen_degree * (chosen_degree - 1) / 2
    return {
        "method": f"sampled ({len(chosen)} agents)",
        "transitivity": float((local * triples).sum() / max(triples.sum(), 1)),
        "mean_local": float(local.mean()),
    }


def components(network: Network) -> dict[str, Any]:
    """Number of connected components and the size and share of the largest.

    The ties are symmetric, so strongly connected components are the connected components;
    scipy's strong algorithm reads the CSR arrays as they are, where its undirected one builds
    a transposed copy (4 GB more at 25 M agents). The weights scipy requires are a read-only
    broadcast 1, not an array per tie.
    """
    import scipy.sparse  # here, not at module level: 0.2 s of every command's start
    from scipy.sparse.csgraph import connected_components

    n = network.n_nodes
    index_dtype = np.int32 if len(network.neighbours) < 2**31 else np.int64
    matrix = scipy.sparse.csr_matrix(
        (
            np.broadcast_to(np.float64(1), len(network.neighbours)),
            network.neighbours.astype(index_dtype, copy=False),
            network.offsets.astype(index_dtype),
        ),
        shape=(n, n),
    )
    count, labels = connected_components(matrix, directed=True, connection="strong")
    largest = int(np.bincount(labels).max())
    return {"count": int(count), "largest": largest, "largest_share": largest / n}
