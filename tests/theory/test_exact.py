"""Exact checks of the step order and of per-step probabilities, on every kernel that has them.

With sharing certain (beta = 1) and removal certain (gamma = 1 or delta = 1) a run on a path is
deterministic, so its counts are known step by step: a step taken early or late, a holder acting
one step too soon or too late, or a campaign off by one changes them. Where draws remain, the
counts of a step are binomial given the step before, and are tested against that distribution.
"""

import numpy as np
import pytest

import diffusion
from diffusion import Network, Params, simulate
from diffusion.simulate import FULL_MODEL_ENGINES

ENGINES = ["event", *FULL_MODEL_ENGINES]
Z = 5.0  # per-run z bound: with a handful of such tests the chance of a false alarm is < 1e-5


def path(n: int) -> Network:
    return Network.from_edges(n, np.column_stack([np.arange(n - 1), np.arange(1, n)]))


def star(leaves: int) -> Network:
    return Network.from_edges(
        leaves + 1, np.column_stack([np.zeros(leaves, int), 1 + np.arange(leaves)])
    )


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(("gamma", "delta", "removed"), [(1.0, 0.0, 3), (0.0, 1.0, 4)])
def test_a_path_is_informed_one_agent_per_step(engine, gamma, delta, removed):
    """Seed 0 on a path of 50: in step t agent t - 1 shares with agent t and is removed (R when it
    ceases, D when it is detected); agent 49 is removed in step 50 and the run ends there."""
    n = 50
    res = simulate(
        path(n), Params(beta=1.0, gamma=gamma, delta=delta), seeds=[0], rng=1, engine=engine
    )
    assert res.steps == n
    t = np.arange(n + 1)
    assert np.array_equal(res.reach, np.minimum(t + 1, n))
    assert np.array_equal(res.counts[:, 2], (t < n).astype(int))  # one holder until the end
    assert np.array_equal(res.counts[:, removed], t)
    assert np.array_equal(res.new_detections[1:], np.full(n, delta, dtype=int))
    summary = res.summary()
    assert summary["steps_to_half_reach"] == n // 2 - 1  # reach t + 1 >= 25 first at t = 24
    assert (summary["peak_holders"], summary["peak_step"]) == (1, 0)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_one_step_campaign_detects_every_holder_of_its_step(engine):
    """Nobody ceases and the baseline detects nobody: holders 0..9 accumulate on the path until
    the campaign of step 10 (delta = 1) detects all ten; agent 10, exposed in step 10, holds on."""
    params = Params(
        beta=1.0, gamma=0.0, delta=0.0, campaigns=[{"start": 10, "end": 10, "delta": 1}]
    )
    res = simulate(path(30), params, seeds=[0], rng=1, steps=20, engine=engine)
    assert np.array_equal(np.flatnonzero(res.new_detections), [10])
    assert res.new_detections[10] == 10
    assert res.counts[10].tolist() == [30 - 11, 0, 1, 0, 10]
    assert res.counts[20].tolist() == [30 - 21, 0, 11, 0, 10]


@pytest.mark.parametrize("medium", ["usb", "dvd"])
@pytest.mark.parametrize("engine", FULL_MODEL_ENGINES)
def test_a_host_is_detected_in_the_step_it_shares_whatever_its_medium(engine, medium):
    """A star's centre shares with its 10 leaves (beta 1) and is detected (delta 1) in step 1.
    A USB host's viewers keep copies (p_copy 1); a DVD host held its disc when the step began, so
    the disc it was lending is seized with it and every leaf has only watched."""
    params = Params(beta=1.0, gamma=0.0, delta=1.0, mix={medium: 1})
    res = simulate(star(10), params, seeds=[0], rng=3, steps=1, engine=engine)
    holders = 0 if medium == "dvd" else 10
    assert res.final == {"S": 0, "W": 10 - holders, "I": holders, "R": 0, "D": 1}
    assert not res.lent_copies[-1].any()


@pytest.mark.parametrize(
    ("engine", "medium"),
    [("event", "usb"), *((engine, m) for engine in FULL_MODEL_ENGINES for m in ("usb", "dvd"))],
)
def test_every_holder_faces_detection_each_step(engine, medium):
    """new_D(t) ~ Binomial(I(t - 1), delta * concealment): lenders included, summed over steps."""
    delta, concealment = 0.01, 1.5
    media = {medium: {"concealment": concealment}}
    params = Params(beta=0.3, gamma=0.05, delta=delta, media=media, mix={medium: 1})
    p = delta * concealment
    net = Network.erdos_renyi(50_000, 6, seed=4)
    res = simulate(net, params, seeds=200, rng=8, steps=80, engine=engine)
    at_risk = res.counts[:-1, 2].sum()
    observed = res.new_detections[1:].sum()
    assert at_risk > 5_000
    assert abs(observed - at_risk * p) < Z * np.sqrt(at_risk * p * (1 - p)), (observed, at_risk * p)


@pytest.mark.parametrize("engine", FULL_MODEL_ENGINES)
def test_smuggled_copies_act_in_the_step_they_arrive(engine):
    """An entering copy is held from the start of its step: with delta = 1 its recipient is
    detected in that step, with gamma = 1 (and no detection) it ceases in that step. Copies go to
    any of ~10,000 border agents, so with this seed no agent receives two (which would make the
    counts differ by design, not by a bug)."""
    pop = diffusion.build_population(
        100_000, seed=3, n_regions=20, regions="synthetic", border_regions=2
    )
    entry = {"entry_rate": 1.0, "entry_trader_share": 0.0}
    detect = Params(beta=0.0, gamma=0.0, delta=1.0, **entry)
    res = simulate(pop, detect, seeds=0, rng=5, steps=40, engine=engine)
    assert res.entered.sum() > 20
    assert np.array_equal(res.new_detections, res.entered)
    cease = Params(beta=0.0, gamma=1.0, delta=0.0, **entry)
    res = simulate(pop, cease, seeds=0, rng=5, steps=40, engine=engine)
    assert np.array_equal(np.diff(res.counts[:, 3]), res.entered[1:])
    assert not res.counts[:, 2].any()


@pytest.mark.parametrize("engine", FULL_MODEL_ENGINES)
def test_entry_needs_border_regions(engine):
    pop = diffusion.build_population(
        2_000, seed=1, n_regions=4, regions="synthetic", border_regions=0
    )
    with pytest.raises(ValueError, match="entry_rate: .*border regions"):
        simulate(
            pop, Params(beta=0.1, gamma=0.1, entry_rate=1.0), seeds=0, rng=1, steps=5, engine=engine
        )


@pytest.mark.parametrize(
    "never_detected",
    [
        {"media": {"usb": {"concealment": 0.0}}},
        {"p_bribe": 1.0},
        {"mix": {"usb": 1, "dvd": 1}, "media": {"dvd": {"concealment": 0}}},
    ],
)
def test_a_run_that_can_never_end_is_refused(never_detected):
    """gamma = 0 and a medium in use is never detected after concealment and bribes: holders of
    it never stop, so a run without a step limit is refused on every kernel that can run it."""
    params = Params(beta=0.1, gamma=0.0, delta=0.1, **never_detected)
    assert not params.holders_stop()
    for engine in ENGINES if params.reduces_to_sir() else FULL_MODEL_ENGINES:
        with pytest.raises(ValueError, match="steps: required when holders never stop"):
            simulate(path(10), params, seeds=[0], rng=1, engine=engine)
