"""The census provinces: the split of regions and agents, border regions, storage and outputs."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest

from diffusion import PopulationConfig, build_population
from diffusion.config import validate_config
from diffusion.population import Population
from diffusion.population.provinces import (
    MILITARY_CAMPS,
    NATIONAL_TOTAL,
    PROVINCES,
    largest_remainder,
)
from diffusion.runner import run_scenario, write_run

N = 60_000
BORDER = {"North Pyongan", "Chagang", "North Hamgyong", "Ryanggang"}
CENSUS = np.array([p.population for p in PROVINCES])


@pytest.fixture(scope="module")
def country() -> Population:
    return build_population(N, seed=4)


def test_census_table_matches_its_totals():
    assert len(PROVINCES) == 10 and len({p.name for p in PROVINCES}) == 10
    assert CENSUS.sum() == 23_349_859
    assert CENSUS.sum() + MILITARY_CAMPS == NATIONAL_TOTAL
    assert {p.name for p in PROVINCES if p.borders_china} == BORDER


def test_largest_remainder_by_hand():
    assert largest_remainder(10, [1, 1, 1]).tolist() == [4, 3, 3]  # a tie goes to the first
    assert largest_remainder(7, [0.5, 0.3, 0.2]).tolist() == [4, 2, 1]  # 3.5, 2.1, 1.4
    # Quota 0.2 is below the minimum: it gets 1, the other 9 are split 7.35 : 1.65.
    assert largest_remainder(10, [0.8, 0.2 * 0.9, 0.02], minimum=1).tolist() == [7, 2, 1]
    assert largest_remainder(3, [5, 0, 0], minimum=1).tolist() == [1, 1, 1]
    with pytest.raises(ValueError, match="too few"):
        largest_remainder(2, [1, 1, 1], minimum=1)


def test_regions_per_province_are_the_census_split(country):
    counts = np.bincount(country.region_province, minlength=10)
    assert counts.tolist() == largest_remainder(200, CENSUS).tolist()
    # Quotas 27.9, 34.7, 23.4, 11.1, 19.8, 18.1, 12.7, 26.3, 19.9, 6.2 by largest remainder:
    assert counts.tolist() == [28, 35, 23, 11, 20, 18, 13, 26, 20, 6]
    assert country.province_names == tuple(p.name for p in PROVINCES)
    # Regions are numbered province by province, so each region is in exactly one province.
    assert country.region_province.dtype == np.int8
    assert np.all(np.diff(country.region_province) >= 0)


def test_agents_per_province_follow_the_census_within_a_household(country):
    agents = np.bincount(country.province, minlength=10)
    exact = largest_remainder(N, CENSUS)
    assert agents.sum() == N
    # Each province boundary falls on the household boundary nearest its exact position.
    assert np.abs(np.cumsum(agents) - np.cumsum(exact)).max() <= country.config.household_size_max
    assert np.allclose(agents / N, CENSUS / CENSUS.sum(), atol=2 * 8 / N)


def test_every_agent_and_household_lies_in_one_province(country):
    assert country.province.dtype == np.int8 and len(country.province) == N
    assert np.array_equal(country.province, country.region_province[country.region])
    household_starts = np.flatnonzero(np.diff(country.household, prepend=-1))
    household_ends = np.append(household_starts[1:], N) - 1
    assert np.array_equal(country.province[household_starts], country.province[household_ends])


def test_border_regions_are_those_of_the_border_provinces(country):
    names = np.array(country.province_names)
    expected = np.flatnonzero(np.isin(names[country.region_province], list(BORDER)))
    assert np.array_equal(country.border_regions, expected)
    assert len(country.border_regions) == 23 + 11 + 20 + 6
    share = np.isin(country.region, country.border_regions).mean()
    census_share = sum(p.population for p in PROVINCES if p.borders_china) / CENSUS.sum()
    assert share == pytest.approx(census_share, abs=4 * 8 / N)


def test_the_smallest_census_country_has_a_household_in_every_region():
    """1,600 agents at 8 per household at most: provinces borrow households to fill regions."""
    tiny = build_population(1_600, seed=2)
    tiny.check()
    assert set(np.unique(tiny.region)) == set(range(200))
    one_each = build_population(2_000, seed=2, n_regions=10)
    assert one_each.region_province.tolist() == list(range(10))


def test_save_load_keeps_the_provinces(country, tmp_path):
    country.save(tmp_path / "country.npz")
    loaded = Population.load(tmp_path / "country.npz")
    assert loaded == country
    assert loaded.province_names == country.province_names
    assert np.array_equal(loaded.region_province, country.region_province)


def test_synthetic_regions_stay_available():
    pop = build_population(20_000, seed=1, regions="synthetic", n_regions=20, border_regions=3)
    assert pop.province_names == ("synthetic",)
    assert pop.region_province.tolist() == [0] * 20
    assert len(pop.border_regions) == 3 and len(set(pop.border_regions.tolist())) == 3
    default = PopulationConfig(regions="synthetic")
    assert default.border_regions == 16 and default.n_regions == 200
    assert PopulationConfig(regions="synthetic", n_regions=50).border_regions == 4
    assert PopulationConfig().border_regions is None


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"border_regions": 16}, "border_regions: only for regions = 'synthetic'"),
        ({"n_regions": 9}, "n_regions: 9 is below the 10 census provinces"),
        ({"regions": "counties"}, "regions"),
        ({"regions": "synthetic", "border_regions": 30, "n_regions": 20}, "border_regions: 30"),
    ],
)
def test_bad_region_options_name_the_field(options, message):
    with pytest.raises(ValueError, match=message):
        PopulationConfig(n_agents=N, **options)


def test_builder_streams_are_apart_from_the_replicates_streams():
    from diffusion.population import build as population_build
    from diffusion.runner import replicate_seeds

    assert population_build.POPULATION_KEY == 0x706F70
    root = np.random.SeedSequence(5, spawn_key=(population_build.POPULATION_KEY,))
    builder = {tuple(s.generate_state(4)) for s in root.spawn(len(population_build._STREAMS))}
    runs = {tuple(s.generate_state(4)) for s in replicate_seeds(5, 100)}
    assert not builder & runs


def test_the_regions_table_names_each_regions_province(tmp_path):
    config = validate_config(
        {
            "network": {"type": "population", "n_agents": 5_000, "n_regions": 20, "seed": 1},
            "model": {"beta": 0.2, "gamma": 0.1, "entry_rate": 1.0},
            "run": {"replicates": 2, "seed": 3, "seeds": 5, "steps": 10},
        }
    )
    world = config.network.build()
    run = run_scenario(config, network=world)
    regions = pq.read_table(write_run(run, tmp_path)["regions"])
    assert regions.column_names[:4] == ["replicate", "step", "region", "province"]
    assert regions.schema.field("province").type.value_type == "string"
    province = regions.column("province").to_pylist()
    region = regions.column("region").to_numpy()
    names = np.array(world.province_names)[world.region_province]
    assert province == names[region].tolist()
    assert set(province) == {p.name for p in PROVINCES}


def test_summary_counts_agents_by_province(country):
    summary = country.summary()
    by_province = summary["agents_by_province"]
    assert list(by_province) == list(country.province_names)
    assert list(by_province.values()) == np.bincount(country.province, minlength=10).tolist()
    assert summary["border_regions"] == 60
