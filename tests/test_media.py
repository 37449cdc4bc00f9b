"""The full media model, on both of its kernels (calendar and step): invariants and the direction
of every mechanism.

Direction tests compare two settings over independent replicates and require the difference of
means to exceed Z standard errors of that difference (Welch), so they fail only when the
mechanism does not act as specified (or with probability ~1e-5 by chance, fixed by the seeds).
"""

import numpy as np
import pytest

import diffusion
from diffusion import Network, Params, simulate
from diffusion.simulate import FULL_MODEL_ENGINES

Z = 4.0
REPLICATES = 12


@pytest.fixture(scope="module")
def net() -> Network:
    return Network.erdos_renyi(20_000, 8, seed=11)


BASE = {"beta": 0.08, "gamma": 0.2, "delta": 0.02}


def replicate(net, metric, engine, steps=None, seeds=10, **changes):
    """``metric`` of REPLICATES runs of BASE with ``changes`` on kernel ``engine``."""
    params = Params(**{**BASE, **changes})
    return np.array(
        [
            metric(simulate(net, params, seeds=seeds, rng=1000 + i, steps=steps, engine=engine))
            for i in range(REPLICATES)
        ],
        dtype=float,
    )


def assert_same(a, b):
    """Two settings that are the same process: their means differ by less than Z standard errors
    of the difference (two-sided, so a parameter dropped on one side shows as a difference)."""
    se = np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
    assert abs(a.mean() - b.mean()) < Z * se, (a.mean(), b.mean(), se)


def assert_greater(a, b):
    """Mean of a exceeds mean of b by more than Z standard errors of the difference."""
    se = np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
    assert a.mean() - b.mean() > Z * se, (a.mean(), b.mean(), se)


def detected(res):
    return res.final["D"]


def reach(res):
    return res.reach[-1]


@pytest.mark.parametrize("engine", FULL_MODEL_ENGINES)
def test_full_model_kernel_agrees_with_event_kernel(net, engine):
    """Each full-model kernel and the event kernel sample the same reduction: final reach and
    detections agree in mean."""
    for metric in (reach, detected):
        full = replicate(net, metric, engine)
        params = Params(**BASE)
        event = np.array(
            [
                metric(simulate(net, params, seeds=10, rng=5000 + i, engine="event"))
                for i in range(REPLICATES)
            ],
            dtype=float,
        )
        se = np.sqrt(full.var(ddof=1) / REPLICATES + event.var(ddof=1) / REPLICATES)
        assert abs(full.mean() - event.mean()) < Z * se


@pytest.mark.parametrize("engine", FULL_MODEL_ENGINES)
def test_counts_sum_to_n_and_media_add_up(engine, net):
    res = simulate(
        net,
        Params(**BASE, mix={"usb": 1, "dvd": 1}, p_implicate=0.3),
        seeds=40,
        rng=3,
        engine=engine,
    )
    assert np.all(res.counts.sum(axis=1) == net.n_nodes)
    assert np.array_equal(res.region_counts.sum(axis=1), res.counts)
    assert np.array_equal(res.medium_holders.sum(axis=1), res.counts[:, 2])
    assert np.array_equal(res.medium_counts.sum(axis=1)[:, 1:], res.counts[:, 1:])
    assert np.all(res.medium_counts[:, :, 0] == 0) and res.medium_counts[-1, 1].sum() > 0
    assert np.array_equal(np.cumsum(res.new_detections), res.counts[:, 4])


@pytest.mark.parametrize("engine", FULL_MODEL_ENGINES)
def test_dvd_discs_change_only_by_confiscation(engine, net):
    """Lending moves a disc, it never copies it: without detection the disc count is constant."""
    params = Params(beta=0.3, gamma=0.05, mix={"dvd": 1})
    res = simulate(net, params, seeds=30, rng=4, steps=80, engine=engine)
    dvd = res.media.index("dvd")
    discs = res.lent_copies[:, dvd]
    assert np.all(discs == 30) and not np.delete(res.lent_copies, dvd, axis=1).any()
    assert res.medium_holders.sum(axis=1).max() == res.medium_holders[:, dvd].max() <= 30
    assert res.reach[-1] > 300  # discs travelled: far more watched than were seeded
    caught = simulate(
        net, params.model_copy(update={"delta": 0.05}), seeds=30, rng=4, steps=80, engine=engine
    )
    lost = -np.diff(caught.lent_copies[:, dvd])
    assert np.all(lost >= 0) and np.all(lost <= caught.new_detections[1:])
    assert caught.lent_copies[-1, dvd] < 30


@pytest.mark.parametrize("engine", FULL_MODEL_ENGINES)
def test_concealment_lowers_detections(net, engine):
    loud = replicate(net, detected, engine, media={"usb": {"concealment": 1.0}})
    hidden = replicate(net, detected, engine, media={"usb": {"concealment": 0.3}})
    assert_greater(loud, hidden)


@pytest.mark.parametrize("engine", FULL_MODEL_ENGINES)
def test_bribes_lower_detections(net, engine):
    assert_greater(replicate(net, detected, engine), replicate(net, detected, engine, p_bribe=0.6))


@pytest.mark.parametrize("engine", FULL_MODEL_ENGINES)
def test_crackdown_raises_detections_in_its_window(net, engine):
    window = slice(20, 31)

    def in_window(res):
        holders = res.counts[window.start - 1 : window.stop - 1, 2].sum()
        return res.new_detections[window].sum() / max(holders, 1)

    campaign = [{"start": 20, "end": 30, "delta": 0.2}]
    assert_greater(
        replicate(net, in_window, engine, campaigns=campaign), replicate(net, in_window, engine)
    )


@pytest.mark.parametrize("engine", FULL_MODEL_ENGINES)
def test_implication_raises_detections_per_detected_holder(net, engine):
    def per_direct(res):
        return res.final["D"] / max(res.reach[-1], 1)

    assert_greater(
        replicate(net, per_direct, engine, p_implicate=0.5), replicate(net, per_direct, engine)
    )


@pytest.mark.parametrize("engine", FULL_MODEL_ENGINES)
def test_fear_slows_sharing(net, engine):
    assert_greater(
        replicate(net, reach, engine), replicate(net, reach, engine, fear_factor=0.1, fear_steps=20)
    )


@pytest.mark.parametrize("engine", FULL_MODEL_ENGINES)
def test_acceptance_by_cohort_lowers_reach(net, engine):
    """A bare network is all market generation: its acceptance multiplies every share."""
    assert_greater(
        replicate(net, reach, engine), replicate(net, reach, engine, acceptance_market=0.6)
    )


@pytest.mark.parametrize("engine", FULL_MODEL_ENGINES)
def test_entry_brings_media_without_seeds(engine, net):
    res = simulate(net, Params(**BASE, entry_rate=2.0), seeds=0, rng=8, steps=30, engine=engine)
    assert res.counts[0, 2] == 0 and res.reach[-1] > 0


@pytest.mark.parametrize("engine", FULL_MODEL_ENGINES)
def test_group_mode_needs_groups(engine, net):
    with pytest.raises(ValueError, match="group"):
        simulate(net, Params(**BASE, mode="group"), seeds=1, rng=1, engine=engine)


def test_event_engine_refuses_full_model(net):
    with pytest.raises(ValueError, match="engine"):
        simulate(net, Params(**BASE, p_implicate=0.1), seeds=1, rng=1, engine="event")
    with pytest.raises(ValueError, match="steps"):
        simulate(net, Params(**BASE, entry_rate=1.0), seeds=1, rng=1)


@pytest.mark.parametrize("engine", FULL_MODEL_ENGINES)
def test_full_model_kernels_are_reproducible(engine, net):
    params = Params(
        **BASE, mix={"usb": 7, "dvd": 3}, p_implicate=0.2, fear_steps=5, fear_factor=0.5
    )
    a = simulate(net, params, seeds=10, rng=77, engine=engine)
    b = simulate(net, params, seeds=10, rng=77, engine=engine)
    assert np.array_equal(a.counts, b.counts) and np.array_equal(a.lent_copies, b.lent_copies)
    assert np.array_equal(a.reached.step, b.reached.step)


@pytest.mark.parametrize("engine", FULL_MODEL_ENGINES)
def test_bribes_fold_into_detection_and_implication(net, engine):
    """A bribe buys off a detection and an implication alike: (delta / (1 - b), p_implicate /
    (1 - b), b) is the same process as (delta, p_implicate, 0) (compared on reach and on
    detections, which implication drives here)."""
    b = 0.5
    bribed = {"delta": 0.04 / (1 - b), "p_implicate": 0.4 / (1 - b), "p_bribe": b}
    plain = {"delta": 0.04, "p_implicate": 0.4}
    for metric in (detected, reach):
        assert_same(
            replicate(net, metric, engine, **bribed), replicate(net, metric, engine, **plain)
        )


@pytest.mark.parametrize("engine", FULL_MODEL_ENGINES)
def test_dvd_share_factor_multiplies_sharing(net, engine):
    """A DVD's share factor multiplies beta exactly: share 0.5 at beta 0.16 is share 1 at 0.08."""
    discs_only = {"mix": {"dvd": 1}, "steps": 60}
    halved = replicate(net, reach, engine, beta=0.16, media={"dvd": {"share": 0.5}}, **discs_only)
    assert_same(halved, replicate(net, reach, engine, **discs_only))
    assert_greater(replicate(net, reach, engine, beta=0.16, **discs_only), halved)


@pytest.mark.parametrize("engine", FULL_MODEL_ENGINES)
def test_usb_share_factor_multiplies_sharing_in_group_mode(engine):
    """In viewings the share factor multiplies the hosting probability (fear and share act on
    how often a holder hosts): host_prob 0.04 with share 2 is host_prob 0.08 (beta = 0 leaves only
    viewings, no tie-by-tie sharing on market and trade ties)."""
    pop = diffusion.build_population(20_000, seed=2, n_regions=10)
    base = {"beta": 0.0, "gamma": 0.15, "delta": 0.01, "mode": "group"}

    def reached(**changes):
        params = Params(**{**base, **changes})
        return np.array(
            [
                simulate(pop, params, seeds=50, rng=i, engine=engine).reach[-1]
                for i in range(REPLICATES)
            ],
            float,
        )

    doubled = reached(host_prob=0.04, media={"usb": {"share": 2.0}})
    assert_same(doubled, reached(host_prob=0.08))
    assert_greater(doubled, reached(host_prob=0.04))


@pytest.mark.parametrize("engine", FULL_MODEL_ENGINES)
def test_informants_raise_a_dvd_lenders_risk(engine):
    """A DVD host that shows its disc to an informant faces informant_risk in that step too."""
    watched = diffusion.build_population(20_000, seed=6, n_regions=20, informant_fraction=0.1)
    base = {"beta": 0.1, "gamma": 0.15, "delta": 0.01, "mode": "group", "mix": {"dvd": 1}}

    def caught(**changes):
        params = Params(**{**base, **changes})
        runs = [
            simulate(watched, params, seeds=40, rng=i, steps=120, engine=engine)
            for i in range(REPLICATES)
        ]
        return np.array([r.final["D"] / max(r.counts[:-1, 2].sum(), 1) for r in runs])

    assert_greater(caught(informant_risk=20.0), caught())
