"""Exact tests of the kernels' bookkeeping, on every kernel that has each behaviour.

Each test builds a run whose every outcome is forced (probabilities 0 or 1, tiny graphs, copies
placed by hand) or computed draw by draw from the addressed generator, and checks the counts or
per-agent records exactly: a lent object seized with its holder, the medium whose concealment a
detection uses, the implication cascade through the audience of an implicated holder, the
channel of a viewing, the ceasing of lent-media holders, the channel of a viewer who keeps no
copy, and the layout of an addressed draw's counter (issue 20, B).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from diffusion import Network, Params, build_population, simulate
from diffusion.entry import EntrySchedule
from diffusion.simulate import FULL_MODEL_ENGINES
from diffusion.streams import RunStreams, addressed_uniforms
from diffusion.ties import KIND
from diffusion.world import World

ENGINES = ["event", *FULL_MODEL_ENGINES]
HOLDER, HOLDER_STEP, KEEP_COPY, IMPLICATE, CLOCK = 1, 2, 4, 5, 10  # kernels/rng.pxd's purposes
DETECT_CLOCK = 0  # kernels/media.pyx: the calendar's detection clock (the address's last word)
HIDDEN_AND_OPEN = {"hidden": {"concealment": 0.0}, "open": {"concealment": 1.0}}


def pairs(n_pairs: int) -> Network:
    """Agents 2k and 2k + 1 tied, pair by pair, nothing else."""
    first = np.arange(0, 2 * n_pairs, 2)
    return Network.from_edges(2 * n_pairs, np.column_stack([first, first + 1]))


def placed(steps: int, *copies: tuple[int, int, int]) -> EntrySchedule:
    """Copies (step, agent, medium index) placed by hand."""
    step, agent, medium = zip(*copies, strict=True)
    return EntrySchedule.from_arrivals(steps, step, agent, medium)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_detection_is_addressed_by_holder_step_and_purpose(engine):
    """Holders 0, 2, 4, ... each tied to one partner; nothing spreads (beta = 0) and a holder is
    detected in step 1 exactly when its first draw, at (holder, step, purpose, 0) under the
    run's kernel key, is below delta: the event kernel draws at step 0 under HOLDER, the step
    kernel at step 1 under HOLDER_STEP, the calendar kernel its detection clock from step 1
    under CLOCK (one day left: the clock fires in step 1 exactly when its first uniform is below
    delta). The partners' tie_detected says which holders were; any other layout of the counter
    (fields swapped, purpose dropped) picks other holders."""
    n = 400
    holders = np.arange(0, n, 2)
    res = simulate(pairs(n // 2), Params(beta=0.0, gamma=0.0, delta=0.5), seeds=holders, rng=21,
                   steps=1, engine=engine)  # fmt: skip
    key = RunStreams.of(21).kernel_key()
    step, purpose, other = {"event": (0, HOLDER, 0), "step": (1, HOLDER_STEP, 0),
                            "calendar": (1, CLOCK, DETECT_CLOCK)}[engine]  # fmt: skip
    expected = addressed_uniforms(key, holders, step, purpose, other)[:, 0] < 0.5
    assert 60 < expected.sum() < 140
    assert np.array_equal(res.reached.tie_detected[holders + 1] == 1, expected)
    assert res.counts[1, 4] == expected.sum()


@pytest.mark.parametrize("engine", FULL_MODEL_ENGINES)
def test_a_seized_disc_leaves_circulation_and_a_lent_one_goes_with_its_lender(engine):
    """DVDs: agent 0 holds one and shows it to 1 (beta = 1) while being detected (delta = 1): the
    disc is seized, 1 has only watched, no disc circulates. Agent 2 holds one and is never detected
    (concealment 0 on its medium): its disc moves to 3 and stays one."""
    params = Params(beta=1.0, gamma=0.0, delta=1.0, p_implicate=0.0,
                    media={"hidden": {"spread": "lent", "concealment": 0.0}})  # fmt: skip
    dvd, hidden = params.media_names.index("dvd"), params.media_names.index("hidden")
    net = pairs(2)
    res = simulate(net, params, seeds=[], rng=1, steps=2,
                   entry=placed(2, (1, 0, dvd), (1, 2, hidden)), engine=engine)  # fmt: skip
    assert res.lent_copies[:, dvd].tolist() == [0, 0, 0]
    assert res.lent_copies[:, hidden].tolist() == [0, 1, 1]
    # step 1: 0 detected (D), 1 watched (W); 2 lent its disc to 3 (2 recovered, 3 holds)
    assert res.counts[1].tolist() == [0, 1, 1, 1, 1]
    assert res.medium_counts[1, dvd].tolist() == [0, 1, 0, 0, 1]
    assert res.medium_counts[1, hidden].tolist() == [0, 0, 1, 1, 0]


@pytest.mark.parametrize("engine", FULL_MODEL_ENGINES)
def test_a_detected_disc_holder_who_lent_nothing_loses_the_disc(engine):
    """30 isolated DVD holders, all detected in step 1 (delta = 1), none lending (no ties): the 30
    discs are seized, none circulates."""
    params = Params(beta=1.0, gamma=0.0, delta=1.0)
    dvd = params.media_names.index("dvd")
    net = Network.from_edges(30, np.zeros((0, 2), int))
    res = simulate(net, params, seeds=[], rng=8, steps=2,
                   entry=placed(2, *[(1, a, dvd) for a in range(30)]), engine=engine)  # fmt: skip
    assert res.lent_copies[:, dvd].tolist() == [0, 0, 0]
    assert res.counts[1].tolist() == [0, 0, 0, 0, 30]


@pytest.mark.parametrize("engine", FULL_MODEL_ENGINES)
def test_a_detection_uses_the_concealment_of_the_holders_medium(engine):
    """100 isolated holders of a medium of concealment 0 and 100 of one of concealment 1, delta = 1:
    exactly the second hundred is detected in step 1."""
    params = Params(beta=0.0, gamma=0.0, delta=1.0, media=HIDDEN_AND_OPEN)
    hidden, open_ = params.media_names.index("hidden"), params.media_names.index("open")
    copies = [(1, a, hidden) for a in range(100)] + [(1, a, open_) for a in range(100, 200)]
    net = Network.from_edges(200, np.zeros((0, 2), int))
    res = simulate(net, params, seeds=[], rng=2, steps=1, entry=placed(1, *copies), engine=engine)
    assert res.medium_counts[1, hidden].tolist() == [0, 0, 100, 0, 0]
    assert res.medium_counts[1, open_].tolist() == [0, 0, 0, 0, 100]


@pytest.mark.parametrize("engine", FULL_MODEL_ENGINES)
def test_the_implication_cascade_reaches_the_audience_of_an_implicated_holder(engine):
    """Path 0 - 1 - 2: 0 holds an open medium, 1 a hidden one (concealment 0), and in step 1 agent 1
    shows its copy to 2 (beta = 1). 0 is detected (delta = 1) and implicates (p_implicate = 1) its
    holding neighbour 1, whose audience of the step, 2, is implicated in turn: all three are
    detected in step 1."""
    params = Params(beta=1.0, gamma=0.0, delta=1.0, p_implicate=1.0, media=HIDDEN_AND_OPEN)
    hidden, open_ = params.media_names.index("hidden"), params.media_names.index("open")
    net = Network.from_edges(3, [[0, 1], [1, 2]])
    res = simulate(net, params, seeds=[], rng=3, steps=1,
                   entry=placed(1, (1, 0, open_), (1, 1, hidden)), engine=engine)  # fmt: skip
    assert res.counts[1].tolist() == [0, 0, 0, 0, 3]
    assert res.new_detections.tolist() == [0, 3]
    # without implication, 2 keeps the copy 1 showed it and 1 is never detected
    alone = simulate(net, params.model_copy(update={"p_implicate": 0.0}), seeds=[], rng=3,
                     steps=1, entry=placed(1, (1, 0, open_), (1, 1, hidden)),
                     engine=engine)  # fmt: skip
    assert alone.counts[1].tolist() == [0, 0, 2, 0, 1]


@pytest.mark.parametrize("engine", FULL_MODEL_ENGINES)
def test_implication_is_addressed_by_detected_agent_step_and_other_and_bribes_halve_it(engine):
    """A star (both full-model kernels share the cascade): the hub holds an open medium (concealment
    2: delta * 2 * (1 - p_bribe) = 1, detected in step 1), 200 leaves hold hidden ones (never
    detected themselves). Each leaf is implicated exactly when the draw at (hub, 1, IMPLICATE, leaf)
    is below p_implicate * (1 - p_bribe) = 0.5."""
    media = {"hidden": {"concealment": 0.0}, "open": {"concealment": 2.0}}
    params = Params(beta=0.0, gamma=0.0, delta=1.0, p_implicate=1.0, p_bribe=0.5, media=media)
    hidden, open_ = params.media_names.index("hidden"), params.media_names.index("open")
    leaves = np.arange(1, 201)
    net = Network.from_edges(201, np.column_stack([np.zeros(200, int), leaves]))
    copies = [(1, 0, open_)] + [(1, int(a), hidden) for a in leaves]
    res = simulate(net, params, seeds=[], rng=9, steps=1, entry=placed(1, *copies), engine=engine)
    key = RunStreams.of(9).kernel_key()
    implicated = addressed_uniforms(key, 0, 1, IMPLICATE, leaves)[:, 0] < 0.5
    assert 60 < implicated.sum() < 140
    assert res.counts[1].tolist() == [0, 0, 200 - implicated.sum(), 0, 1 + implicated.sum()]


@pytest.mark.parametrize("engine", FULL_MODEL_ENGINES)
def test_a_viewing_records_the_kind_of_the_group_that_viewed(engine):
    """Group mode, only viewings (beta = 0, host_prob = 1): one holder hosts one viewing in step 1,
    so everyone reached in step 1 belongs to one of its groups, and each one's channel is that
    group's kind."""
    population = build_population(3000, seed=4, n_regions=12)
    params = Params(beta=0.0, gamma=0.0, delta=0.0, mode="group", host_prob=1.0)
    seed = 17
    res = simulate(population, params, seeds=[seed], rng=5, steps=1, engine=engine)
    agents = World.of(population).agents
    reached = np.flatnonzero(res.reached.step == 1)
    assert len(reached) >= 2
    start, end = agents["agent_group_offsets"][seed], agents["agent_group_offsets"][seed + 1]
    groups = agents["agent_groups"][start:end]
    offsets, members_of = agents["group_offsets"], agents["group_members"]
    members = {int(g): set(members_of[offsets[g] : offsets[g + 1]].tolist()) for g in groups}
    (viewed,) = [g for g, who in members.items() if set(reached.tolist()) <= who]
    assert agents["group_kind"][viewed] == KIND["circle"]  # not the holder's first group
    assert agents["group_kind"][agents["agent_groups"][start]] == KIND["household"]
    assert (res.reached.channel[reached] == agents["group_kind"][viewed]).all()


@pytest.mark.parametrize("engine", FULL_MODEL_ENGINES)
def test_group_mode_shares_tie_by_tie_along_every_tie_not_grouped_and_no_other(engine):
    """Group mode without viewings (host_prob = 0), every tie of trust 1 and beta = 1: in one
    step, 300 holders share along each of their market and trade ties for sure and along no
    household or circle tie. Those reached are exactly the susceptible neighbours over such
    ties, each with that tie's kind as its channel."""
    built = build_population(3000, seed=4, n_regions=12)
    net = built.network
    trusted = Network(net.offsets, net.neighbours, np.ones_like(net.trust), net.kind)
    population = dataclasses.replace(built, network=trusted)
    params = Params(beta=1.0, gamma=0.0, delta=0.0, mode="group", host_prob=0.0)
    seeds = np.arange(0, 3000, 10)
    res = simulate(population, params, seeds=seeds, rng=5, steps=1, engine=engine)
    over = {}  # agent -> kinds of the ties not grouped that lead to it from a holder
    for holder in seeds:
        row = slice(net.offsets[holder], net.offsets[holder + 1])
        for other, kind in zip(net.neighbours[row], net.kind[row], strict=True):
            if kind in (KIND["market"], KIND["trade"]) and other % 10:
                over.setdefault(int(other), set()).add(int(kind))
    reached = np.flatnonzero(res.reached.step == 1)
    assert len(over) >= 100
    assert set(reached.tolist()) == set(over)
    for agent in reached:
        assert res.reached.channel[agent] in over[int(agent)], agent


@pytest.mark.parametrize("gamma", [0.0, 1.0])
@pytest.mark.parametrize("engine", FULL_MODEL_ENGINES)
def test_a_lent_media_holder_ceases_and_its_disc_is_shelved(engine, gamma):
    """50 isolated DVD holders, no detection. With gamma = 1 every one stops holding in step 1 (R)
    and its disc stays in circulation (shelved); with gamma = 0 all hold."""
    params = Params(beta=0.0, gamma=gamma, delta=0.0)
    dvd = params.media_names.index("dvd")
    net = Network.from_edges(50, np.zeros((0, 2), int))
    res = simulate(net, params, seeds=[], rng=6, steps=2,
                   entry=placed(2, *[(1, a, dvd) for a in range(50)]), engine=engine)  # fmt: skip
    assert res.lent_copies[:, dvd].tolist() == [0, 50, 50]
    holding = [0, 0, 0] if gamma else [0, 50, 50]
    assert res.counts[:, 2].tolist() == holding
    assert res.counts[:, 3].tolist() == ([0, 50, 50] if gamma else [0, 0, 0])


@pytest.mark.parametrize("engine", ENGINES)
def test_the_viewers_who_keep_a_copy_share_on_and_no_one_else_does(engine):
    """Hub 0 tied to agents 1..k, each with a leaf of its own (k + i); every tie shares in the
    first step (beta = gamma = 1). A viewer keeps a copy when its draw at (viewer, step 1,
    KEEP_COPY, 0) is below p_copy: exactly the leaves of those who kept one are reached, in step
    2, and no watcher's leaf is (nor a leaf of a holder passed over). Enough viewers that the
    event kernel sorts the step's new holders (kernels/sir.pyx, SORT_FROM)."""
    k = 10_000
    viewers = np.arange(1, k + 1)
    edges = np.vstack([np.column_stack([np.zeros(k, int), viewers]),
                       np.column_stack([viewers, viewers + k])])  # fmt: skip
    params = Params(beta=1.0, gamma=1.0, delta=0.0, media={"usb": {"p_copy": 0.5}})
    res = simulate(Network.from_edges(2 * k + 1, edges), params, seeds=[0], rng=5, engine=engine)
    kept = addressed_uniforms(RunStreams.of(5).kernel_key(), viewers, 1, KEEP_COPY)[:, 0] < 0.5
    assert 4_700 < kept.sum() < 5_300
    assert res.reached.step[viewers].tolist() == [1] * k
    assert res.reached.step[viewers + k].tolist() == np.where(kept, 2, -1).tolist()


@pytest.mark.parametrize("engine", ENGINES)
def test_a_viewer_who_keeps_no_copy_records_the_channel_it_came_through(engine):
    """A star of ties of kind 1 (hub 0) and kind 2 (leaf 1 also tied to 2): p_copy = 0, so every
    viewer only watches; each still records the kind of tie that reached it."""
    edges = [[0, 1], [0, 3], [0, 4], [1, 2]]
    net = Network.from_edges(5, edges, kind=[1, 1, 1, 2])
    params = Params(beta=1.0, gamma=1.0, delta=0.0, media={"usb": {"p_copy": 0.0}})
    res = simulate(net, params, seeds=[0], rng=7, engine=engine)
    assert res.reached.step.tolist() == [0, 1, -1, 1, 1]
    assert res.reached.channel[[1, 3, 4]].tolist() == [1, 1, 1]
    assert res.counts[-1].tolist() == [1, 3, 0, 1, 0]
