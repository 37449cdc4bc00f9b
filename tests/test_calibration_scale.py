"""Entry rates and initial holders per agents: a country built at another size gets as many
smuggled copies and initial holders per person (``model.entry_per_agents``,
``run.seeds_per_agents``), exactly, in every path that runs a config."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from diffusion import Params, simulate
from diffusion.config import ConfigError, load_config, validate_config
from diffusion.params import EntryChange
from diffusion.population import build
from diffusion.population.config import PopulationConfig
from diffusion.runner import replicate_seeds, run_scenario

SCENARIO = Path(__file__).parent.parent / "experiments" / "calibration" / "dprk-2000-2020.toml"

PER_100K = Params(
    beta=0.01,
    gamma=0.1,
    entry_rate=0.5,
    entry=(
        EntryChange(start=10, rate=2.0),
        EntryChange(start=20, mix={"dvd": 1.0}),  # no rate: keeps the one before
    ),
    entry_per_agents=100_000,
)


def test_for_agents_scales_every_entry_rate_by_the_agents_over_the_unit():
    params = PER_100K.for_agents(300_000)
    assert params.entry_per_agents is None
    assert params.entry_rate == 1.5
    assert [c.rate for c in params.entry] == [6.0, None]
    starts, rates, _ = params.entry_segments()
    assert starts.tolist() == [1, 10, 20] and rates.tolist() == [1.5, 6.0, 6.0]
    assert params.model_dump(exclude={"entry_rate", "entry", "entry_per_agents"}) == (
        PER_100K.model_dump(exclude={"entry_rate", "entry", "entry_per_agents"})
    )
    assert PER_100K.for_agents(100_000).entry_rate == 0.5
    plain = Params(beta=0.01, gamma=0.1, entry_rate=3.0)
    assert plain.for_agents(10**6) is plain  # without the unit: copies for the whole network


def test_rates_per_agents_are_resolved_for_the_network_a_run_is_on():
    with pytest.raises(ValueError, match="entry_per_agents: .*for_agents"):
        PER_100K.entry_segments()
    country = load_config(SCENARIO).with_overrides({"network.n_agents": 2000}).network.build()
    given = simulate(country, PER_100K, seeds=1, rng=1, steps=60)
    resolved = simulate(country, PER_100K.for_agents(2000), seeds=1, rng=1, steps=60)
    assert given.entered.sum() > 0
    assert np.array_equal(given.counts, resolved.counts)
    assert np.array_equal(given.entered, resolved.entered)


def test_too_many_copies_for_the_network_is_an_error_naming_the_unit():
    params = Params(beta=0.01, gamma=0.1, entry_rate=10.0, entry_per_agents=1)
    with pytest.raises(ValueError, match="entry_per_agents: .* more than 100,000 copies"):
        params.for_agents(20_000)


def _scenario_data(n_agents: int) -> dict:
    config = load_config(SCENARIO)
    data = config.model_copy(update={"calibration": None}).resolved()
    data["network"].update(n_agents=n_agents, n_regions=10)
    data["run"].update(end="2000-03-31", replicates=2)
    return data


def test_the_config_resolves_rates_and_holders_for_its_network():
    config = validate_config(_scenario_data(30_000))
    params, holders = config.for_agents(30_000)
    assert holders == 60  # 200 per 100,000 agents
    assert params.entry_rate == pytest.approx(0.15)
    rates = [None, pytest.approx(0.3), pytest.approx(0.6), None, 0.0]  # the border sealed in 2020
    assert [c.rate for c in params.entry] == rates
    assert config.run.holders(12_345) == 25  # rounded to whole holders (24.69)


def test_run_scenario_runs_the_resolved_model_exactly():
    config = validate_config(_scenario_data(30_000))
    ran = run_scenario(config)
    params, holders = config.for_agents(ran.world.n_agents)
    for result, stream in zip(ran.results, replicate_seeds(config.run.seed, 2), strict=True):
        alone = simulate(ran.world, params, seeds=holders, rng=stream, steps=config.steps())
        assert np.array_equal(result.counts, alone.counts)
        assert np.array_equal(result.reached.step, alone.reached.step)
    assert ran.results[0].counts[0, 1:].sum() == 60  # the initial holders: 200 per 100,000


def test_holders_per_agents_are_checked_against_the_network_and_need_a_count():
    data = _scenario_data(30_000)
    data["run"]["seeds"] = 200_000  # 60,000 holders among 30,000 agents
    with pytest.raises(ConfigError, match=r"run\.seeds: 60000 is not an integer in \[0, 30000\]"):
        validate_config(data)
    data["run"]["seeds"] = [1, 2, 3]
    with pytest.raises(ConfigError, match="run.seeds_per_agents: only for a number of seeds"):
        validate_config(data)


def test_the_calibration_scenario_is_a_miniature_with_rates_per_100000_agents():
    config = load_config(SCENARIO)
    assert config.model.entry_per_agents == config.run.seeds_per_agents == 100_000
    assert config.network.n_agents // config.network.n_regions == 5_000
    larger = config.with_overrides({"network.n_agents": 1_000_000, "network.n_regions": 200})
    params, holders = larger.for_agents(1_000_000)
    assert holders == 2_000 and params.entry_rate == pytest.approx(10 * config.model.entry_rate)
    assert config.model.start == dt.date(2000, 1, 1)


def test_market_customers_are_distinct_others_of_the_region_at_every_region_size():
    """A trader's market ties do not depend on how large its region is (no repeats, no self)."""
    for n_regions in (10, 60):  # regions of about 1,000 and 170 agents; k = 30 customers
        config = PopulationConfig(n_agents=10_000, n_regions=n_regions, trader_fraction=0.05)
        streams = np.random.SeedSequence(3).spawn(3)
        agents = build.draw_agents(
            config,
            {
                "households": np.random.default_rng(streams[0]),
                "regions": np.random.default_rng(streams[1]),
                "attributes": np.random.default_rng(streams[2]),
            },
        )
        trader, customer = build.draw_market_ties(config, agents, np.random.default_rng(4))
        size = np.diff(agents.region_start)[agents.region[trader]]
        ids, counts = np.unique(trader, return_counts=True)
        assert np.array_equal(ids, np.flatnonzero(agents.trader))
        expected = np.minimum(30, size[np.searchsorted(trader, ids)] - 1)
        assert np.array_equal(counts, expected)
        assert np.all(agents.region[customer] == agents.region[trader])
        assert not np.any(customer == trader)
        pairs = trader.astype(np.int64) * 10_000 + customer
        assert len(np.unique(pairs)) == len(pairs)


def test_distinct_draws_are_uniform_subsets():
    rng = np.random.default_rng(5)
    rows = 60_000
    picks = build._distinct_below(np.full(rows, 5), np.full(rows, 2), rng).reshape(rows, 2)
    assert np.all(picks[:, 0] != picks[:, 1]) and picks.min() >= 0 and picks.max() < 5
    subsets = np.bincount(picks.min(axis=1) * 5 + picks.max(axis=1), minlength=25)
    counts = subsets[subsets > 0]
    assert len(counts) == 10  # every pair of 5 ...
    assert np.all(np.abs(counts - rows / 10) < 5 * np.sqrt(rows / 10))  # ... equally often
    everything = build._distinct_below(np.array([4, 1, 3]), np.array([4, 1, 0]), rng)
    assert sorted(everything[:4].tolist()) == [0, 1, 2, 3] and everything[4:].tolist() == [0]
