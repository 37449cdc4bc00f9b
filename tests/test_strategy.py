"""Entry strategies: the config, placement, common random numbers between strategies, the CELF
search, the Pareto front, and ``diffusion strategy`` on a real local Dask cluster (resume)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from scipy import stats

from diffusion import Params, build_population, simulate
from diffusion.cli import main
from diffusion.config import ConfigError, validate_config
from diffusion.runner import run_scenario
from diffusion.strategy.config import Strategy
from diffusion.strategy.evaluate import RUNS, Evaluation, evaluate, replicate_seed
from diffusion.strategy.pareto import non_dominated
from diffusion.strategy.placement import Country, place
from diffusion.strategy.report import interval
from diffusion.strategy.search import (
    Score,
    Scorer,
    celf,
    dask_batch,
    score_placement,
    search_payload,
)
from diffusion.streams import PLACEMENT, RunStreams
from diffusion.sweep.config import ClusterConfig

STEPS = 200


# ---------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def country() -> Country:
    return Country.of(build_population(5000, seed=1, n_regions=20))


@pytest.fixture(scope="module")
def params() -> Params:
    return Params(
        beta=0.01, gamma=0.03, delta=0.0005, mode="group", host_prob=0.1, entry_rate=0.1,
        mix={"usb": 1.0}, p_implicate=0.1, fear_steps=14, fear_factor=0.5,
        campaigns=[{"start": 60, "end": 150, "delta": 0.005}],
    )  # fmt: skip


@pytest.fixture(scope="module")
def client() -> Iterator:
    """A real local Dask cluster (scheduler on 127.0.0.1, two worker processes)."""
    from diffusion.sweep.clusters import open_client

    with open_client(ClusterConfig(), workers=2) as client:
        assert client.scheduler.address.startswith("tcp://127.0.0.1")
        yield client


def run(country: Country, params: Params, strategy: Strategy, replicate: int, scale: float = 1.0):
    """One replicate of the scenario with a strategy's copies, as ``diffusion strategy`` runs it."""
    seed = replicate_seed(7, replicate)
    entry = place(strategy, country, params, STEPS, scale, RunStreams.of(seed).generator(PLACEMENT))
    result = simulate(country.world, params, seeds=0, rng=seed, steps=STEPS, entry=entry)
    return entry, result


def same_run(a, b) -> bool:
    return np.array_equal(a.counts, b.counts) and np.array_equal(a.reached.step, b.reached.step)


# ---------------------------------------------------------------------------------- placement
def test_the_same_rule_gives_the_same_copies_and_the_same_run(country, params) -> None:
    one = Strategy(name="a", budget={"usb": 20}, who="trusted", when="bursts")
    two = Strategy(name="b", budget={"usb": 20}, who="trusted", when="bursts")
    entry_a, a = run(country, params, one, 3)
    entry_b, b = run(country, params, two, 3)
    assert entry_a.copies == 20 * STEPS // 365 + (entry_a.copies > 20 * STEPS // 365)
    assert np.array_equal(entry_a.agents, entry_b.agents)
    assert np.array_equal(entry_a.offsets, entry_b.offsets)
    assert same_run(a, b)
    _, other_replicate = run(country, params, one, 4)
    assert not same_run(a, other_replicate)


def test_runs_differing_in_one_agent_agree_until_that_agent_gets_its_copy(country, params) -> None:
    first = Strategy(name="a", budget={"usb": 3 * 365 / STEPS}, who="agents", agents=[10, 900, 33])
    second = first.model_copy(update={"agents": [10, 900, 4000]})
    entry, a = run(country, params, first, 0)
    _, b = run(country, params, second, 0)
    arrivals = np.repeat(np.arange(1, STEPS + 1), np.diff(entry.offsets))
    assert entry.copies == 3
    step = int(arrivals[2])  # the third copy: agent 33 in one run, 4000 in the other
    assert 150 < step < STEPS
    assert np.array_equal(a.counts[:step], b.counts[:step])
    assert np.array_equal(a.new_detections[:step], b.new_detections[:step])
    before = (a.reached.step >= 0) & (a.reached.step < step)
    assert np.array_equal(before, (b.reached.step >= 0) & (b.reached.step < step))
    assert np.array_equal(a.reached.step[before], b.reached.step[before])
    assert 0 <= b.reached.step[4000] <= step and 0 <= a.reached.step[33] <= step  # their copies


def test_a_zero_budget_is_exactly_the_run_without_a_strategy(country, params) -> None:
    nothing = Strategy(name="none", budget={"usb": 0.0}, who="traders")
    entry, with_strategy = run(country, params, nothing, 2)
    alone = simulate(country.world, params, seeds=0, rng=replicate_seed(7, 2), steps=STEPS)
    assert entry.copies == 0
    assert same_run(with_strategy, alone)


def test_rules_pick_the_agents_they_name(country, params) -> None:
    rng = np.random.default_rng
    budget = {"usb": 365 * 40 / STEPS}
    traders = place(Strategy(name="t", budget=budget, who="traders"), country, params, STEPS, 1,
                    rng(1))  # fmt: skip
    assert country.trader[traders.agents].all()
    assert country.world.region_border[country.region[traders.agents]].all()
    hubs = place(Strategy(name="h", budget=budget, who="market_hubs"), country, params, STEPS, 1,
                 rng(1))  # fmt: skip
    first = hubs.agents[np.argsort(np.repeat(np.arange(STEPS), np.diff(hubs.offsets)))][0]
    border_traders = country.world.traders
    assert country.market_customers[first] == country.market_customers[border_traders].max()
    spread = place(Strategy(name="s", budget=budget, who="spread", where="anywhere"), country,
                   params, STEPS, 1, rng(1))  # fmt: skip
    per_region = np.bincount(country.region[spread.agents], minlength=20)
    assert per_region.max() - per_region.min() <= 1  # 40 copies over 20 regions: 2 each
    avoid = Strategy(name="a", budget=budget, when="bursts", bursts=12, crackdowns="avoid")
    days = np.repeat(np.arange(1, STEPS + 1), np.diff(place(avoid, country, params, STEPS, 1,
                                                             rng(1)).offsets))  # fmt: skip
    assert not np.any((days >= 60) & (days <= 150))
    assert len(np.unique(days)) < 12 * STEPS / 365  # bursts in the crackdown moved to day 151


# ---------------------------------------------------------------------------------- config
def config_data(network_path: Path, **strategy) -> dict:
    return {
        "network": {"type": "file", "path": str(network_path)},
        "model": {"beta": 0.2, "gamma": 0.5, "mix": {"usb": 1.0}},  # T = 1/3 per tie
        "run": {"steps": 30, "replicates": 4, "seed": 11, "seeds": 0},
        "strategy": {"population": 1, "compare": [{"name": "none", "budget": {}}], **strategy},
    }


@pytest.fixture
def star(tmp_path) -> Path:
    path = tmp_path / "star.txt"
    path.write_text("".join(f"0 {leaf}\n" for leaf in range(1, 12)))
    return path


@pytest.mark.parametrize(
    ("change", "line"),
    [
        ({"compare": [{"name": "a", "who": "hubs"}]}, "strategy.compare.0.who: 'hubs' is not one"),
        ({"compare": [{"name": "a", "bursts": 0}]}, "strategy.compare.0.bursts: 0 is not in [1, 3"),
        ({"compare": [{"name": "a", "budget": {"usb": -1}}]}, "strategy.compare.0.budget.usb: -1"),
        ({"compare": [{"name": "a", "budget": {"tape": 5}}]}, "strategy.compare.0.budget: 'tape'"),
        ({"compare": [{"name": "a", "who": "agents"}]}, "strategy.compare.0.agents: required"),
        ({"compare": [{"name": "a"}, {"name": "a"}]}, "strategy.compare: the name 'a' is used"),
        ({"reference": "b"}, "strategy.reference: 'b' is not one of"),
        ({"compare": []}, "strategy.compare: must have at least 1"),
        ({"search": {"pool": 0}}, "strategy.search.pool: 0 is not in [1, 100000]"),
        ({"search": {"medium": "vhs"}}, "strategy.search.medium: 'vhs' is not a medium"),
        ({"population": 0}, "strategy.population: 0 is not in [1, 10000000000]"),
    ],
)  # fmt: skip
def test_bad_strategy_configs_name_the_field(star, change, line) -> None:
    with pytest.raises(ConfigError) as error:
        validate_config(config_data(star, **change))
    assert any(text.startswith(line) for text in error.value.lines), error.value.lines


def test_a_budget_that_mostly_rounds_to_no_copy_is_warned_about(star) -> None:
    """100 drives a year for 1,000 people over 30 days on 12 agents: 0.0986 copies per run
    expected, none in 90% of the runs; 10,000 a year gives 9.86 and no warning (issue 20)."""
    compare = [{"name": "few", "budget": {"usb": 100}}, {"name": "many", "budget": {"usb": 1e4}},
               {"name": "none", "budget": {}}]  # fmt: skip
    evaluation = Evaluation(validate_config(config_data(star, population=1000, compare=compare)))
    assert evaluation.sparse_budgets(12) == [
        "strategy.compare.0.budget: 0.0986 copies per run expected at 12 agents for 1000 "
        "people, so 90% of the runs get none (more agents or a larger budget)"
    ]


def test_rules_that_find_nobody_name_the_field_before_any_run(star, tmp_path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(
        f"""
        [network]
        type = "file"
        path = "{star}"
        [model]
        beta = 0.5
        gamma = 0.3
        [run]
        steps = 30
        seeds = 0
        [strategy]
        compare = [{{name = "x", where = ["Atlantis"]}}]
        """
    )
    result = CliRunner().invoke(main, ["strategy", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "strategy.compare.0.where: 'Atlantis' is not a province" in result.output
    assert not (tmp_path / "out" / RUNS).exists()


# ---------------------------------------------------------------------------------- search
def test_pareto_front_holds_every_non_dominated_point_and_no_other() -> None:
    rng = np.random.default_rng(5)
    reach = rng.integers(0, 30, 400).astype(float)
    detected = rng.integers(0, 30, 400).astype(float)
    front = non_dominated(reach, detected)
    for i in range(len(reach)):
        beaten = (reach >= reach[i]) & (detected <= detected[i])
        beaten &= (reach > reach[i]) | (detected < detected[i])
        assert front[i] == (not beaten.any())
    assert front.any()
    assert non_dominated([5, 5], [1, 1]).all()  # equal points: neither beats the other


def _search_config(path: Path, n: int, tmp_path: Path):
    data = config_data(
        path, search={"who": "agents", "agents": list(range(n)), "pool": n, "copies": 1,
                      "replicates": 12})  # fmt: skip
    return validate_config(data, base_dir=tmp_path)


def test_celf_picks_the_hub_of_a_star_on_the_dask_cluster(star, tmp_path, client) -> None:
    config = _search_config(star, 12, tmp_path)
    scorer = Scorer(dask_batch(client, search_payload(config), config.content_hash()))
    greedy = celf(list(range(12)), 1, scorer, batch=2)
    assert greedy.chosen == [0]
    assert greedy.gains[0] > max(scorer.scores[(leaf,)].reach for leaf in range(1, 12)) - 1


def test_celf_picks_the_bigger_of_two_cliques(tmp_path) -> None:
    small, big = range(0, 4), range(4, 14)
    path = tmp_path / "cliques.txt"
    path.write_text(
        "".join(f"{a} {b}\n" for group in (small, big) for a in group for b in group if a < b)
    )
    config = _search_config(path, 14, tmp_path)
    payload, key = search_payload(config), config.content_hash()
    scorer = Scorer(lambda sets: [score_placement(payload, key, s) for s in sets])
    greedy = celf(list(range(14)), 2, scorer, batch=3)
    assert greedy.chosen[0] in big
    assert greedy.chosen[1] in small  # the big clique is reached already: the small one gains
    assert greedy.rescored < 13  # lazy: not every candidate rescored in the second round


def _toy_scorer(values: dict[tuple[int, ...], tuple[float, float]]) -> Scorer:
    """A scorer of exact (reach, detected) values per placement, no simulation."""
    return Scorer(lambda sets: [Score(*values[s], 0.0, 0.0) for s in sets])


# Not submodular once arrests cost: c gains little alone (10 - 9) and much after a
# ({a, c}: 20 reached, 0 arrests); b's lone gain (9) bounds nothing.
TOY = {(): (0, 0), (0,): (10, 0), (1,): (9, 0), (2,): (10, 9), (0, 1): (12, 0),
       (0, 2): (20, 0), (1, 2): (11, 0)}  # fmt: skip


@pytest.mark.parametrize("batch", [1, 2, 3])
def test_greedy_with_a_price_is_exact_whatever_the_batch(batch) -> None:
    """With price > 0 every candidate is rescored each round: the greedy set worth 20, not the
    lazy one worth 12, with 1, 2 or 3 placements scored at once (issue 20, A2)."""
    greedy = celf([0, 1, 2], 2, _toy_scorer(TOY), price=1.0, batch=batch)
    assert greedy.chosen == [0, 2]
    assert greedy.values == [10.0, 20.0]
    assert greedy.gains == [10.0, 10.0]


@pytest.mark.parametrize("batch", [1, 2, 3])
def test_lazy_picks_do_not_depend_on_the_batch(batch) -> None:
    """At price 0 the search is lazy; scoring ahead for the workers changes no pick, even where
    the estimates are not submodular (c gains 1 alone, 10 after a)."""
    values = {**TOY, (2,): (1, 0)}
    greedy = celf([0, 1, 2], 2, _toy_scorer(values), price=0.0, batch=batch)
    assert greedy.chosen == [0, 1]  # CELF's lazy answer, the same for every batch
    assert greedy.values == [10.0, 12.0]


def test_the_interval_of_one_replicate_is_unknown_and_of_more_uses_n_minus_1() -> None:
    """One value: NaN interval and standard error, not a zero-width interval; three values:
    the standard error with n - 1, exactly (issue 20, A5 and B)."""
    mean, low, high, se = interval(np.array([4.0]))
    assert mean == 4.0 and np.isnan([low, high, se]).all()
    mean, low, high, se = interval(np.array([1.0, 2.0, 6.0]))
    assert mean == 3.0 and se == pytest.approx(np.sqrt(7.0 / 3.0))  # s**2 = 14 / 2, / n = 3
    assert high - mean == pytest.approx(stats.t.ppf(0.975, 2) * se)


# ---------------------------------------------------------------------------------- evaluation
@pytest.fixture
def evaluation(tmp_path) -> Evaluation:
    data = {
        "network": {"type": "population", "n_agents": 3000, "n_regions": 12, "seed": 2},
        "model": {"beta": 0.01, "gamma": 0.03, "delta": 0.001, "mode": "group",
                  "host_prob": 0.1, "entry_rate": 0.2, "mix": {"usb": 1.0}},
        "run": {"steps": 120, "replicates": 4, "seed": 5, "seeds": 0},
        "strategy": {
            "budget": {"usb": 3000}, "population": 100_000, "replicates_per_task": 2,
            "compare": [{"name": "none", "budget": {}}, {"name": "a", "who": "traders"},
                        {"name": "b", "who": "traders"}],
        },
    }  # fmt: skip
    return Evaluation.from_config(validate_config(data))


class Interrupt(KeyboardInterrupt):
    pass


def test_evaluation_resumes_without_redoing_finished_tasks(evaluation, tmp_path, client) -> None:
    out = tmp_path / "out"

    def stop_after_two(done: int, total: int) -> None:
        if done == 2:
            raise Interrupt

    with pytest.raises(Interrupt):
        evaluate(evaluation, out, client, stop_after_two)
    first = {p.name: p.stat().st_mtime_ns for p in (out / RUNS).glob("part-*.parquet")}
    assert len(first) == 2
    outcome = evaluate(evaluation, out, client)
    assert (outcome.total, outcome.skipped, outcome.ran) == (6, 2, 4)
    for name, mtime in first.items():
        assert (out / RUNS / name).stat().st_mtime_ns == mtime  # not written again
    again = evaluate(evaluation, out, client)
    assert (again.skipped, again.ran) == (6, 0)

    runs = pq.read_table(out / RUNS).to_pandas().sort_values(["strategy", "replicate"])
    a = runs[runs.strategy == "a"].drop(columns="strategy").reset_index(drop=True)
    b = runs[runs.strategy == "b"].drop(columns="strategy").reset_index(drop=True)
    assert a.equals(b)  # two identical strategies: identical results
    assert (a.copies > 0).all()
    none = runs[runs.strategy == "none"].sort_values("replicate")
    alone = run_scenario(evaluation.config.model_copy(update={"strategy": None}))
    assert none.reach.tolist() == [r.summary()["reach"] for r in alone.results]
    assert none.detected.tolist() == [r.summary()["detected"] for r in alone.results]


def test_the_command_writes_tables_figures_and_the_search(tmp_path) -> None:
    config = tmp_path / "tiny.toml"
    config.write_text(
        """
        [network]
        type = "population"
        n_agents = 2000
        n_regions = 12
        seed = 1
        [model]
        beta = 0.01
        gamma = 0.03
        mode = "group"
        entry_rate = 0.1
        mix = {usb = 1.0}
        [run]
        steps = 60
        replicates = 2
        seeds = 0
        [strategy]
        budget = {usb = 3000}
        population = 100000
        [[strategy.compare]]
        name = "none"
        budget = {}
        [[strategy.compare]]
        name = "spread"
        who = "spread"
        [strategy.search]
        pool = 3
        copies = 1
        replicates = 2
        """
    )
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["strategy", str(config), "--out", str(out), "--workers", "1", "--quiet"]
    )
    assert result.exit_code == 0, result.output
    for name in ("summary", "differences", "over_time", "by_province", "search_scored"):
        assert pq.read_table(out / f"{name}.parquet").num_rows > 0
    for figure in ("reach-over-time", "differences", "reach-by-province", "search-front"):
        assert (out / f"{figure}.png").stat().st_size > 1000
    again = CliRunner().invoke(main, ["strategy", str(config), "--out", str(out), "--no-search"])
    assert again.exit_code == 0, again.output
    assert "0 tasks run now, 2 found done" in again.output
    assert "spread" in again.output and "reach - none" in again.output
