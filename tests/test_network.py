"""Network: construction, validation, CSR layout and igraph interop."""

import igraph
import numpy as np
import pytest

from diffusion import Network


def test_from_edges_builds_symmetric_sorted_csr():
    net = Network.from_edges(5, [[0, 1], [3, 1], [1, 2], [4, 0]], trust=[0.5, 1.0, 0.25, 0.75])
    assert net.n_nodes == 5 and net.n_edges == 4
    assert net.degree().tolist() == [2, 3, 1, 1, 1]
    assert net.neighbours[net.offsets[1] : net.offsets[2]].tolist() == [0, 2, 3]
    assert net.trust[net.offsets[1] : net.offsets[2]].tolist() == [0.5, 0.25, 1.0]
    pairs, trust, _ = net.edges()
    assert sorted(map(tuple, pairs.tolist())) == [(0, 1), (0, 4), (1, 2), (1, 3)]
    assert net.offsets.dtype == np.int64 and net.neighbours.dtype == np.int32
    assert net.trust.dtype == np.float32 and net.kind.dtype == np.uint8


def test_self_loops_dropped_and_duplicates_merged_keeping_highest_trust():
    net = Network.from_edges(3, [[0, 0], [0, 1], [1, 0], [1, 2]], trust=[1.0, 0.3, 0.9, 0.5])
    assert net.n_edges == 2
    assert net.trust[net.offsets[0] : net.offsets[1]].tolist() == pytest.approx([0.9])


@pytest.mark.parametrize(
    ("n", "edges", "trust", "message"),
    [
        (0, np.empty((0, 2), int), None, r"n: 0 is not in \[1, "),
        (3, [[0, 3]], None, "out of range"),
        (3, [[-1, 2]], None, "out of range"),
        (3, [[0, 1, 2]], None, "shape"),
        (3, [[0.5, 1]], None, "integer"),
        (3, [[0, 1]], [1.5], r"trust: 1.5 is not in \(0, 1\]"),
        (3, [[0, 1]], [0.0], r"trust: 0.0 is not in \(0, 1\]"),
        (3, [[0, 1]], [0.5, 0.5], "one value per edge"),
    ],
)
def test_bad_input_is_named(n, edges, trust, message):
    with pytest.raises((ValueError, TypeError), match=message):
        Network.from_edges(n, edges, trust)


def test_isolated_and_empty_networks():
    net = Network.from_edges(4, np.empty((0, 2), dtype=np.int64))
    assert net.n_nodes == 4 and net.n_edges == 0 and net.degree().tolist() == [0, 0, 0, 0]


def test_igraph_round_trip_keeps_trust():
    net = Network.from_edges(4, [[0, 1], [1, 2], [2, 3]], trust=[0.5, 0.75, 1.0])
    graph = net.to_igraph()
    assert graph.vcount() == 4 and graph.ecount() == 3
    assert Network.from_igraph(graph) == net


def test_graphml_and_edgelist_files(tmp_path):
    net = Network.from_edges(4, [[0, 1], [1, 2], [2, 3]], trust=[0.5, 0.75, 1.0])
    net.to_igraph().write_graphml(str(tmp_path / "net.graphml"))
    assert Network.read(tmp_path / "net.graphml") == net
    (tmp_path / "net.txt").write_text("# u v trust\n0 1 0.5\n1 2 0.75\n2 3 1\n")
    assert Network.read(tmp_path / "net.txt") == net
    with pytest.raises(FileNotFoundError):
        Network.read(tmp_path / "missing.txt")


def test_directed_igraph_rejected():
    with pytest.raises(ValueError, match="undirected"):
        Network.from_igraph(igraph.Graph(n=2, edges=[(0, 1)], directed=True))


def test_generators_are_seeded_and_sized():
    er = Network.erdos_renyi(2000, 6, seed=1)
    assert er.n_edges == 6000 and er == Network.erdos_renyi(2000, 6, seed=1)
    assert er != Network.erdos_renyi(2000, 6, seed=2)
    ba = Network.barabasi_albert(1000, 3, seed=1)
    assert ba.n_nodes == 1000 and ba.degree().min() >= 3
    sbm = Network.stochastic_block_model([100, 100], [[0.2, 0.0], [0.0, 0.2]], seed=1)
    pairs, _, _ = sbm.edges()
    assert np.all((pairs[:, 0] < 100) == (pairs[:, 1] < 100))  # no ties across blocks


def test_from_csr_checks_layout():
    with pytest.raises(ValueError, match="offsets"):
        Network.from_csr([0, 2, 1], [1, 0])
    net = Network.from_csr([0, 1, 2], [1, 0], trust=[0.5, 0.5])
    assert net.n_edges == 1 and net.trust.tolist() == [0.5, 0.5]
