"""The event kernel's typed boundary: one parameter record of a declared dtype, events returned
by name, and state counts read by name."""

from __future__ import annotations

import numpy as np
import pytest
from diffusion._sir import EVENT_COLUMNS, run_sir

from diffusion import Network, Params, simulate
from diffusion.result import STATES
from diffusion.simulate import EVENT_PARAMS_DTYPE


def _call(net: Network, record: np.ndarray, seeds: np.ndarray) -> tuple[dict, np.ndarray]:
    n = net.n_nodes
    reached = np.full(n, -1, np.int32)
    reached[seeds] = 0
    out = run_sir(
        net.offsets,
        net.neighbours,
        net.trust,
        net.kind,
        record,
        np.array([1], np.int64),
        np.array([0.01]),
        seeds,
        reached,
        np.zeros(n, np.uint8),
        np.full(n, -1, np.int32),
        np.array([3, 4], np.uint64),
    )
    return out, reached


def test_events_come_back_by_name_and_balance_the_per_person_record() -> None:
    """Every agent the kernel reached is one new holder or watcher; run to extinction, every
    holder (seeds included) is removed once, ceasing or detected."""
    net = Network.erdos_renyi(5_000, 8, seed=2)
    seeds = np.array([1, 50, 900], np.int32)
    record = np.array([(0.1, 0.2, 0.7, -1, 1, 0)], dtype=EVENT_PARAMS_DTYPE)
    out, reached = _call(net, record, seeds)
    assert set(out) == {*EVENT_COLUMNS, "ties_examined"}
    steps = len(out["new_I"])
    assert all(len(out[name]) == steps for name in EVENT_COLUMNS)
    new_i, new_w, new_r, new_d = (int(out[name].sum()) for name in EVENT_COLUMNS)
    assert new_w > 0 and new_d > 0  # p_copy 0.7 and delta 0.01 both act
    assert new_i + new_w == np.count_nonzero(reached > 0)
    assert new_r + new_d == len(seeds) + new_i
    assert out["ties_examined"] > 0


def test_a_parameter_record_of_another_layout_is_refused_at_the_boundary() -> None:
    net = Network.erdos_renyi(100, 4, seed=2)
    swapped = np.dtype([(n, EVENT_PARAMS_DTYPE[n]) for n in reversed(EVENT_PARAMS_DTYPE.names)])
    record = np.zeros(1, dtype=swapped)
    with pytest.raises(ValueError, match="mismatch"):
        _call(net, record, np.array([0], np.int32))


def test_result_state_reads_a_column_by_its_name() -> None:
    result = simulate(Network.erdos_renyi(2_000, 6, seed=1), Params(beta=0.1, gamma=0.2), rng=1)
    for index, name in enumerate(STATES):
        np.testing.assert_array_equal(result.state(name), result.counts[:, index])
    assert result.summary()["detected"] == int(result.state("D")[-1])
    with pytest.raises(ValueError, match="name: 'X' is not one of S, W, I, R, D"):
        result.state("X")
