"""simulate(): invariants, reproducibility, edge cases and parameter validation."""

import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import diffusion
from diffusion import Network, Params, simulate


@pytest.fixture(scope="module")
def net() -> Network:
    return Network.erdos_renyi(5000, 8, seed=3)


PARAMS = Params(beta=0.1, gamma=0.2, delta=0.02, media={"usb": {"p_copy": 0.8}})


def test_counts_sum_to_n_and_move_one_way(net):
    res = simulate(net, PARAMS, seeds=10, rng=1)
    counts = res.counts
    assert counts.shape == (res.steps + 1, 5)
    assert np.all(counts.sum(axis=1) == net.n_nodes)
    assert counts[0].tolist() == [net.n_nodes - 10, 0, 10, 0, 0]
    assert np.all(np.diff(counts[:, 0]) <= 0)  # S only shrinks
    assert np.all(np.diff(counts[:, [1, 3, 4]], axis=0) >= 0)  # W, R, D only grow
    assert res.final["I"] == 0  # run to extinction
    assert res.new_detections.sum() == res.final["D"]


def test_same_seed_same_result_different_seed_different(net):
    a, b = simulate(net, PARAMS, seeds=10, rng=99), simulate(net, PARAMS, seeds=10, rng=99)
    assert np.array_equal(a.counts, b.counts)
    c = simulate(net, PARAMS, seeds=10, rng=100)
    assert not np.array_equal(a.counts, c.counts)


def test_seed_sequence_and_generator_rngs(net):
    """An integer seed is its SeedSequence; a Generator is drawn from (so it moves on)."""
    seq = np.random.SeedSequence(5)
    a = simulate(net, PARAMS, seeds=10, rng=seq)
    assert np.array_equal(a.counts, simulate(net, PARAMS, seeds=10, rng=5).counts)
    first, again = (np.random.Generator(np.random.PCG64(seq)) for _ in range(2))
    b = simulate(net, PARAMS, seeds=10, rng=first)
    assert np.array_equal(b.counts, simulate(net, PARAMS, seeds=10, rng=again).counts)
    assert not np.array_equal(b.counts, simulate(net, PARAMS, seeds=10, rng=first).counts)


def test_explicit_seed_ids(net):
    res = simulate(net, PARAMS, seeds=np.array([0, 1, 2]), rng=1)
    assert res.counts[0, 2] == 3


def test_fixed_number_of_steps(net):
    res = simulate(net, Params(beta=0.1, gamma=0.0), seeds=5, rng=2, steps=15)
    assert res.counts.shape == (16, 5)
    assert res.final["I"] > 0  # holders never stop, still holding at the end
    assert simulate(net, PARAMS, seeds=5, rng=2, steps=0).counts.shape == (1, 5)


def test_isolated_agents_and_every_agent_seeded():
    empty = Network.from_edges(100, np.empty((0, 2), dtype=np.int64))
    res = simulate(empty, PARAMS, seeds=4, rng=1)
    assert res.final["S"] == 96 and res.final["R"] + res.final["D"] == 4
    full = Network.erdos_renyi(300, 5, seed=1)
    res = simulate(full, PARAMS, seeds=300, rng=1)
    assert res.counts[0].tolist() == [0, 0, 300, 0, 0]
    assert res.final["R"] + res.final["D"] == 300


def test_no_seeds_nothing_happens(net):
    res = simulate(net, PARAMS, seeds=0, rng=1)
    assert res.counts.tolist() == [[net.n_nodes, 0, 0, 0, 0]]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"beta": 1.7, "gamma": 0.1}, "beta"),
        ({"beta": 0.1, "gamma": -0.1}, "gamma"),
        ({"beta": 0.1, "gamma": 0.1, "delta": 2}, "delta"),
        ({"beta": 0.1, "gamma": 0.1, "media": {"usb": {"p_copy": 1.01}}}, "p_copy"),
        ({"beta": 0.1, "gamma": 0.1, "campaigns": [{"start": 5, "end": 2, "delta": 0.1}]}, "end"),
        ({"beta": 0.1, "gamma": 0.1, "bogus": 1}, "bogus"),
    ],
)
def test_invalid_params_name_the_parameter(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Params(**kwargs)


def test_overlapping_campaigns_rejected():
    with pytest.raises(ValueError, match="overlap"):
        Params(
            beta=0.1,
            gamma=0.1,
            campaigns=[
                {"start": 1, "end": 10, "delta": 0.1},
                {"start": 5, "end": 20, "delta": 0.2},
            ],
        )


@pytest.mark.parametrize(
    ("seeds", "message"),
    [(-1, r"seeds: -1 is not an integer in \[0, 5000\]"), (5001, "seeds"), ([1, 1], "distinct")],
)
def test_invalid_seeds(net, seeds, message):
    with pytest.raises(ValueError, match=message):
        simulate(net, PARAMS, seeds=seeds, rng=1)


def test_run_without_end_needs_steps(net):
    with pytest.raises(ValueError, match="steps"):
        simulate(net, Params(beta=0.1, gamma=0.0), seeds=1, rng=1)
    with pytest.raises(ValueError, match="steps"):
        simulate(net, PARAMS, seeds=1, rng=1, steps=-2)


def test_summary_figures(net):
    res = simulate(net, PARAMS, seeds=10, rng=4)
    summary = res.summary()
    assert summary["reach"] == net.n_nodes - res.final["S"]
    assert summary["peak_holders"] == res.counts[:, 2].max()
    assert res.reach[summary["steps_to_half_reach"]] >= summary["reach"] / 2
    assert diffusion.__version__


def test_ctrl_c_stops_a_long_run():
    """The kernels check for signals between steps, so Ctrl-C ends a long run promptly."""
    code = (
        "import diffusion\n"
        "net = diffusion.Network.erdos_renyi(20_000, 10, seed=1)\n"
        "params = diffusion.Params(beta=0.001, gamma=0.0)\n"
        "print('ready', flush=True)\n"
        "diffusion.simulate(net, params, seeds=10, rng=1, steps=10**7, engine='step')\n"
        "print('finished', flush=True)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert "KeyboardInterrupt" in err and "finished" not in out
