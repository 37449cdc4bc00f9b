"""Exact and equivalence checks of the mechanisms the published record asked for (docs/model.md,
"Who will watch", "Public punishment", "Markets", "Every medium watched"), on every kernel that
implements them: both kernels of the full model, calendar and step (each mechanism takes a run off
the SIR reduction, so the event kernel has none of them).

With sharing certain and nobody removed, who is reached is a question about the graph: the tests
compute the answer from the graph and the per-person draws and compare it with the run, agent by
agent. Where a draw remains, its count is binomial and is tested against that distribution.
"""

import numpy as np
import pytest
from scipy import sparse
from scipy.sparse import csgraph

from diffusion import Network, Params, simulate
from diffusion.entry import EntrySchedule
from diffusion.population import build_population
from diffusion.simulate import FULL_MODEL_ENGINES, willingness
from diffusion.streams import RunStreams
from diffusion.ties import CHANNELS, KIND
from diffusion.world import World

Z = 5.0


def path(n: int) -> Network:
    return Network.from_edges(n, np.column_stack([np.arange(n - 1), np.arange(1, n)]))


def triangle() -> Network:
    return Network.from_edges(3, np.array([[0, 1], [1, 2], [0, 2]]))


def reached_set(res) -> set[int]:
    return set(np.flatnonzero(res.reached.step >= 0).tolist())


# ------------------------------------------------------------------------------ willingness
@pytest.fixture(scope="module")
def er():
    return Network.erdos_renyi(3_000, mean_degree=3.0, seed=4)


@pytest.mark.parametrize("engine", FULL_MODEL_ENGINES)
def test_reach_is_the_accepting_part_of_the_seeds_component(engine, er):
    """beta = 1, nobody stops: the run reaches exactly the agents joined to a seed by a path whose
    every agent after the seed accepts (willingness > 0)."""
    params = Params(beta=1.0, gamma=0.0, refusal_market=0.4)
    seeds = [0, 1, 2, 3, 4]
    res = simulate(er, params, seeds=seeds, rng=7, steps=400, engine=engine)
    willing = willingness(World.of(er), params, RunStreams.of(7)) > 0
    keep = willing.copy()
    keep[seeds] = True
    adjacency = sparse.csr_matrix(
        (np.ones(len(er.neighbours)), er.neighbours, er.offsets), shape=(er.n_nodes,) * 2
    )
    inside = sparse.diags(keep.astype(float)) @ adjacency @ sparse.diags(keep.astype(float))
    _, label = csgraph.connected_components(inside, directed=False)
    expected = {int(a) for a in np.flatnonzero(np.isin(label, label[seeds]) & keep)}
    assert reached_set(res) == expected
    assert len(expected) < er.n_nodes * 0.9  # the refusals cut the giant component


def test_refusal_share_is_binomial_and_keyed_by_agent(er):
    """Each person refuses with its cohort's share, at an address of its own: a larger network
    under the same key gives its first agents the same willingness."""
    params = Params(beta=0.1, gamma=0.1, refusal_market=0.3, refusal_older=0.0)
    world = World.of(er)
    willing = willingness(world, params, RunStreams.of(3))
    n = er.n_nodes
    refused = int((willing == 0).sum())
    assert abs(refused - 0.3 * n) < Z * np.sqrt(n * 0.3 * 0.7)
    bigger = Network.erdos_renyi(n + 500, mean_degree=3.0, seed=9)
    assert np.array_equal(willingness(World.of(bigger), params, RunStreams.of(3))[:n], willing)


def test_refusal_follows_the_cohort():
    """Older agents refuse with refusal_older, the market generation with refusal_market."""
    pop = build_population(20_000, seed=3, regions="synthetic", n_regions=20, border_regions=2)
    params = Params(beta=0.1, gamma=0.1, refusal_older=1.0, refusal_market=0.0)
    willing = willingness(World.of(pop), params, RunStreams.of(1))
    older = np.asarray(pop.cohort) == 0
    assert older.any() and (~older).any()
    assert np.all(willing[older] == 0) and np.all(willing[~older] == 1)


def test_willingness_multiplier_is_the_beta_quantile_of_its_draw(er):
    """Beta(1, 1) (mean 0.5, concentration 2) is uniform: each multiplier is its own uniform,
    so the draw is checked bit for bit as well as in distribution."""
    params = Params(beta=0.1, gamma=0.1, willingness_mean=0.5, willingness_concentration=2.0)
    willing = willingness(World.of(er), params, RunStreams.of(5))
    from diffusion._media import willingness_uniforms

    u = willingness_uniforms(RunStreams.of(5).kernel_key(), er.n_nodes)[:, 1]
    assert np.allclose(willing, u.astype(np.float32), atol=1e-6)
    n = er.n_nodes
    assert abs(willing.mean() - 0.5) < Z * np.sqrt(1 / 12 / n)


@pytest.mark.parametrize("engine", FULL_MODEL_ENGINES)
def test_a_viewer_accepts_with_its_willingness(engine):
    """A star whose centre holds with beta = 1: a leaf is exposed in step 1 with probability
    equal to its multiplier (a Poisson-binomial count, tested against its mean and variance)."""
    leaves = 4_000
    star = Network.from_edges(
        leaves + 1, np.column_stack([np.zeros(leaves, int), 1 + np.arange(leaves)])
    )
    params = Params(beta=1.0, gamma=0.0, willingness_mean=0.3, willingness_concentration=3.0)
    res = simulate(star, params, seeds=[0], rng=11, steps=1, engine=engine)
    w = willingness(World.of(star), params, RunStreams.of(11))[1:].astype(float)
    count = res.reach[1] - 1
    assert abs(count - w.sum()) < Z * np.sqrt((w * (1 - w)).sum())


# ------------------------------------------------------------------------------ public trials
@pytest.mark.parametrize("engine", FULL_MODEL_ENGINES)
def test_a_public_trial_is_witnessed_by_every_resident_with_attendance_one(engine):
    """The seed is detected in step 1 (delta = 1) and tried in public: all 50 agents of the one
    region witness it in step 1; one trial is counted."""
    params = Params(beta=1.0, gamma=0.0, delta=1.0, p_public=1.0, attendance=1.0)
    res = simulate(path(50), params, seeds=[0], rng=1, steps=3, engine=engine)
    assert np.all(res.reached.witnessed == 1)
    assert res.public_trials.tolist() == [0, 1, 1, 1]  # holders 1, 2, 3 are tried in turn


@pytest.mark.parametrize("engine", FULL_MODEL_ENGINES)
def test_without_public_trials_nobody_witnesses(engine):
    params = Params(beta=1.0, gamma=0.0, delta=1.0, p_public=0.0, attendance=1.0)
    res = simulate(path(50), params, seeds=[0], rng=1, steps=3, engine=engine)
    assert res.reached.witnessed is None
    assert res.public_trials.sum() == 0


@pytest.mark.parametrize("engine", FULL_MODEL_ENGINES)
def test_attendance_is_binomial_per_trial(engine):
    """One trial in a region of 20,000 agents with attendance 0.3: the witnesses of step 1."""
    n = 20_000
    params = Params(beta=0.0, gamma=0.0, delta=1.0, p_public=1.0, attendance=0.3)
    res = simulate(path(n), params, seeds=[0], rng=2, steps=1, engine=engine)
    count = int((res.reached.witnessed == 1).sum())
    assert abs(count - 0.3 * n) < Z * np.sqrt(n * 0.3 * 0.7)


@pytest.mark.parametrize("k", [0, 1, 5])
@pytest.mark.parametrize("engine", FULL_MODEL_ENGINES)
def test_deterrence_stops_acceptance_for_its_days(engine, k):
    """The seed is detected on day 1 (a one-day campaign) and tried in public; with deterrence 0
    nobody in the region accepts on days 2..k + 1, then the path fills one agent a day."""
    params = Params(
        beta=1.0,
        gamma=0.0,
        delta=0.0,
        campaigns=[{"start": 1, "end": 1, "delta": 1.0}],
        p_public=1.0,
        deterrence=0.0,
        deterrence_steps=k,
    )
    res = simulate(path(60), params, seeds=[0], rng=1, steps=30, engine=engine)
    t = np.arange(31)
    expected = np.where(t <= k + 1, np.minimum(t + 1, 2), t - k + 1)
    assert np.array_equal(res.reach, expected)


@pytest.mark.parametrize("engine", FULL_MODEL_ENGINES)
def test_public_trials_follow_their_dated_schedule(engine):
    """p_public 0 before step 5 and 1 from it: only detections from step 5 on are public."""
    params = Params(beta=1.0, gamma=0.0, delta=1.0, p_public=0.0, public=[{"start": 5, "p": 1.0}])
    res = simulate(path(30), params, seeds=[0], rng=1, steps=8, engine=engine)
    assert res.public_trials.tolist() == [0, 0, 0, 0, 0, 1, 1, 1, 1]


# ------------------------------------------------------------------------------ markets
@pytest.fixture(scope="module")
def market_pop():
    return build_population(20_000, seed=5, regions="synthetic", n_regions=10, border_regions=2)


def market_customers(pop, traders):
    net = pop.network
    found = set()
    for trader in traders:
        row = slice(net.offsets[trader], net.offsets[trader + 1])
        ties = net.neighbours[row][net.kind[row] == KIND["market"]]
        found.update(int(c) for c in ties)
    return found - set(int(t) for t in traders)


@pytest.mark.parametrize("medium", ["usb", "dvd"])
@pytest.mark.parametrize("engine", FULL_MODEL_ENGINES)
def test_traders_sell_or_rent_to_every_customer_at_rate_one(engine, market_pop, medium):
    """No sharing (beta = 0), market_rate = 1: in step 1 the seed traders reach exactly their
    market customers, through the market_sale channel. A copied medium is bought (the customer
    holds a copy); a lent disc is rented (the customer watches, the trader keeps the disc)."""
    traders = np.flatnonzero(market_pop.trader)[:40]
    params = Params(beta=0.0, gamma=0.0, market_rate=1.0, mix={medium: 1.0})
    res = simulate(market_pop, params, seeds=traders, rng=3, steps=1, engine=engine)
    customers = market_customers(market_pop, traders)
    new = set(np.flatnonzero(res.reached.step == 1).tolist())
    assert new == customers and customers
    assert np.all(res.reached.channel[list(new)] == CHANNELS.index("market_sale"))
    holders, watchers = res.counts[1, 2], res.counts[1, 1]
    if medium == "usb":
        assert (holders, watchers) == (len(traders) + len(customers), 0)
    else:
        assert (holders, watchers) == (len(traders), len(customers))
        assert res.lent_copies[:, res.media.index("dvd")].tolist() == [len(traders)] * 2


@pytest.mark.parametrize("engine", FULL_MODEL_ENGINES)
def test_customers_do_not_sell(engine, market_pop):
    """A holder who is not a trader sells nothing, even over its own market tie."""
    traders = set(np.flatnonzero(market_pop.trader).tolist())
    customers = sorted(market_customers(market_pop, list(traders)[:40]) - traders)[:40]
    params = Params(beta=0.0, gamma=0.0, market_rate=1.0)
    res = simulate(market_pop, params, seeds=customers, rng=3, steps=2, engine=engine)
    assert res.reach[-1] == len(customers)


@pytest.mark.parametrize("engine", FULL_MODEL_ENGINES)
def test_sales_are_binomial_in_the_rate(engine, market_pop):
    traders = np.flatnonzero(market_pop.trader)[:100]
    customers = market_customers(market_pop, traders)
    p = 0.2
    params = Params(beta=0.0, gamma=0.0, market_rate=p)
    res = simulate(market_pop, params, seeds=traders, rng=8, steps=1, engine=engine)
    count = res.reach[1] - len(traders)
    n = len(customers)
    # a customer of two seed traders gets two chances: bound the mean between n p and n (2p - p^2)
    assert n * p - Z * np.sqrt(n * p) < count < n * (2 * p - p * p) + Z * np.sqrt(n * p)


# ------------------------------------------------------------------------------ media seen
@pytest.mark.parametrize("engine", FULL_MODEL_ENGINES)
def test_every_medium_watched_is_recorded_including_by_the_informed(engine):
    """Triangle, copies placed on day 1: agent 0 a USB drive, agent 1 a microSD card. In step 1
    each shows its medium to both others: 0 and 1, already holders, watch the other's medium,
    and 2 watches both (exposed by the first, then shown the second). Every agent has seen both;
    agent 2 keeps the USB copy it was first exposed to."""
    params = Params(beta=1.0, gamma=0.0, mix={"usb": 1.0})
    names = params.media_names
    usb, sd = names.index("usb"), names.index("microsd")
    entry = EntrySchedule.from_arrivals(2, [1, 1], [0, 1], [usb, sd])
    res = simulate(triangle(), params, seeds=[], rng=1, steps=2, entry=entry, engine=engine)
    both = (1 << usb) | (1 << sd)
    assert res.reached.seen.tolist() == [both, both, both]
    assert res.reached.medium[2] == usb
    assert res.region_seen[1, 0].tolist() == [3 if m in (usb, sd) else 0 for m in range(len(names))]
    assert res.region_seen[0, 0].sum() == 0


@pytest.mark.parametrize("engine", FULL_MODEL_ENGINES)
def test_seen_counts_match_the_per_person_bits(engine, market_pop):
    """The per-region counts of the last step are the per-person bits summed by region, and the
    first medium of everyone reached is among the media it saw."""
    params = Params(
        beta=0.05, gamma=0.1, delta=0.01, mode="group", host_prob=0.5, mix={"usb": 1, "dvd": 1}
    )
    res = simulate(market_pop, params, seeds=50, rng=4, steps=60, engine=engine)
    seen = res.reached.seen
    region = np.asarray(market_pop.region, dtype=np.int64)
    for m in range(len(res.media)):
        has = (seen >> m) & 1
        assert np.array_equal(
            np.bincount(region, weights=has, minlength=market_pop.n_regions),
            res.region_seen[-1, :, m],
        )
    informed = res.reached.step >= 0
    first = (seen[informed] >> res.reached.medium[informed].astype(np.uint32)) & 1
    assert np.all(first == 1)
    assert np.all(seen[~informed] == 0)
    assert (np.bitwise_count(seen[informed]) > 1).any()  # some watched both media


def test_willingness_draws_are_the_kernels_addresses():
    """The kernel's per-person draws equal the numpy Philox of ``diffusion.streams`` at address
    (agent, step 0, WILLING = 6 in rng.pxd, other 0): both lay out the counter alike."""
    from diffusion._media import willingness_uniforms

    from diffusion.streams import addressed_uniforms

    key = RunStreams.of(21).kernel_key()
    agents = np.arange(1_000)
    kernel = willingness_uniforms(key, len(agents))
    assert np.array_equal(kernel, addressed_uniforms(key, agents, 0, 6)[:, :2])


@pytest.mark.parametrize("engine", FULL_MODEL_ENGINES)
def test_informed_members_of_a_viewing_record_its_medium(engine, market_pop):
    """Viewings only (beta = 0): a second medium can be recorded only by a member who was
    already informed (or exposed) when a viewing showed it, so bits beyond the first medium come
    from that branch; and every such member's bits include its first medium."""
    params = Params(beta=0.0, gamma=0.02, mode="group", host_prob=1.0, mix={"usb": 1, "microsd": 1})
    res = simulate(market_pop, params, seeds=200, rng=5, steps=40, engine=engine)
    seen = res.reached.seen
    assert (np.bitwise_count(seen) > 1).sum() > 100
