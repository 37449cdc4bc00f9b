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

The kernels read these arrays without bounds checks, so a ``Network`` guards them: every
constructor that takes raw arrays checks that they form a valid CSR graph (``check_csr``), and
the arrays are read-only once a network holds them (``net.neighbours[0] = 10**9`` raises
instead of sending a kernel out of bounds). Files are read without quoting their content in
errors (a path may point at any file) and with sizes checked before memory is allocated.
"""

from __future__ import annotations

import numbers
import random
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import numpy.typing as npt

from diffusion._lazy import lazy_module
from diffusion._memory import check_fits
from diffusion._text import short_repr
from diffusion.ties import EDGE_KINDS

igraph = lazy_module("igraph")

BYTES_PER_EDGE = 2 * (4 + 4 + 1)
"""Bytes per undirected edge: both directions of neighbour id, trust and kind."""

MAX_AGENTS = 2**31 - 1
"""Agent ids are int32 in the kernels: ids run from 0 to ``MAX_AGENTS - 1``."""


class Network:
    """An undirected graph with a trust weight and a kind per edge, stored as CSR arrays.

    Row ``i`` of the CSR arrays (``offsets[i]:offsets[i + 1]``) lists agent ``i``'s neighbours,
    sorted by id, with the trust and kind of each tie. Build one with a ``from_*`` constructor;
    ``Network(offsets, neighbours, trust, kind)`` checks the arrays (``check_csr``) and, like
    every constructor, makes them read-only.
    """

    ARRAYS: tuple[str, ...] = ("offsets", "neighbours", "trust", "kind")
    """The CSR arrays, in constructor order (also the layout of saved populations)."""

    __slots__ = (*ARRAYS, "_uniform_trust", "_single_kind")

    def __init__(
        self,
        offsets: npt.NDArray[np.int64],
        neighbours: npt.NDArray[np.int32],
        trust: npt.NDArray[np.float32],
        kind: npt.NDArray[np.uint8],
    ) -> None:
        check_csr(offsets, neighbours, trust, kind)
        self._hold(offsets, neighbours, trust, kind)

    def _hold(self, *arrays: np.ndarray) -> None:
        """Keep read-only views of the CSR arrays (a view: the caller's array is not changed)."""
        for name, array in zip(self.ARRAYS, arrays, strict=True):
            view = array.view()
            view.flags.writeable = False
            setattr(self, name, view)
        self._uniform_trust: bool | None = None
        self._single_kind: int | None = None

    @classmethod
    def _trusted(cls, *arrays: np.ndarray) -> Network:
        """Wrap CSR arrays this module has just built (valid by construction: not checked)."""
        network = cls.__new__(cls)
        network._hold(*arrays)
        return network

    def __reduce__(self):
        """Pickle (e.g. to a Dask worker) as the arrays; unpickling makes them read-only again."""
        return (Network._trusted, tuple(getattr(self, a) for a in self.ARRAYS))

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
        try:
            edges = np.asarray(edges)
        except (ValueError, TypeError) as exc:
            raise TypeError("edges: expected an (m, 2) array of integer agent ids") from exc
        if edges.size == 0:
            edges = edges.reshape(0, 2).astype(np.int64)
        if edges.ndim != 2 or edges.shape[1] != 2:
            raise ValueError(f"edges: must have shape (m, 2), got {edges.shape}")
        if not np.issubdtype(edges.dtype, np.integer):
            raise TypeError(f"edges: must hold integer agent ids, got dtype {edges.dtype}")
        m = len(edges)
        if m and (edges.min() < 0 or edges.max() >= n):
            bad = edges[(edges < 0) | (edges >= n)][0]
            raise ValueError(f"edges: agent id {int(bad)} is out of range [0, {n - 1}]")
        check_fits(network_bytes(n, m), f"a network of {n} agents and {m} ties")
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
        return cls._trusted(
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
        """Wrap ready CSR arrays (symmetric, no self-loops, rows sorted), checking all of that."""
        offsets = _int_array(offsets, np.int64, "offsets")
        neighbours = _int_array(neighbours, np.int32, "neighbours")
        nnz = len(neighbours)
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
            try:
                graph = igraph.Graph.Read_GraphML(str(path))
            except (igraph.InternalError, MemoryError, OverflowError, ValueError) as exc:
                # igraph's parser messages may quote the file: report only where it failed
                raise ValueError(f"{path}: not a readable GraphML file{_where(exc)}") from None
            return cls.from_igraph(graph)
        return cls.read_edgelist(path)

    @classmethod
    def read_edgelist(cls, path: str | Path, n: int | None = None) -> Network:
        """Read lines ``u v`` or ``u v trust`` (``#`` comments); ``n`` defaults to max id + 1.

        Agent ids are read as integers (``9223372036854775807`` stays exact) and must be below
        ``MAX_AGENTS``; the memory the network will need is checked before it is allocated.
        """
        ids, trust = _read_edge_table(Path(path))
        if len(ids) == 0:
            if n is None:
                raise ValueError(f"{path}: the edge list is empty; pass n to build isolated agents")
            return cls.from_edges(n, np.empty((0, 2), dtype=np.int64))
        low, high = int(ids.min()), int(ids.max())
        if low < 0 or high >= MAX_AGENTS:
            bad = low if low < 0 else high
            raise ValueError(f"{path}: agent id {bad} is out of range [0, {MAX_AGENTS - 1}]")
        return cls.from_edges(high + 1 if n is None else n, ids, trust)

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

    def single_kind(self) -> int | None:
        """The kind every tie has, or None when kinds differ (the event kernel then carries each
        exposure's kind); computed once, like ``uniform_trust``. A network without ties: 0."""
        if self._single_kind is None:
            kind = self.kind
            same = len(kind) == 0 or bool(np.all(kind == kind[0]))
            self._single_kind = (int(kind[0]) if len(kind) else 0) if same else -1
        return None if self._single_kind < 0 else self._single_kind

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


def network_bytes(n_agents: int, n_edges: int) -> int:
    """Memory a network of ``n_agents`` and ``n_edges`` ties takes while it is built.

    The CSR arrays take ``BYTES_PER_EDGE`` per tie and 8 bytes per agent; building them from an
    edge list sorts int64 copies of both directions, about 40 bytes more per tie.
    """
    return 8 * (n_agents + 1) + (BYTES_PER_EDGE + 40) * n_edges


def check_csr(
    offsets: np.ndarray, neighbours: np.ndarray, trust: np.ndarray, kind: np.ndarray
) -> None:
    """Raise ``ValueError`` unless the arrays form a valid network for the kernels.

    Checked, vectorised: dtypes and lengths; offsets from 0 to ``len(neighbours)``, never
    decreasing; neighbour ids in range; rows sorted with no repeated neighbour; no self-loops;
    every tie present in both directions with the same trust and kind; trust in (0, 1]; kinds
    known. Memory: about 8 bytes per direction of a tie, plus a bounded work buffer.
    """
    expected = {"offsets": np.int64, "neighbours": np.int32, "trust": np.float32, "kind": np.uint8}
    arrays = {"offsets": offsets, "neighbours": neighbours, "trust": trust, "kind": kind}
    for name, array in arrays.items():
        if not isinstance(array, np.ndarray):
            raise TypeError(f"{name}: expected a numpy array, got {type(array).__name__}")
        if array.dtype != expected[name] or array.ndim != 1:
            raise ValueError(
                f"{name}: expected a 1-D {np.dtype(expected[name])} array, got {array.dtype} "
                f"with shape {array.shape}"
            )
    n, nnz = len(offsets) - 1, len(neighbours)
    if not 1 <= n <= MAX_AGENTS:
        raise ValueError(f"offsets: {n} agents is not in [1, {MAX_AGENTS}]")
    if len(trust) != nnz or len(kind) != nnz:
        raise ValueError(f"trust and kind: need one value per neighbour entry ({nnz})")
    if offsets[0] != 0 or offsets[-1] != nnz or np.any(offsets[1:] < offsets[:-1]):
        raise ValueError("offsets: must start at 0, never decrease and end at len(neighbours)")
    if nnz == 0:
        return
    if neighbours.min() < 0 or neighbours.max() >= n:
        raise ValueError(f"neighbours: agent ids must be in [0, {n - 1}]")
    bad_trust = ~((trust > 0) & (trust <= 1))
    if bad_trust.any():
        raise ValueError(f"trust: {trust[bad_trust][0]} is not in (0, 1]")
    if kind.max() >= len(EDGE_KINDS):
        raise ValueError(
            f"kind: {int(kind.max())} is not a known edge kind [0, {len(EDGE_KINDS) - 1}]"
        )
    _check_rows(offsets, neighbours, trust, kind)


_CHUNK = 1 << 22
"""Neighbour entries checked at a time by ``_check_rows`` (bounds its work memory)."""


def _check_rows(offsets, neighbours, trust, kind) -> None:
    """Sorted rows without repeats or self-loops, and every entry mirrored (see ``check_csr``).

    Rows are checked block by block. Symmetry is checked in one pass without sorting: the
    entries (i, j, trust, kind) and their mirrors (j, i, trust, kind) are the same multiset
    exactly when the sums of a salted 64-bit hash over both agree (a fresh random salt per
    call; an asymmetric network passes with probability about 2**-64). Sorting to compare
    instead takes minutes at the scale of the full country.
    """
    n = len(offsets) - 1
    salt = np.random.default_rng().integers(1, 2**63, dtype=np.uint64)
    forward, backward = np.zeros(1, np.uint64), np.zeros(1, np.uint64)
    first = 0
    while first < n:
        last = int(np.searchsorted(offsets, offsets[first] + _CHUNK, side="right")) - 1
        last = min(max(last, first + 1), n)
        lo, hi = offsets[first], offsets[last]
        rows = np.repeat(
            np.arange(first, last, dtype=np.uint64), np.diff(offsets[first : last + 1])
        )
        cols = neighbours[lo:hi].astype(np.uint64)
        if np.any(rows == cols):
            raise ValueError("neighbours: an agent is its own neighbour (self-loop)")
        same_row = rows[1:] == rows[:-1]
        if np.any(cols[1:][same_row] <= cols[:-1][same_row]):
            raise ValueError("neighbours: rows must be sorted by id without repeats")
        extra = (trust[lo:hi].view(np.uint32).astype(np.uint64) << np.uint64(8)) | kind[lo:hi]
        forward += _hash(rows, cols, extra, salt).sum(dtype=np.uint64)
        backward += _hash(cols, rows, extra, salt).sum(dtype=np.uint64)
        first = last
    if forward[0] != backward[0]:
        raise ValueError(
            "neighbours: not symmetric (a tie is missing in one direction, or its trust or kind "
            "differs between the two)"
        )


def _hash(a: np.ndarray, b: np.ndarray, extra: np.ndarray, salt: np.uint64) -> np.ndarray:
    """A salted 64-bit mix (splitmix64's finaliser) of ``(a, b, extra)``, element-wise."""
    x = a * np.uint64(0x9E3779B97F4A7C15) + b * np.uint64(0xC2B2AE3D27D4EB4F)
    x += extra * np.uint64(0x165667B19E3779F9) + salt
    for shift, factor in ((30, 0xBF58476D1CE4E5B9), (27, 0x94D049BB133111EB)):
        x ^= x >> np.uint64(shift)
        x *= np.uint64(factor)
    return x ^ (x >> np.uint64(31))


def _check_n(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"n: expected an integer number of agents, got {type(n).__name__}")
    if not 1 <= n <= MAX_AGENTS:
        raise ValueError(f"n: {short_repr(n)} is not in [1, {MAX_AGENTS}]")
    return int(n)


def _int_array(values: npt.ArrayLike, dtype, name: str) -> np.ndarray:
    """``values`` as a contiguous array of ``dtype``, refusing non-integers and overflow."""
    array = np.asarray(values)
    if array.size == 0:
        return np.zeros(0, dtype=dtype)
    if not np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"{name}: expected integers, got dtype {array.dtype}")
    info = np.iinfo(dtype)
    if array.min() < info.min or array.max() > info.max:
        raise ValueError(f"{name}: values must fit in {np.dtype(dtype)}")
    return np.ascontiguousarray(array, dtype=dtype)


def _read_edge_table(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    """Agent id pairs (int64) and trust (or None) of an edge list, without quoting the file.

    Read twice: as floats, which checks that every line has the same 2 or 3 numbers, and the
    ids again as integers, so that ids beyond 2**53 are not rounded.
    """
    try:
        table = np.loadtxt(path, comments="#", ndmin=2, dtype=np.float64)
        if table.size == 0:
            return np.empty((0, 2), dtype=np.int64), None
        if table.shape[1] not in (2, 3):
            raise ValueError(f"{path}: expected 2 or 3 columns (u v [trust]), got {table.shape[1]}")
        ids = np.loadtxt(path, comments="#", usecols=(0, 1), dtype=np.int64, ndmin=2)
    except (ValueError, OverflowError, UnicodeDecodeError) as exc:
        if str(exc).startswith(f"{path}: "):
            raise
        # numpy's message quotes the offending text: keep only its row and column
        raise ValueError(
            f"{path}: not an edge list of lines 'u v [trust]' with integer ids{_where(exc)}"
        ) from None
    return ids, table[:, 2] if table.shape[1] == 3 else None


def _where(exc: BaseException) -> str:
    """`` (at row 3, column 2)`` or `` (at line 7)`` from a parser's message, else nothing."""
    text = str(exc)
    found = re.search(r"row (\d+), column (\d+)", text)
    if found:
        return f" (at row {int(found[1]) + 1}, column {found[2]})"
    found = re.search(r"line (\d+)", text)
    return f" (at line {found[1]})" if found else ""


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
    elif m and (
        not np.issubdtype(arr.dtype, np.integer) or arr.min() < 0 or arr.max() >= len(EDGE_KINDS)
    ):
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
