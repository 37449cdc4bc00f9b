"""Common random numbers: every draw has its own address, on every kernel.

The kernels draw by (run key, agent, step, purpose[, other agent]) through Philox4x64-10, so a
change that does not touch an agent's history leaves that agent's draws, and so its outcome,
exactly as they were. The tests add something that matters to nobody else (an isolated initial
holder, a copy placed later) and check that everything else is bit-identical.
"""

import numpy as np
import pytest
from diffusion._sir import philox_block

from diffusion import Network, Params, simulate
from diffusion.entry import EntrySchedule
from diffusion.population import PopulationConfig
from diffusion.simulate import FULL_MODEL_ENGINES
from diffusion.streams import addressed_uniforms, philox_blocks

ENGINES = ["event", *FULL_MODEL_ENGINES]


@pytest.mark.parametrize(
    ("counter", "key"),
    [
        ((1, 0, 0, 0), (0, 0)),
        ((7, 3, 5 << 32, 11), (123, 456)),
        ((2**64 - 1, 2**63, 2**40 + 9, 2**64 - 2), (2**64 - 1, 987654321)),
    ],
)
def test_the_generator_is_numpys_philox(counter, key):
    """Known answers from numpy.random.Philox (which adds one to its counter before a block)."""
    below = counter[0] - 1 + sum(c << (64 * i) for i, c in enumerate(counter[1:], start=1))
    reference = np.random.Philox(key=key[0] + (key[1] << 64), counter=below)
    assert philox_block(list(counter), list(key)) == reference.random_raw(4).tolist()


def path(n: int) -> Network:
    return Network.from_edges(n, np.column_stack([np.arange(n - 1), np.arange(1, n)]))


@pytest.mark.parametrize("engine", ENGINES)
def test_each_agent_learns_of_a_neighbours_detection_in_its_step(engine):
    """Seed 0 on a path, beta = delta = 1: agent k is reached in step k and detected in step
    k + 1, so agent k >= 1 first sees a tie detected in step k (agent k - 1) and agent 0 in
    step 2 (agent 1)."""
    n = 20
    res = simulate(path(n), Params(beta=1.0, gamma=0.0, delta=1.0), seeds=[0], rng=3,
                   engine=engine)  # fmt: skip
    assert res.reached.tie_detected.tolist() == [2, *range(1, n)]


def with_isolated_first_agent(n: int, degree: float, seed: int) -> Network:
    """An Erdős–Rényi graph on agents 1..n and an agent 0 with no ties."""
    graph = Network.erdos_renyi(n, degree, seed=seed)
    edges = np.column_stack([np.repeat(np.arange(n), np.diff(graph.offsets)), graph.neighbours])
    return Network.from_edges(n + 1, edges[edges[:, 0] < edges[:, 1]] + 1)


@pytest.mark.parametrize("engine", ENGINES)
def test_an_extra_isolated_holder_changes_no_one_else(engine):
    """Adding agent 0 (no ties) to the initial holders, first in every list the kernels walk,
    leaves every other agent's history bit-identical: no draw is keyed by position or order."""
    net = with_isolated_first_agent(3000, 6.0, seed=4)
    params = Params(beta=0.15, gamma=0.2, delta=0.02)
    seeds = np.arange(1, 3001, 300)
    alone = simulate(net, params, seeds=seeds, rng=11, engine=engine)
    more = simulate(net, params, seeds=np.concatenate([[0], seeds]), rng=11, engine=engine)
    assert alone.reach[-1] > 300  # a real outbreak, not a handful of agents
    assert np.array_equal(more.reached.step[1:], alone.reached.step[1:])
    assert np.array_equal(more.reached.tie_detected, alone.reached.tie_detected)
    assert (more.reached.step[0], alone.reached.step[0]) == (0, -1)
    removed = more.counts[:, 3:].sum(axis=1) - alone.counts[:, 3:].sum(axis=1)
    assert set(removed.tolist()) <= {0, 1}  # agent 0 itself, once it stops holding


@pytest.mark.parametrize("engine", FULL_MODEL_ENGINES)
def test_a_placed_copy_changes_nothing_before_it_arrives(engine):
    """A copy placed in step 40 leaves steps 0..39 of a country with smuggling bit-identical,
    and everyone reached before step 40 reached in the same step through the same channel."""
    population = PopulationConfig(n_agents=4000, n_regions=20).build(seed=2)
    params = Params(beta=0.05, gamma=0.02, delta=0.002, entry_rate=0.3)
    steps, arrival = 120, 40
    recipient = int(population.n_agents - 1)
    placed = EntrySchedule.from_arrivals(steps, [arrival], [recipient], [0])
    base = simulate(population, params, seeds=5, rng=8, steps=steps, engine=engine)
    moved = simulate(population, params, seeds=5, rng=8, steps=steps, entry=placed, engine=engine)
    assert np.array_equal(base.counts[:arrival], moved.counts[:arrival])
    assert np.array_equal(base.region_counts[:arrival], moved.region_counts[:arrival])
    early = (base.reached.step >= 0) & (base.reached.step < arrival)
    assert early.sum() > 20
    assert np.array_equal(moved.reached.step[early], base.reached.step[early])
    assert np.array_equal(moved.reached.channel[early], base.reached.channel[early])
    assert moved.entered.sum() == base.entered.sum() + 1
    before = base.reached.step[recipient]
    assert moved.reached.step[recipient] == (before if 0 <= before < arrival else arrival)


@pytest.mark.parametrize(
    ("counter", "key"),
    [
        ((1, 0, 0, 0), (0, 0)),
        ((7, 3, 5 << 32, 11), (123, 456)),
        ((2**64 - 1, 2**63, 2**40 + 9, 2**64 - 2), (2**64 - 1, 987654321)),
    ],
)
def test_python_addressed_draws_are_the_kernels_philox(counter, key):
    """The vectorised Philox of ``diffusion.streams`` gives the kernel's blocks word for word,
    and ``addressed_uniforms`` lays its counter out as ``rng.pxd``'s stream_at (agent, step,
    purpose << 32, other), the 53 high bits of the first word as the first uniform."""
    assert philox_blocks([counter], key)[0].tolist() == philox_block(list(counter), list(key))
    agent, step, purpose, other = 12345, 678, 3, 9
    first = philox_block([agent, step, purpose << 32, other], list(key))
    u = addressed_uniforms(np.array(key, np.uint64), agent, step, purpose, other)[0]
    assert u.tolist() == [(w >> 11) * 2.0**-53 for w in first]


@pytest.mark.parametrize("engine", FULL_MODEL_ENGINES)
def test_initial_holders_media_are_keyed_by_agent(engine):
    """With a mix of two media, reordering the initial holders or putting one more first leaves
    every holder's medium (and a reordered run as a whole) unchanged (issue 20, A3)."""
    population = PopulationConfig(n_agents=3000, n_regions=12).build(seed=3)
    params = Params(beta=0.05, gamma=0.05, delta=0.002, mix={"usb": 0.5, "dvd": 0.5})
    seeds = np.arange(100, 3000, 97)
    base = simulate(population, params, seeds=seeds, rng=4, steps=40, engine=engine)
    reversed_ = simulate(
        population, params, seeds=seeds[::-1].copy(), rng=4, steps=40, engine=engine
    )
    more = simulate(
        population, params, seeds=np.concatenate([[7], seeds]), rng=4, steps=40, engine=engine
    )
    media = base.reached.medium[seeds]
    assert 5 < media.sum() < len(seeds) - 5  # both media among the holders
    assert np.array_equal(reversed_.reached.medium[seeds], media)
    assert np.array_equal(more.reached.medium[seeds], media)
    assert np.array_equal(reversed_.counts, base.counts)
    assert np.array_equal(reversed_.reached.step, base.reached.step)


@pytest.mark.parametrize("engine", FULL_MODEL_ENGINES)
def test_a_shorter_run_is_the_prefix_of_a_longer_one(engine):
    """Smuggled copies' recipients and media are keyed by (day, copy): a run that stops at day
    60 equals the first 60 days of a run of 150 (issue 20, A4)."""
    population = PopulationConfig(n_agents=4000, n_regions=20).build(seed=2)
    params = Params(beta=0.05, gamma=0.02, delta=0.002, entry_rate=0.5,
                    mix={"usb": 0.6, "dvd": 0.4})  # fmt: skip
    short = simulate(population, params, seeds=3, rng=9, steps=60, engine=engine)
    long = simulate(population, params, seeds=3, rng=9, steps=150, engine=engine)
    assert short.entered.sum() > 15
    assert np.array_equal(long.counts[:61], short.counts)
    assert np.array_equal(long.entered[:61], short.entered)
    assert np.array_equal(long.region_counts[:61], short.region_counts)
    assert np.array_equal(long.medium_counts[:61], short.medium_counts)
    early = short.reached.step >= 0
    assert np.array_equal(long.reached.step[early], short.reached.step[early])
    assert np.array_equal(long.reached.medium[early], short.reached.medium[early])


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("order", [[0, 1], [1, 0]])
def test_two_holders_reaching_one_agent_give_the_lowest_holders_channel(engine, order):
    """Holders 0 and 1 both reach agent 2 in step 1 (beta = 1), 0 by a tie of kind 1 and 1 by a
    tie of kind 2: on every kernel agent 2's channel is the kind of holder 0's tie, in whatever
    order the holders are listed (issue 20, A5)."""
    net = Network.from_edges(3, [[0, 2], [1, 2]], kind=[1, 2])
    res = simulate(net, Params(beta=1.0, gamma=1.0), seeds=order, rng=1, engine=engine)
    assert res.reached.step[2] == 1
    assert res.reached.channel[2] == 1


@pytest.mark.parametrize("engine", ENGINES)
def test_holders_of_different_steps_reaching_one_agent_give_the_lowest_holders_channel(engine):
    """Gadgets of four: seeds A and S, S tied to B (kind 3), B to X (kind 1), A to X (kind 2),
    B's id below A's; every tie shares with probability 1/2 a step, no one stops. Where B was
    reached in step 1 and X in step 2, A (holding since step 0) and B (since step 1) each reached
    X in step 2 with probability 1/2, and on a tie B's lower id gives its channel: kind 1 in 2/3
    of those gadgets. Taking whichever of them was queued first (A's, a step earlier) would give
    1/3."""
    n = 2000
    b, x, a, s = (4 * np.arange(n) + i for i in range(4))
    edges = np.concatenate([np.column_stack(p) for p in ((s, b), (b, x), (a, x))])
    kinds = np.repeat([3, 1, 2], n)
    net = Network.from_edges(4 * n, edges, kind=kinds)
    res = simulate(net, Params(beta=0.5, gamma=0.0), seeds=np.sort(np.concatenate([a, s])),
                   rng=3, steps=3, engine=engine)  # fmt: skip
    tied = (res.reached.step[b] == 1) & (res.reached.step[x] == 2)
    share = np.mean(res.reached.channel[x[tied]] == 1)
    assert tied.sum() > 300
    assert abs(share - 2 / 3) < 4 * np.sqrt(2 / 9 / tied.sum())
