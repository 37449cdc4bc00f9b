"""The undirected trust network as CSR arrays, its constructors and igraph interop.

Memory layout, chosen for the 25-million-agent country (about 10^8 undirected edges):

* ``offsets``    int64, N + 1 entries (8 bytes per agent);
* ``neighbours`` int32, one entry per direction of each edge (4 bytes);
* ``trust``      float32 in (0, 1], per direction (4 bytes);
* ``kind``       uint8 tie kind (index into ``diffusion.ties.TIE_KINDS``), per direction (1 B).

That is 9 bytes per direction, so **18 bytes per undirected edge** plus 8 bytes per agent:
10^8 edges and 2.5 x 10^7 agents take about 2 GB.

Self-loops are dropped. Duplicate edges (the same unordered pair twice) are merged into one,
keeping the highest trust and that copy's kind: two people who share a household and a viewing
circle have one tie, as trusted as the stronger of the two.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import igraph
import numpy as np
import numpy.typing as npt

from diffusion.ties import EDGE_KINDS

BYTES_PER_EDGE = 2 * (4 + 4 + 1)
"""Bytes per undirected edge: both directions of neighbour id, trust and kind."""


class Network:
    """An undirected graph with a trust weight and a kind per edge, stored as CSR arrays.

    Row ``i`` of the CSR arrays (``offsets[i]:offsets[i + 1]``) lists agent ``i``'s neighbours,
    sorted by id, with the trust and kind of each tie. Build one with a ``from_*`` constructor.
    """

    ARRAYS: tuple[str, ...] = ("offsets", "neighbours", "trust", "kind")
    """The CSR arrays, in constructor order (also the layout of saved populations)."""

    __slots__ = (*ARRAYS, "_uniform_trust")

    def __init__(
        self,
        offsets: npt.NDArray[np.int64],
        neighbours: npt.NDArray[np.int32],
        trust: npt.NDArray[np.float32],
        kind: npt.NDArray[np.uint8],
    ) -> None:
        self.offsets = offsets
        self.neighbours = neighbours
        self.trust = trust
        self.kind = kind
        self._uniform_trust: bool | None = None

    # ----------------------------------------------------------------- constructors
    @classmethod
    def from_edges(
        cls,
        n: int,
        edges: npt.ArrayLike,
        trust: npt.ArrayLike | float | None = None,
        kind: npt.ArrayLike | int | None = None,
    ) -> Network:
        """Build from ``n`` agents and an (m, 2) array of agent ids; ``trust`` defaults to 1."""
        n = _check_n(n)
        edges = np.asarray(edges)
        if edges.size == 0:
            edges = edges.reshape(0, 2)
        if edges.ndim != 2 or edges.shape[1] != 2:
            raise ValueError(f"edges must have shape (m, 2), got {edges.shape}")
        if not np.issubdtype(edges.dtype, np.integer):
            raise ValueError(f"edges must hold integer agent ids, got dtype {edges.dtype}")
        m = len(edges)
        if m and (edges.min() < 0 or edges.max() >= n):
            bad = edges[(edges < 0) | (edges >= n)][0]
            raise ValueError(f"edges: agent id {bad} is out of range [0, {n - 1}]")
        trust_arr = _per_edge(trust, m, 1.0, np.float32, "trust")
        kind_arr = _per_edge(kind, m, 0, np.uint8, "kind")
        return cls._from_clean_arrays(n, edges.astype(np.int64, copy=False), trust_arr, kind_arr)

    @classmethod
    def _from_clean_arrays(
        cls,
        n: int,
        edges: npt.NDArray[np.int64],
        trust: npt.NDArray[np.float32],
        kind: npt.NDArray[np.uint8],
    ) -> Network:
        """Drop self-loops, merge duplicates (highest trust wins) and lay out the CSR arrays."""
        u = np.minimum(edges[:, 0], edges[:, 1])
        v = np.maximum(edges[:, 0], edges[:, 1])
        keep = u != v
        u, v, trust, kind = u[keep], v[keep], trust[keep], kind[keep]
        key = u * n + v
        order = np.lexsort((-trust, key))  # by pair, then strongest tie first
        key = key[order]
        first = np.ones(len(key), dtype=bool)
        first[1:] = key[1:] != key[:-1]
        order = order[first]
        u, v, trust, kind = u[order], v[order], trust[order], kind[order]
        # Both directions, ordered by (source, target) so every row is sorted.
        src = np.concatenate([u, v])
        dst = np.concatenate([v, u])
        order = np.argsort(src * n + dst, kind="stable")
        counts = np.bincount(src, minlength=n)
        offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        return cls(
            offsets,
            dst[order].astype(np.int32),
            np.concatenate([trust, trust])[order],
            np.concatenate([kind, kind])[order],
        )

    @classmethod
    def from_csr(
        cls,
        offsets: npt.ArrayLike,
        neighbours: npt.ArrayLike,
        trust: npt.ArrayLike | None = None,
        kind: npt.ArrayLike | None = None,
    ) -> Network:
        """Wrap ready CSR arrays (symmetric, no self-loops, rows sorted), checking their shape."""
        offsets = np.ascontiguousarray(offsets, dtype=np.int64)
        neighbours = np.ascontiguousarray(neighbours, dtype=np.int32)
        n = _check_n(len(offsets) - 1)
        nnz = len(neighbours)
        if offsets[0] != 0 or offsets[-1] != nnz or np.any(np.diff(offsets) < 0):
            raise ValueError("offsets must start at 0, never decrease and end at len(neighbours)")
        if nnz and (neighbours.min() < 0 or neighbours.max() >= n):
            raise ValueError(f"neighbours: agent ids must be in [0, {n - 1}]")
        trust = _per_edge(trust, nnz, 1.0, np.float32, "trust")
        kind = _per_edge(kind, nnz, 0, np.uint8, "kind")
        return cls(offsets, neighbours, trust, kind)

    @classmethod
    def from_igraph(cls, graph: igraph.Graph, trust_attribute: str = "trust") -> Network:
        """Build from an undirected ``igraph.Graph``; edge attribute ``trust`` is used if set."""
        if graph.is_directed():
            raise ValueError("the graph must be undirected (trust is mutual)")
        edges = np.array(graph.get_edgelist(), dtype=np.int64).reshape(-1, 2)
        trust = None
        if trust_attribute in graph.es.attributes():
            trust = np.asarray(graph.es[trust_attribute], dtype=np.float32)
        return cls.from_edges(graph.vcount(), edges, trust)

    @classmethod
    def read(cls, path: str | Path) -> Network:
        """Read a GraphML file (``.graphml``) or a whitespace edge list ``u v [trust]``."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no network file at {path}")
        if path.suffix.lower() == ".graphml":
            return cls.from_igraph(igraph.Graph.Read_GraphML(str(path)))
        return cls.read_edgelist(path)

    @classmethod
    def read_edgelist(cls, path: str | Path, n: int | None = None) -> Network:
        """Read lines ``u v`` or ``u v trust`` (``#`` comments); ``n`` defaults to max id + 1."""
        table = np.loadtxt(path, comments="#", ndmin=2)
        if table.size == 0:
            if n is None:
                raise ValueError(f"{path}: the edge list is empty; pass n to build isolated agents")
            return cls.from_edges(n, np.empty((0, 2), dtype=np.int64))
        if table.shape[1] not in (2, 3):
            raise ValueError(f"{path}: expected 2 or 3 columns (u v [trust]), got {table.shape[1]}")
        ids = table[:, :2]
        if np.any(ids != np.round(ids)):
            raise ValueError(f"{path}: agent ids must be integers")
        edges = ids.astype(np.int64)
        trust = table[:, 2] if table.shape[1] == 3 else None
        return cls.from_edges(int(edges.max()) + 1 if n is None else n, edges, trust)

    # ----------------------------------------------------------------- generators
    @classmethod
    def erdos_renyi(cls, n: int, mean_degree: float, seed: int) -> Network:
        """G(n, m) random graph with ``m = round(n * mean_degree / 2)`` edges (igraph)."""
        if mean_degree < 0 or mean_degree > n - 1:
            raise ValueError(f"mean_degree: {mean_degree} is not in [0, {n - 1}]")
        m = round(_check_n(n) * mean_degree / 2)
        with _igraph_seed(seed):
            return cls.from_igraph(igraph.Graph.Erdos_Renyi(n=n, m=m))

    @classmethod
    def barabasi_albert(cls, n: int, m: int, seed: int) -> Network:
        """Preferential attachment graph, each new agent bringing ``m`` ties (igraph)."""
        if m < 1:
            raise ValueError(f"m: {m} is not in [1, n - 1]")
        with _igraph_seed(seed):
            return cls.from_igraph(igraph.Graph.Barabasi(_check_n(n), m))

    @classmethod
    def stochastic_block_model(
        cls, block_sizes: list[int], pref_matrix: list[list[float]], seed: int
    ) -> Network:
        """Stochastic block model: ``pref_matrix[a][b]`` is the tie probability across blocks."""
        with _igraph_seed(seed):
            graph = igraph.Graph.SBM(pref_matrix, list(block_sizes))
        return cls.from_igraph(graph)

    # ----------------------------------------------------------------- queries
    @property
    def n_nodes(self) -> int:
        """Number of agents."""
        return len(self.offsets) - 1

    @property
    def n_edges(self) -> int:
        """Number of undirected edges, each counted once."""
        return len(self.neighbours) // 2

    @property
    def nbytes(self) -> int:
        """Bytes held by the CSR arrays."""
        return sum(getattr(self, a).nbytes for a in self.ARRAYS)

    def degree(self) -> npt.NDArray[np.int64]:
        """Number of neighbours of every agent."""
        return np.diff(self.offsets)

    def edges(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32], npt.NDArray[np.uint8]]:
        """Each undirected edge once as ``(pairs (m, 2) with u < v, trust, kind)``."""
        src = np.repeat(np.arange(self.n_nodes, dtype=np.int64), self.degree())
        once = src < self.neighbours
        pairs = np.column_stack([src[once], self.neighbours[once].astype(np.int64)])
        return pairs, self.trust[once], self.kind[once]

    def uniform_trust(self) -> bool:
        """True when every tie has trust 1 (the kernel then skips the trust draw).

        Computed once: a network's arrays are not changed after construction.
        """
        if self._uniform_trust is None:
            self._uniform_trust = bool(np.all(self.trust == 1))
        return self._uniform_trust

    def to_igraph(self) -> igraph.Graph:
        """An undirected ``igraph.Graph`` with ``trust`` and ``kind`` edge attributes."""
        pairs, trust, kind = self.edges()
        graph = igraph.Graph(n=self.n_nodes, edges=pairs, directed=False)
        graph.es["trust"] = trust.astype(float).tolist()
        graph.es["kind"] = [EDGE_KINDS[k] for k in kind]
        return graph

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Network):
            return NotImplemented
        return all(np.array_equal(getattr(self, a), getattr(other, a)) for a in self.ARRAYS)

    __hash__ = None  # mutable arrays: equality by content, not hashable

    def __repr__(self) -> str:
        return f"Network(n_nodes={self.n_nodes}, n_edges={self.n_edges})"


def _check_n(n: int) -> int:
    if int(n) != n or n < 1:
        raise ValueError(f"n: {n} must be an integer >= 1")
    return int(n)


def _per_edge(values, m: int, default, dtype, name: str) -> np.ndarray:
    """Broadcast a scalar or check an array of per-edge ``trust`` or ``kind`` of length ``m``."""
    if values is None:
        return np.full(m, default, dtype=dtype)
    arr = np.asarray(values)
    if arr.ndim == 0:
        arr = np.full(m, arr)
    if arr.shape != (m,):
        raise ValueError(f"{name} must have one value per edge ({m}), got shape {arr.shape}")
    if name == "trust":
        bad = ~((arr > 0) & (arr <= 1))
        if bad.any():
            raise ValueError(f"trust: {arr[bad][0]} is not in (0, 1]")
    elif m and (arr.min() < 0 or arr.max() >= len(EDGE_KINDS)):
        raise ValueError(f"kind: values must be integers in [0, {len(EDGE_KINDS) - 1}]")
    return arr.astype(dtype)


@contextmanager
def _igraph_seed(seed: int) -> Iterator[None]:
    """Run igraph generators on a private ``random.Random(seed)``, then restore the default."""
    igraph.set_random_number_generator(random.Random(seed))
    try:
        yield
    finally:
        igraph.set_random_number_generator(random)
