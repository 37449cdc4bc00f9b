"""The synthetic population: structure of groups and ties, determinism, storage, validation."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

import diffusion
from diffusion import Network, PopulationConfig, build_population
from diffusion.population import FORMAT_VERSION, Population
from diffusion.population.build import ranges

N = 20_000
REGIONS = 10


@pytest.fixture(scope="module")
def pop() -> Population:
    return build_population(N, seed=7, n_regions=REGIONS)


def members_of_kind(pop: Population, kind: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(members, start of each group in them, group sizes) of the groups of one kind."""
    groups = pop.groups
    ids = np.flatnonzero(groups.kind == kind)
    sizes = groups.sizes()[ids]
    members = groups.members[ranges(groups.offsets[ids], sizes)]
    return members, np.cumsum(sizes) - sizes, sizes


def group_regions(pop: Population, kind: int) -> tuple[np.ndarray, np.ndarray]:
    """(min region, max region) of the members of every group of one kind."""
    members, starts, _ = members_of_kind(pop, kind)
    regions = pop.region[members]
    return np.minimum.reduceat(regions, starts), np.maximum.reduceat(regions, starts)


def same_cohort_pair_share(pop: Population) -> tuple[float, float]:
    """Share of pairs of circle co-members of the same cohort, and its standard error.

    Circles are independent given their sizes, so the ratio estimate's error comes from the
    spread of the per-circle residuals.
    """
    members, starts, sizes = members_of_kind(pop, kind=2)
    ones = np.add.reduceat(pop.cohort[members].astype(np.int64), starts)
    same = ones * (ones - 1) / 2 + (sizes - ones) * (sizes - ones - 1) / 2
    pairs = sizes * (sizes - 1) / 2
    share = same.sum() / pairs.sum()
    return float(share), float(np.sqrt(((same - share * pairs) ** 2).sum()) / pairs.sum())


# ------------------------------------------------------------------ agents and groups
def test_agents_are_ordered_by_region_then_household(pop):
    assert pop.n_agents == N and pop.region.dtype == np.int16
    assert np.all(np.diff(pop.region) >= 0)
    assert np.all(np.diff(pop.household) >= 0)
    # Households are consecutive ids 0..H-1 and each lies in one region.
    assert pop.household[0] == 0 and set(np.diff(pop.household)) <= {0, 1}
    assert np.array_equal(np.flatnonzero(pop.groups.kind == 1), np.arange(pop.household[-1] + 1))
    low, high = group_regions(pop, kind=1)
    assert np.array_equal(low, high)
    assert set(np.unique(pop.region)) == set(range(REGIONS))


def test_every_circle_lies_inside_one_region(pop):
    low, high = group_regions(pop, kind=2)
    assert len(low) > N // 10
    assert np.array_equal(low, high)


def test_group_sizes_follow_the_configured_ranges():
    pop = build_population(
        N,
        seed=3,
        regions="synthetic",
        n_regions=8,
        household_size=3.5,
        household_size_min=2,
        household_size_max=6,
        circle_size=(4, 6),
        circles_per_agent=(2, 3),
    )
    sizes = pop.groups.sizes()
    households, circles = sizes[pop.groups.kind == 1], sizes[pop.groups.kind == 2]
    assert households.min() >= 2 and households.max() <= 6
    # Binomial sizes: the mean of H households is within 5 standard errors of the target.
    assert abs(households.mean() - 3.5) < 5 * households.std() / np.sqrt(len(households))
    assert circles.min() >= 4 and circles.max() <= 6
    assert set(np.unique(circles)) == {4, 5, 6}
    circles_per_agent = np.diff(pop.groups.agent_offsets) - 1
    assert circles_per_agent.max() <= 3
    # Only leftovers of a (region, layer, cohort) block can lose a circle: very few agents.
    assert np.mean(circles_per_agent >= 2) > 0.995
    assert np.all(pop.groups.kind[pop.groups.agent_groups[pop.groups.agent_offsets[:-1]]] == 1)


def test_group_inverse_lists_each_agents_groups(pop):
    groups = pop.groups
    member_group = np.repeat(np.arange(groups.n_groups), groups.sizes())
    expected = np.lexsort((member_group, groups.members))
    agent = np.repeat(np.arange(N), np.diff(groups.agent_offsets))
    assert np.array_equal(agent, groups.members[expected])
    assert np.array_equal(groups.agent_groups, member_group[expected])
    assert np.array_equal(groups.of_agent(5), np.sort(groups.of_agent(5)))
    assert 5 in groups.members_of(int(groups.of_agent(5)[0]))


@pytest.mark.parametrize("homophily", [0.0, 0.8, 1.0])
def test_circles_are_mostly_one_cohort(homophily):
    """A membership is placed by cohort with probability h: pair shares follow from that."""
    share = 0.4
    pop = build_population(
        N, seed=5, n_regions=REGIONS, circle_homophily=homophily, market_generation_share=share
    )
    # A member of a cohort-c block is of cohort c with probability q_c; memberships fall in
    # the cohort-1 blocks with probability `share`.
    q1, q0 = homophily + (1 - homophily) * share, homophily + (1 - homophily) * (1 - share)
    expected = share * (q1**2 + (1 - q1) ** 2) + (1 - share) * (q0**2 + (1 - q0) ** 2)
    share, error = same_cohort_pair_share(pop)
    assert share == pytest.approx(expected, abs=5 * error + 1e-9)


def test_roles_and_border_regions(pop):
    for flags, fraction in ((pop.trader, 0.024), (pop.informant, 0.01)):
        assert flags.dtype == np.bool_
        assert abs(flags.sum() - N * fraction) < 5 * np.sqrt(N * fraction * (1 - fraction))
    assert np.all(np.isin(pop.cohort, [0, 1]))
    assert abs(pop.cohort.mean() - 0.4) < 5 * np.sqrt(0.24 / N)
    # Census regions, one per province at 10 regions: the four provinces bordering China.
    assert pop.border_regions.tolist() == [2, 3, 8, 9]
    country = PopulationConfig()
    assert country.regions == "census" and country.n_regions == 200


# ------------------------------------------------------------------ ties
def test_network_is_canonical_csr(pop):
    """Sorted symmetric rows without duplicates: rebuilding through from_edges changes nothing."""
    net = pop.network
    pairs, trust, kind = net.edges()
    assert Network.from_edges(N, pairs, trust, kind) == net
    levels = np.asarray(pop.config.trust_levels, dtype=np.float32)
    assert np.array_equal(net.trust, levels[net.kind])
    assert set(np.unique(net.kind)) == {1, 2, 3, 4}


def test_ties_come_from_groups_markets_and_trade(pop):
    net, groups = pop.network, pop.groups
    pairs, trust, kind = net.edges()
    n = np.int64(N)
    tie_key = pairs[:, 0] * n + pairs[:, 1]
    levels = np.asarray(pop.config.trust_levels, dtype=np.float32)
    # Every pair of co-members is a tie at least as trusted as their group makes it.
    for g_kind in (1, 2):
        for size in range(2, 9):
            ids = np.flatnonzero((groups.kind == g_kind) & (groups.sizes() == size))
            members = groups.members[groups.offsets[ids][:, None] + np.arange(size)].astype(
                np.int64
            )
            iu, ju = np.triu_indices(size, 1)
            u, v = (
                np.minimum(members[:, iu], members[:, ju]),
                np.maximum(members[:, iu], members[:, ju]),
            )
            where = np.searchsorted(tie_key, (u * n + v).ravel())
            assert np.array_equal(tie_key[where], (u * n + v).ravel())
            assert np.all(trust[where] >= levels[g_kind])
    # Household and circle ties join members of one group of that kind.
    tied = {1: set(), 2: set()}
    for g_kind in (1, 2):
        for a, b in pairs[kind == g_kind][:2000]:
            mine = set(groups.of_agent(a)) & set(groups.of_agent(b))
            tied[g_kind].add(bool(mine) and any(groups.kind[g] == g_kind for g in mine))
    assert tied == {1: {True}, 2: {True}}
    market, trade = pairs[kind == 3], pairs[kind == 4]
    assert np.all(pop.trader[market].any(axis=1))
    assert np.all(pop.region[market[:, 0]] == pop.region[market[:, 1]])
    assert np.all(pop.trader[trade].all(axis=1))
    assert np.all(pop.region[trade[:, 0]] != pop.region[trade[:, 1]])


def test_batches_of_regions_give_the_same_network(pop, monkeypatch):
    """Rows laid out a few regions at a time (ties crossing batches included) match one batch."""
    from diffusion.population import build as population_build

    monkeypatch.setattr(population_build, "BATCH_AGENTS", 3_000)
    assert len(population_build._region_batches(np.searchsorted(pop.region, range(11)))) > 3
    assert build_population(N, seed=7, n_regions=REGIONS) == pop


def test_travel_knob_sets_the_share_of_cross_region_ties():
    shares, trade_ties = [], []
    for travel in (0.0, 0.3, 0.6, 1.0):
        pop = build_population(N, seed=11, n_regions=REGIONS, travel=travel)
        shares.append(pop.summary()["cross_region_share"])
        pairs, _, kind = pop.network.edges()
        trade_ties.append({tuple(p) for p in pairs[kind == 4]})
        potential = pop.trader.sum() * pop.config.trade_ties_per_trader
        # Each potential tie exists with probability `travel` (few coincide at this size).
        sd = np.sqrt(potential * travel * (1 - travel)) + 1
        assert abs(len(trade_ties[-1]) - potential * travel) < 5 * sd + 0.01 * potential
    assert shares[0] == 0.0
    assert shares[0] < shares[1] < shares[2] < shares[3]
    # The same potential ties are thinned: a stricter setting keeps a subset of them.
    assert trade_ties[1] <= trade_ties[2] <= trade_ties[3]


def test_clustering_far_above_erdos_renyi_of_same_density(pop):
    summary = pop.summary()
    er = Network.erdos_renyi(N, summary["degree"]["mean"], seed=1).to_igraph()
    assert summary["clustering"]["method"] == "exact"
    assert summary["clustering"]["transitivity"] > 20 * er.transitivity_undirected()


def test_components_of_a_split_population():
    """Sealed regions (travel 0) fall apart into at least one component per region."""
    pop = build_population(N, seed=2, n_regions=REGIONS, travel=0.0)
    summary = pop.summary()
    assert summary["components"]["count"] >= REGIONS
    assert summary["components"]["count"] == len(pop.network.to_igraph().connected_components())


def test_summary_counts_and_sampled_clustering(pop):
    summary = pop.summary()
    net = pop.network
    assert summary["agents"] == N and summary["edges"] == net.n_edges
    assert sum(summary["edges_by_kind"].values()) == net.n_edges
    assert summary["degree"]["mean"] == pytest.approx(2 * net.n_edges / N)
    assert summary["households"] + summary["circles"] == pop.groups.n_groups
    graph = net.to_igraph()
    parts = graph.connected_components()
    assert summary["components"]["count"] == len(parts)
    assert summary["components"]["largest"] == max(parts.sizes())
    assert summary["bytes"] == pop.nbytes
    # A "sample" of every agent reproduces igraph's exact figures.
    from diffusion.population.summary import sampled_clustering

    everyone = sampled_clustering(net, N, seed=0)
    assert everyone["transitivity"] == pytest.approx(summary["clustering"]["transitivity"])
    assert everyone["mean_local"] == pytest.approx(summary["clustering"]["mean_local"])


# ------------------------------------------------------------------ determinism, storage
def test_same_seed_same_population_other_seed_differs(pop):
    again = build_population(N, seed=7, n_regions=REGIONS)
    assert again == pop
    assert PopulationConfig(n_agents=N, n_regions=REGIONS).build(seed=7) == pop
    other = build_population(N, seed=8, n_regions=REGIONS)
    assert other != pop
    assert not np.array_equal(other.network.offsets, pop.network.offsets)


def test_save_load_round_trip_is_exact(pop, tmp_path):
    path = tmp_path / "country.npz"
    pop.save(path)
    assert [p.name for p in tmp_path.iterdir()] == ["country.npz"]  # no temporary file left
    loaded = Population.load(path)
    assert loaded == pop
    assert loaded.config == pop.config and loaded.seed == pop.seed
    for name, array in pop._arrays().items():
        assert loaded._arrays()[name].dtype == array.dtype, name


def test_corrupt_truncated_or_foreign_files_are_refused(pop, tmp_path):
    path = tmp_path / "pop.npz"
    pop.save(path)
    data = path.read_bytes()
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="truncated.npz: not a readable population file"):
        Population.load(truncated)
    corrupt = tmp_path / "corrupt.npz"
    middle = len(data) // 2
    corrupt.write_bytes(
        data[:middle] + bytes(b ^ 0xFF for b in data[middle : middle + 64]) + data[middle + 64 :]
    )
    with pytest.raises(ValueError, match="corrupt.npz"):
        Population.load(corrupt)
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, x=np.arange(3))
    with pytest.raises(ValueError, match="foreign.npz"):
        Population.load(foreign)
    text = tmp_path / "text.npz"
    text.write_text("not a zip file")
    with pytest.raises(ValueError, match="text.npz"):
        Population.load(text)
    with pytest.raises(FileNotFoundError):
        Population.load(tmp_path / "missing.npz")


def test_mismatched_files_are_refused(pop, tmp_path):
    from diffusion.population import io as population_io

    arrays = pop._arrays()
    meta = {
        "format_version": 999,
        "seed": 7,
        "config": pop.config.model_dump(mode="json"),
        "province_names": list(pop.province_names),
    }
    population_io.write(tmp_path / "future.npz", arrays, meta)
    with pytest.raises(ValueError, match="format version 999"):
        Population.load(tmp_path / "future.npz")
    meta["format_version"] = FORMAT_VERSION
    population_io.write(tmp_path / "short.npz", {**arrays, "region": arrays["region"][:-1]}, meta)
    with pytest.raises(ValueError, match="inconsistent population file"):
        Population.load(tmp_path / "short.npz")
    wide = {**arrays, "household": arrays["household"].astype(np.int64)}
    population_io.write(tmp_path / "wide.npz", wide, meta)
    with pytest.raises(ValueError, match="household is int64"):
        Population.load(tmp_path / "wide.npz")
    with zipfile.ZipFile(tmp_path / "short.npz") as archive:
        assert "__meta__.npy" in archive.namelist()
    population_io.write(tmp_path / "nameless.npz", arrays, {**meta, "province_names": [1, 2]})
    with pytest.raises(ValueError, match="province_names must be a list of strings"):
        Population.load(tmp_path / "nameless.npz")
    few = {**meta, "province_names": ["only one"]}
    population_io.write(tmp_path / "few.npz", arrays, few)
    with pytest.raises(ValueError, match=r"province ids must be in \[0, 0\]"):
        Population.load(tmp_path / "few.npz")


# ------------------------------------------------------------------ validation, simulation
@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"n_agents": -5}, "n_agents"),
        ({"n_agents": 50}, "n_agents"),  # too few for 10 regions with room for a household
        ({"n_regions": 0}, "n_regions"),
        ({"border_regions": 3}, "border_regions"),  # census regions: the provinces decide
        ({"regions": "synthetic", "border_regions": 11}, "border_regions"),
        ({"regions": "synthetic", "border_regions": -1}, "border_regions"),
        ({"household_size_min": 0}, "household_size_min"),
        ({"household_size_min": 6, "household_size_max": 5}, "household_size_min"),
        ({"household_size": 9.0}, "household_size"),
        ({"circle_size": (5, 3)}, "circle_size"),
        ({"circle_size": (1, 3)}, "circle_size"),
        ({"circles_per_agent": (3, 1)}, "circles_per_agent"),
        ({"circles_per_agent": (-1, 2)}, "circles_per_agent"),
        ({"trader_fraction": 1.5}, "trader_fraction"),
        ({"informant_fraction": -0.1}, "informant_fraction"),
        ({"market_generation_share": 2.0}, "market_generation_share"),
        ({"circle_homophily": -0.5}, "circle_homophily"),
        ({"travel": 1.1}, "travel"),
        ({"customers_per_trader": -3}, "customers_per_trader"),
        ({"trust_circle": 0.0}, "trust_circle"),
        ({"trust_market": 1.5}, "trust_market"),
        ({"region_inequality": -1.0}, "region_inequality"),
        ({"n_agent": 5}, "n_agent"),  # unknown option
    ],
)
def test_bad_configuration_names_the_field(options, field):
    options = {"n_agents": N, "n_regions": REGIONS, **options}
    n_agents = options.pop("n_agents")
    with pytest.raises(ValueError, match=field):
        build_population(n_agents, seed=0, **options)


def test_bad_seed_is_refused():
    with pytest.raises(ValueError, match="seed"):
        build_population(N, seed=-1, n_regions=REGIONS)


def test_options_at_their_limits_build():
    pop = build_population(
        2_000,
        seed=1,
        regions="synthetic",
        n_regions=1,
        border_regions=0,
        region_inequality=0.0,
        circles_per_agent=(0, 0),
        household_size=1.0,
        household_size_max=1,
        trader_fraction=0.0,
    )
    assert pop.network.n_edges == 0
    assert pop.groups.n_groups == 2_000 and np.all(pop.groups.sizes() == 1)
    fixed = build_population(5_000, seed=1, n_regions=10, circle_size=(5, 5), household_size=4.0)
    circles = fixed.groups.sizes()[fixed.groups.kind == 2]
    assert np.all(circles == 5)
    # The smallest population 200 regions allow: regions of a few households, some too small
    # for a circle in every layer; the arrays still fit together.
    tiny = build_population(1_600, seed=1)
    tiny.check()
    assert set(np.unique(tiny.region)) == set(range(200))
    assert np.all(tiny.groups.sizes()[tiny.groups.kind == 2] >= 3)


def test_simulate_runs_on_a_built_population(pop):
    result = diffusion.simulate(pop.network, diffusion.Params(beta=0.1, gamma=0.2), seeds=5, rng=1)
    assert result.counts[0].sum() == N
    assert result.counts[-1, 2] == 0  # the run went on until no holder was left
    assert result.final["S"] < N - 5  # media reached beyond the seeds
