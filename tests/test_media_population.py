"""The full model on a synthetic population, on both of its kernels (calendar and step): groups,
regions, travel restriction, informants."""

import numpy as np
import pytest

from diffusion import Params, simulate
from diffusion.population import build_population
from diffusion.simulate import FULL_MODEL_ENGINES

Z = 4.0
REPLICATES = 12


@pytest.fixture(scope="module")
def pop():
    return build_population(20_000, seed=3, regions="synthetic", n_regions=20, border_regions=2)


@pytest.fixture(scope="module")
def sealed():
    return build_population(
        20_000, seed=3, regions="synthetic", n_regions=20, border_regions=2, travel=0.0
    )


def region_of(pop, region):
    return np.flatnonzero(pop.region == region)


@pytest.mark.parametrize("engine", FULL_MODEL_ENGINES)
def test_group_viewing_reaches_a_whole_group_at_once(engine, pop):
    """One seed that surely hosts, to everyone who surely watches: step 1 informs one group."""
    params = Params(beta=0.0, gamma=1.0, mode="group", host_prob=1.0)
    sizes = pop.groups.sizes()
    for seed in range(0, 20_000, 997):
        res = simulate(pop, params, seeds=np.array([seed]), rng=seed, steps=1, engine=engine)
        informed = res.reach[1] - 1
        candidates = {int(sizes[g]) - 1 for g in pop.groups.of_agent(seed)}
        assert informed in candidates


@pytest.mark.parametrize("engine", FULL_MODEL_ENGINES)
def test_region_counts_add_up(engine, pop):
    params = Params(beta=0.1, gamma=0.1, delta=0.01, mode="group", p_implicate=0.2)
    res = simulate(pop, params, seeds=20, rng=2, engine=engine)
    assert np.array_equal(res.region_counts.sum(axis=1), res.counts)
    assert np.array_equal(res.region_counts[0].sum(axis=1), np.bincount(pop.region, minlength=20))


@pytest.mark.parametrize("engine", FULL_MODEL_ENGINES)
def test_sealed_region_without_entry_is_never_reached(engine, sealed):
    """Full travel restriction: media seeded in one region never leaves it."""
    params = Params(beta=0.3, gamma=0.1, mode="group", host_prob=0.8)
    res = simulate(sealed, params, seeds=region_of(sealed, 5)[:10], rng=4, engine=engine)
    reached = np.flatnonzero(res.region_reach())
    assert reached.tolist() == [5]
    assert res.region_reach()[5] > 0.05  # it did spread inside its region


@pytest.mark.parametrize("engine", FULL_MODEL_ENGINES)
def test_sealed_country_is_reached_only_through_its_border_regions(engine, sealed):
    params = Params(beta=0.3, gamma=0.1, entry_rate=3.0)
    res = simulate(sealed, params, seeds=0, rng=5, steps=60, engine=engine)
    reached = set(np.flatnonzero(res.region_reach()).tolist())
    assert reached and reached <= set(sealed.border_regions.tolist())


@pytest.mark.parametrize("engine", FULL_MODEL_ENGINES)
def test_open_travel_carries_media_across_regions(engine, pop, sealed):
    params = Params(beta=0.3, gamma=0.1, mode="group", host_prob=0.8)

    def regions_reached(world):
        seeds = region_of(world, 5)[:10]
        return np.array(
            [
                np.count_nonzero(
                    simulate(world, params, seeds=seeds, rng=i, engine=engine).region_reach()
                )
                for i in range(REPLICATES)
            ],
            dtype=float,
        )

    open_, closed = regions_reached(pop), regions_reached(sealed)
    assert closed.max() == 1 and open_.mean() > 1 + Z * open_.std(ddof=1) / np.sqrt(REPLICATES)


@pytest.mark.parametrize("engine", FULL_MODEL_ENGINES)
def test_informants_raise_detections(engine):
    watched = build_population(20_000, seed=6, n_regions=20, informant_fraction=0.1)
    base = {"beta": 0.1, "gamma": 0.15, "delta": 0.01, "mode": "group", "host_prob": 0.5}

    def detected(**changes):
        params = Params(**{**base, **changes})
        return np.array(
            [
                simulate(watched, params, seeds=20, rng=i, engine=engine).final["D"]
                for i in range(REPLICATES)
            ],
            dtype=float,
        )

    risky, calm = detected(informant_risk=10.0), detected()
    se = np.sqrt(risky.var(ddof=1) / REPLICATES + calm.var(ddof=1) / REPLICATES)
    assert risky.mean() - calm.mean() > Z * se


@pytest.mark.parametrize("engine", FULL_MODEL_ENGINES)
def test_acceptance_is_by_cohort(engine, pop):
    """Older agents who never accept stay uninformed; the market generation is reached."""
    params = Params(beta=0.5, gamma=0.05, acceptance_older=0.0, mode="group", host_prob=0.9)
    market = int(pop.cohort.sum())
    seeds = np.flatnonzero(pop.cohort == 1)[::500]
    res = simulate(pop, params, seeds=seeds, rng=7, engine=engine)
    assert market / 2 < res.reach[-1] <= market
    everyone = simulate(
        pop, params.model_copy(update={"acceptance_older": 1.0}), seeds=seeds, rng=7, engine=engine
    )
    assert everyone.reach[-1] > market
