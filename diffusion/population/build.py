"""Vectorised construction of the synthetic population: agents, groups and the trust network.

Everything is numpy over whole arrays; the only Python loops run over streams, group sizes,
circle layers, row widths and batches of regions, never over agents or groups. Agents are
numbered by region, then household, so each household is a range of ids and most ties join
nearby ids.

The network is laid out without a global sort: every tie's slot in its row is known from the
groups (``_batch_rows``), and rows are sorted as short padded 2-D rows. At 25 M agents and
1.9 x 10^8 ties this builds in about a minute with a peak of about 6 GiB
(``benchmarks/population_scale.py``).

Each part draws from its own child of ``SeedSequence(seed, spawn_key=(POPULATION_KEY,))``, so
changing one option leaves the draws of unrelated parts unchanged (the ``travel`` knob only thins
the same potential trade ties).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from diffusion.population.config import PopulationConfig
from diffusion.population.provinces import PROVINCES, largest_remainder
from diffusion.ties import KIND

HOUSEHOLD, CIRCLE, MARKET, TRADE = (KIND[k] for k in ("household", "circle", "market", "trade"))
"""Tie and group kinds, as indices into ``diffusion.ties.TIE_KINDS``."""

BATCH_AGENTS = 1 << 21
"""Agents whose rows are laid out together: bounds the padded row buffer (~25 slots per agent,
4 bytes each) and the index arrays that fill it to a few hundred MB."""

POPULATION_KEY = 0x706F70
"""Purpose tag ("pop" in ASCII) in the spawn key of the builder's seed sequence: a run's replicates
draw from ``SeedSequence(seed).spawn(n)``, whose children have spawn keys ``(0,)``, ``(1,)``, ...,
so with the tag no other use of the same seed shares the builder's streams."""

_STREAMS = ("regions", "households", "attributes", "circles", "market", "trade")
"""One child stream per part, in spawn order: a new part appends its name at the end, so the
streams of the others stay the same."""


@dataclass
class Agents:
    """Per-agent arrays and the household layout they imply."""

    region: npt.NDArray[np.int16]
    household: npt.NDArray[np.int32]
    household_start: npt.NDArray[np.int64]
    """H + 1 entries: household ``h`` is agents ``household_start[h]:household_start[h + 1]``."""
    region_start: npt.NDArray[np.int64]
    """R + 1 entries: region ``r`` is agents ``region_start[r]:region_start[r + 1]``."""
    region_household_start: npt.NDArray[np.int64]
    """R + 1 entries: the households of region ``r``."""
    cohort: npt.NDArray[np.uint8]
    trader: npt.NDArray[np.bool_]
    informant: npt.NDArray[np.bool_]
    border_regions: npt.NDArray[np.int16]
    region_province: npt.NDArray[np.int8]
    province_names: tuple[str, ...]


@dataclass
class RegionLayout:
    """How households fall into regions, and regions into provinces."""

    households: npt.NDArray[np.int64]
    """Households of each region (at least one)."""
    region_province: npt.NDArray[np.int8]
    province_names: tuple[str, ...]
    border_regions: npt.NDArray[np.int16]
    """Ids of the border regions, sorted."""


@dataclass
class Circles:
    """Viewing circles as CSR over member ids, ordered by region."""

    offsets: npt.NDArray[np.int64]
    members: npt.NDArray[np.int32]
    region: npt.NDArray[np.int16]
    layer: npt.NDArray[np.uint8]
    """Which of the member's circles this is (0 = first); an agent is in each layer once."""


@dataclass
class Built:
    """Everything ``build_population`` assembles into a ``Population``."""

    agents: Agents
    circles: Circles
    csr: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
    """(offsets, neighbours, trust, kind) of the trust network."""
    groups: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]
    """(offsets, members, kind, agent_offsets, agent_groups) of households then circles."""


def build(config: PopulationConfig, seed: int) -> Built:
    """Draw agents, households, circles, market and trade ties and lay out the network."""
    root = np.random.SeedSequence(seed, spawn_key=(POPULATION_KEY,))
    streams = dict(zip(_STREAMS, root.spawn(len(_STREAMS)), strict=True))
    rngs = {name: np.random.default_rng(s) for name, s in streams.items()}
    agents = draw_agents(config, rngs)
    circles = draw_circles(config, agents, rngs["circles"])
    market = draw_market_ties(config, agents, rngs["market"])
    trade = draw_trade_ties(config, agents, rngs["trade"])
    csr = lay_out_network(config, agents, circles, market, trade)
    groups = lay_out_groups(config, agents, circles)
    return Built(agents, circles, csr, groups)


# --------------------------------------------------------------------------- agents
def draw_agents(config: PopulationConfig, rngs: dict[str, np.random.Generator]) -> Agents:
    """Households of binomial size in the configured range, grouped into unequal regions."""
    n = config.n_agents
    sizes = household_sizes(config, rngs["households"])
    household_start = _exclusive_cumsum(sizes)
    if config.regions == "census":
        layout = census_regions(config, household_start, rngs["regions"])
    else:
        layout = synthetic_regions(config, len(sizes), rngs["regions"])
    region_household_start = _exclusive_cumsum(layout.households)
    region_start = household_start[region_household_start]
    household = np.repeat(np.arange(len(sizes), dtype=np.int32), sizes)
    region = np.repeat(np.arange(config.n_regions, dtype=np.int16), np.diff(region_start))
    rng = rngs["attributes"]
    cohort = (rng.random(n, dtype=np.float32) < config.market_generation_share).view(np.uint8)
    trader = rng.random(n, dtype=np.float32) < config.trader_fraction
    informant = rng.random(n, dtype=np.float32) < config.informant_fraction
    return Agents(
        region=region,
        household=household,
        household_start=household_start,
        region_start=region_start,
        region_household_start=region_household_start,
        cohort=cohort,
        trader=trader,
        informant=informant,
        border_regions=layout.border_regions,
        region_province=layout.region_province,
        province_names=layout.province_names,
    )


def synthetic_regions(
    config: PopulationConfig, n_households: int, rng: np.random.Generator
) -> RegionLayout:
    """Regions of log-normal weights in one province; ``border_regions`` of them drawn at random.

    Every region gets one household and the rest follow the weights (n >= R * max size).
    """
    n_regions = config.n_regions
    weights = rng.lognormal(0.0, config.region_inequality, n_regions)
    households = 1 + rng.multinomial(n_households - n_regions, weights / weights.sum())
    border = np.sort(rng.choice(n_regions, size=config.border_regions, replace=False))
    return RegionLayout(
        households=households,
        region_province=np.zeros(n_regions, dtype=np.int8),
        province_names=("synthetic",),
        border_regions=border.astype(np.int16),
    )


def census_regions(
    config: PopulationConfig, household_start: npt.NDArray[np.int64], rng: np.random.Generator
) -> RegionLayout:
    """Regions nested in the census provinces, numbered province by province.

    Regions and agents are split among the provinces in proportion to their census populations
    by largest remainder (regions at least one each). A province's agents are the households
    whose first member falls in its share of the ids, so it is off its exact share by less
    than one household (unless it must borrow households to give each of its regions one).
    Inside a province, regions get one household each and the rest by log-normal weights, as
    synthetic regions do. The border regions are the regions of the provinces bordering China.
    """
    population = np.array([p.population for p in PROVINCES], dtype=np.int64)
    n_households = len(household_start) - 1
    per_province = largest_remainder(config.n_regions, population, minimum=1)
    region_province = np.repeat(np.arange(len(PROVINCES), dtype=np.int8), per_province)
    targets = np.cumsum(largest_remainder(config.n_agents, population))
    cuts = _nearest(household_start, targets)
    # Each province needs a household per region: keep cut[p] - (regions up to p) nondecreasing.
    floor = np.cumsum(per_province)
    slack = np.maximum.accumulate(np.clip(cuts - floor, 0, n_households - config.n_regions))
    province_households = np.diff(slack + floor, prepend=0)
    weights = rng.lognormal(0.0, config.region_inequality, config.n_regions)
    households = np.ones(config.n_regions, dtype=np.int64)
    for p, (lo, hi) in enumerate(itertools.pairwise(_exclusive_cumsum(per_province))):
        w = weights[lo:hi]
        households[lo:hi] += rng.multinomial(province_households[p] - (hi - lo), w / w.sum())
    border = np.flatnonzero(np.array([p.borders_china for p in PROVINCES])[region_province])
    return RegionLayout(
        households=households,
        region_province=region_province,
        province_names=tuple(p.name for p in PROVINCES),
        border_regions=border.astype(np.int16),
    )


def _nearest(boundaries: npt.NDArray[np.int64], values: npt.NDArray[np.int64]) -> np.ndarray:
    """Index of the entry of sorted ``boundaries`` nearest each value (the lower one on a tie)."""
    above = np.clip(np.searchsorted(boundaries, values), 1, len(boundaries) - 1)
    below = above - 1
    closer_below = values - boundaries[below] <= boundaries[above] - values
    return np.where(closer_below, below, above)


def household_sizes(config: PopulationConfig, rng: np.random.Generator) -> npt.NDArray[np.int64]:
    """Sizes ``min + Binomial(max - min, p)`` with the configured mean, summing to ``n_agents``.

    The last household takes the agents left over; if that is below the minimum it borrows one
    member from each of the latest households above the minimum (when there are none, as with
    min = max and a remainder, it stays smaller).
    """
    n, low, high = config.n_agents, config.household_size_min, config.household_size_max
    p = 0.0 if high == low else (config.household_size - low) / (high - low)
    batch = int(n / config.household_size * 1.01) + 64
    sizes = low + rng.binomial(high - low, p, batch)
    while sizes.sum() < n:  # almost never taken: the first batch has 1 % to spare
        sizes = np.concatenate([sizes, low + rng.binomial(high - low, p, batch // 10 + 64)])
    total = np.cumsum(sizes)
    last = int(np.searchsorted(total, n))
    sizes = sizes[: last + 1]
    sizes[last] -= total[last] - n
    deficit = low - sizes[last]
    if deficit > 0:
        donors = np.flatnonzero(sizes[:last] > low)[-deficit:]
        sizes[donors] -= 1
        sizes[last] += len(donors)
    return sizes


# --------------------------------------------------------------------------- circles
def draw_circles(config: PopulationConfig, agents: Agents, rng: np.random.Generator) -> Circles:
    """Viewing circles: per region and layer, shuffle the members and cut them into circles.

    Each agent draws how many circles it joins; its k-th membership goes to layer k, and a
    circle is cut from the memberships of one (region, layer, cohort block). An agent is in a
    layer once, so no circle holds anyone twice. With probability ``circle_homophily`` a
    membership goes to the block of the agent's own cohort, otherwise to a block drawn with the
    population's cohort shares. A block too small for one circle is left without circles, and a
    leftover too small to be a circle joins the previous circle, or splits with it, or (only
    when the size range is narrower than that needs) is dropped: those agents lose one circle.
    """
    n = config.n_agents
    low, high = config.circles_per_agent
    layers = max(high, 1)
    count = rng.integers(low, high + 1, n, dtype=np.uint8)
    stub_agent = np.concatenate([np.flatnonzero(count > k).astype(np.int32) for k in range(layers)])
    stub_layer = np.repeat(
        np.arange(layers, dtype=np.uint8), [np.count_nonzero(count > k) for k in range(layers)]
    )
    del count
    own = rng.random(len(stub_agent), dtype=np.float32) < config.circle_homophily
    drawn = rng.random(len(stub_agent), dtype=np.float32) < config.market_generation_share
    block_cohort = np.where(own, agents.cohort[stub_agent].astype(bool), drawn)
    del own, drawn
    # Blocks ordered by region, then layer, then cohort: circles come out in region order.
    block = (agents.region[stub_agent].astype(np.int64) * layers + stub_layer) * 2 + block_cohort
    del stub_layer, block_cohort
    n_blocks = config.n_regions * layers * 2
    block = block.astype(np.uint16 if n_blocks <= 1 << 16 else np.int32)
    # A shuffle, then a stable (radix, for uint16) sort by block: each block in random order.
    order = rng.permutation(len(block))
    order = order[np.argsort(block[order], kind="stable")]
    stub_agent = stub_agent[order]
    block_size = np.bincount(block, minlength=n_blocks)
    del block, order
    start, size, circle_block = _cut_blocks(block_size, config.circle_size, rng)
    start += _exclusive_cumsum(block_size)[:-1][circle_block]
    members = stub_agent[ranges(start, size)]
    return Circles(
        offsets=_exclusive_cumsum(size),
        members=members,
        region=(circle_block // (2 * layers)).astype(np.int16),
        layer=((circle_block // 2) % layers).astype(np.uint8),
    )


def _cut_blocks(
    block_size: npt.NDArray[np.int64], size_range: tuple[int, int], rng: np.random.Generator
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Cut each block into consecutive circles of sizes drawn uniformly in ``size_range``.

    Returns the start of each circle inside its block, its size and its block.
    """
    low, high = size_range
    draws = np.where(block_size >= low, -(-block_size // low), 0)  # enough to cover any block
    size = rng.integers(low, high + 1, int(draws.sum()), dtype=np.int64)
    block = np.repeat(np.arange(len(block_size)), draws)
    start = np.cumsum(size) - size
    start -= start[_exclusive_cumsum(draws)[block]]
    keep = start < block_size[block]
    start, size, block = start[keep], size[keep], block[keep]
    if len(size) == 0:
        return start, size, block
    last = np.flatnonzero(np.append(block[1:] != block[:-1], True))
    size[last] = block_size[block[last]] - start[last]
    # A leftover below the minimum always has a predecessor in its block (blocks >= low).
    short = last[size[last] < low]
    prev = short - 1
    total = size[prev] + size[short]
    merge = total <= high
    split = ~merge & (total >= 2 * low)
    size[prev[merge]] = total[merge]
    half = total[split] // 2
    size[prev[split]] = half
    start[short[split]] = start[prev[split]] + half
    size[short[split]] = total[split] - half
    kept = np.ones(len(size), dtype=bool)
    kept[short[~split]] = False  # merged into the previous circle, or dropped
    return start[kept], size[kept], block[kept]


# --------------------------------------------------------------------------- market, trade
def draw_market_ties(
    config: PopulationConfig, agents: Agents, rng: np.random.Generator
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32]]:
    """Each trader's ties to ``customers_per_trader`` distinct other agents of its region (all of
    them in a region too small for that), drawn uniformly.

    Returns (trader, customer) sorted by trader. Drawn without replacement and never the trader
    itself, so a trader has as many market ties in a region of 500 agents as in one of 100,000
    (drawn with replacement, a region of 500 lost about 3% of them to repeats): the count is
    the same at every scale of the country.
    """
    traders = np.flatnonzero(agents.trader)
    region = agents.region[traders].astype(np.int64)
    low = agents.region_start[region]
    others = agents.region_start[region + 1] - low - 1
    k = np.minimum(config.customers_per_trader, others)
    picks = _distinct_below(others, k, rng)
    trader = np.repeat(traders, k)
    customer = np.repeat(low, k) + picks
    customer += customer >= trader  # skip the trader itself
    return trader.astype(np.int32), customer.astype(np.int32)


def _distinct_below(
    bound: npt.NDArray[np.int64], k: npt.NDArray[np.int64], rng: np.random.Generator
) -> npt.NDArray[np.int64]:
    """For each row ``i``, ``k[i]`` distinct integers drawn uniformly from ``[0, bound[i])``
    (``k <= bound``), concatenated row by row.

    Floyd's algorithm, vectorised over the rows: at the ``j``-th of ``k`` draws a row draws
    ``t`` uniformly in ``[0, bound - k + j]`` and keeps it, or ``bound - k + j`` if it has ``t``
    already; every ``k``-subset comes out equally likely. The loop runs over ``max(k)``, not rows.
    """
    rows, width = len(k), int(k.max(initial=0))
    chosen = np.full((rows, width), -1, dtype=np.int64)
    for j in range(width):
        active = np.flatnonzero(k > j)
        top = bound[active] - k[active] + j  # draw in [0, top]
        t = (rng.random(len(active)) * (top + 1)).astype(np.int64)
        taken = (chosen[active, :j] == t[:, None]).any(axis=1)
        chosen[active, j] = np.where(taken, top, t)
    return chosen[np.arange(width) < k[:, None]]


def draw_trade_ties(
    config: PopulationConfig, agents: Agents, rng: np.random.Generator
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32]]:
    """Trade ties between traders of different regions, both directions, sorted by source.

    Each trader has ``trade_ties_per_trader`` potential ties to traders drawn uniformly from
    the other regions (so busier regions attract more), and each exists with probability
    ``travel``. The potential ties are drawn whatever ``travel`` is, so raising it only adds ties.
    """
    traders = np.flatnonzero(agents.trader)
    k = config.trade_ties_per_trader
    per_region = np.bincount(agents.region[traders], minlength=config.n_regions)
    first = _exclusive_cumsum(per_region)
    source = np.repeat(np.arange(len(traders)), k)
    region = agents.region[traders][source]
    exists = rng.random(len(source)) < config.travel
    others = len(traders) - per_region[region]
    pick = (rng.random(len(source)) * others).astype(np.int64)
    pick += np.where(pick >= first[region], per_region[region], 0)  # skip the own region
    keep = exists & (others > 0)
    u, v = traders[source[keep]], traders[pick[keep]]
    src, dst = np.concatenate([u, v]), np.concatenate([v, u])
    order = np.argsort(src, kind="stable")
    return src[order].astype(np.int32), dst[order].astype(np.int32)


# --------------------------------------------------------------------------- network
def lay_out_network(
    config: PopulationConfig,
    agents: Agents,
    circles: Circles,
    market: tuple[np.ndarray, np.ndarray],
    trade: tuple[np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """CSR arrays of all ties, built batch by batch of regions (see ``_batch_rows``).

    Duplicate ties (e.g. household members who share a circle) are merged, keeping the kind
    with the highest trust, as ``Network`` documents.
    """
    n = config.n_agents
    levels = np.asarray(config.trust_levels, dtype=np.float32)
    # Rank 0 = most trusted kind: sorting a row puts the tie to keep first among duplicates.
    built = (HOUSEHOLD, CIRCLE, MARKET, TRADE)
    kind_of_rank = np.array(sorted(built, key=lambda k: (-levels[k], k)), dtype=np.uint8)
    value = np.uint32 if (n - 1).bit_length() + 3 <= 32 else np.uint64
    rank_of_kind = np.zeros(len(levels), dtype=value)
    rank_of_kind[kind_of_rank] = np.arange(len(built), dtype=value)
    hh_sizes = np.diff(agents.household_start)
    c_sizes = np.diff(circles.offsets)
    bound = int(
        (hh_sizes * (hh_sizes - 1)).sum()
        + (c_sizes * (c_sizes - 1)).sum()
        + 2 * len(market[0])
        + len(trade[0])
    )
    offsets = np.zeros(n + 1, dtype=np.int64)
    neighbours = np.empty(bound, dtype=np.int32)
    kind = np.empty(bound, dtype=np.uint8)
    circle_region_start = np.searchsorted(circles.region, np.arange(config.n_regions + 1))
    layers = int(circles.layer.max(initial=0)) + 1
    filled = 0
    for r0, r1 in _region_batches(agents.region_start):
        a, b = int(agents.region_start[r0]), int(agents.region_start[r1])
        h0, h1 = agents.region_household_start[r0], agents.region_household_start[r1]
        c0, c1 = int(circle_region_start[r0]), int(circle_region_start[r1])
        counts, kept = _batch_rows(
            a,
            b,
            rank_of_kind,
            agents.household_start[h0 : h1 + 1],
            circles.offsets[c0 : c1 + 1],
            circles.members,
            circles.layer[c0:c1],
            layers,
            _slice(market, a, b),
            _slice(trade, a, b),
        )
        offsets[a + 1 : b + 1] = counts
        row_start = filled + _exclusive_cumsum(counts)
        for rows, values in kept:
            where = ranges(row_start[rows], counts[rows])
            neighbours[where] = values >> 3
            kind[where] = kind_of_rank[values & 7]
        filled = int(row_start[-1])
        del kept
    neighbours.resize(filled, refcheck=False)  # in place: no second copy of the big arrays
    kind.resize(filled, refcheck=False)
    np.cumsum(offsets, out=offsets)
    return offsets, neighbours, levels[kind], kind


def _batch_rows(
    a: int,
    b: int,
    rank_of_kind: np.ndarray,
    household_start: npt.NDArray[np.int64],
    circle_offsets: npt.NDArray[np.int64],
    circle_members: npt.NDArray[np.int32],
    circle_layer: npt.NDArray[np.uint8],
    layers: int,
    market: tuple[np.ndarray, np.ndarray],
    trade: tuple[np.ndarray, np.ndarray],
) -> tuple[npt.NDArray[np.int64], list[tuple[np.ndarray, np.ndarray]]]:
    """The sorted, merged rows of agents ``a:b``: their lengths, and ``(rows, values)`` per width.

    A value is ``target << 3 | kind rank``; the values of each group of rows come row by row.

    Every tie has a slot known in advance: a row is laid out as sections (household mates,
    the circle mates of each layer, market ties out, market ties in, trade ties), and a
    co-member's slot in a section is its position in the group. Rows are padded to a power of
    two (at least 16) and rows of one width sorted together as a 2-D array along its rows: short
    sorts run in vector registers, about 50 times faster here than one sort of the whole batch.
    """
    dtype = rank_of_kind.dtype.type
    empty = np.iinfo(dtype).max
    nb = b - a
    hh_size = np.diff(household_start)
    c_size = np.diff(circle_offsets)
    member = circle_members[circle_offsets[0] : circle_offsets[-1]].astype(np.int64) - a
    (m_trader, m_customer), (t_src, t_dst) = market, trade
    m_trader, m_customer, t_src = (x.astype(np.int64) - a for x in (m_trader, m_customer, t_src))
    section = np.zeros((layers + 4, nb), dtype=np.int64)
    section[0] = np.repeat(hh_size - 1, hh_size)
    section[1 + np.repeat(circle_layer, c_size), member] = np.repeat(c_size - 1, c_size)
    section[layers + 1] = np.bincount(m_trader, minlength=nb)
    section[layers + 2] = np.bincount(m_customer, minlength=nb)
    section[layers + 3] = np.bincount(t_src, minlength=nb)
    del member
    first = np.cumsum(section, axis=0) - section
    length = first[-1] + section[-1]
    del section
    exponent = np.maximum(4, np.ceil(np.log2(np.maximum(length, 1)))).astype(np.int64)
    tiers = []
    row_base = np.empty(nb, dtype=np.int64)
    size = 0
    for e in np.unique(exponent):
        rows = np.flatnonzero(exponent == e)
        row_base[rows] = size + np.arange(len(rows)) * (1 << e)
        tiers.append((rows, 1 << int(e), size))
        size += len(rows) << int(e)
    buffer = np.full(size, empty, dtype=dtype)
    put = _Rows(buffer, rank_of_kind).put
    first += row_base  # each section's first slot in the buffer
    del row_base
    for s in range(2, int(hh_size.max(initial=0)) + 1):
        iu, ju = np.triu_indices(s, 1)
        member = household_start[:-1][hh_size == s][:, None] - a + np.arange(s)
        slot = first[0, member]
        put(slot[:, iu] + (ju - 1), member[:, ju] + a, HOUSEHOLD)
        put(slot[:, ju] + iu, member[:, iu] + a, HOUSEHOLD)
    for s in range(2, int(c_size.max(initial=0)) + 1):
        iu, ju = np.triu_indices(s, 1)
        which = np.flatnonzero(c_size == s)
        member = circle_members[circle_offsets[:-1][which][:, None] + np.arange(s)]
        slot = first[1 + circle_layer[which][:, None].astype(np.int64), member - a]
        put(slot[:, iu] + (ju - 1), member[:, ju], CIRCLE)
        put(slot[:, ju] + iu, member[:, iu], CIRCLE)
    slot = first[layers + 1, m_trader] + _rank_in_run(m_trader)
    put(slot, m_customer + a, MARKET)
    order = np.argsort(m_customer, kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = _rank_in_run(m_customer[order])
    put(first[layers + 2, m_customer] + rank, m_trader + a, MARKET)
    put(first[layers + 3, t_src] + _rank_in_run(t_src), t_dst, TRADE)
    del first, order, rank, slot, put
    counts = np.zeros(nb, dtype=np.int64)
    kept = []
    for rows, width, base in tiers:
        block = buffer[base : base + len(rows) * width].reshape(len(rows), width)
        block.sort(axis=1)
        pair = block >> dtype(3)
        keep = block != empty
        keep[:, 1:] &= pair[:, 1:] != pair[:, :-1]  # duplicates: the most trusted sorts first
        counts[rows] = keep.sum(axis=1)
        kept.append((rows, block[keep]))
        del pair, keep
    return counts, kept


@dataclass
class _Rows:
    """The padded rows of a batch being filled: ``put`` writes ties at their slots."""

    buffer: np.ndarray
    rank_of_kind: np.ndarray

    def put(self, slot: np.ndarray, target: np.ndarray, kind: int) -> None:
        """Write ties to ``target`` (global ids) of ``kind`` at buffer positions ``slot``."""
        dtype = self.buffer.dtype.type
        self.buffer[slot] = (target.astype(dtype) << dtype(3)) | self.rank_of_kind[kind]


def _rank_in_run(sorted_ids: np.ndarray) -> npt.NDArray[np.int64]:
    """Position of each entry among the equal entries before it, in a sorted array."""
    return np.arange(len(sorted_ids)) - np.searchsorted(sorted_ids, sorted_ids, side="left")


def _slice(ties: tuple[np.ndarray, np.ndarray], a: int, b: int) -> tuple[np.ndarray, np.ndarray]:
    """The ties, sorted by source, whose source is in ``[a, b)``."""
    lo, hi = np.searchsorted(ties[0], [a, b])
    return ties[0][lo:hi], ties[1][lo:hi]


def _region_batches(region_start: npt.NDArray[np.int64]) -> list[tuple[int, int]]:
    """Consecutive regions grouped into batches of at most ``BATCH_AGENTS`` (or one region)."""
    batches, r0, n_regions = [], 0, len(region_start) - 1
    while r0 < n_regions:
        r1 = int(np.searchsorted(region_start, region_start[r0] + BATCH_AGENTS, side="right")) - 1
        r1 = min(max(r1, r0 + 1), n_regions)
        batches.append((r0, r1))
        r0 = r1
    return batches


# --------------------------------------------------------------------------- groups
def lay_out_groups(
    config: PopulationConfig, agents: Agents, circles: Circles
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Households (group ids ``0..H-1``, equal to ``household``) then circles, and the inverse.

    The inverse lists each agent's groups by increasing id: its household, then its circles
    layer by layer.
    """
    n = config.n_agents
    n_households = len(agents.household_start) - 1
    offsets = np.concatenate([agents.household_start, n + circles.offsets[1:]])
    members = np.concatenate([np.arange(n, dtype=np.int32), circles.members])
    kind = np.repeat(
        np.array([HOUSEHOLD, CIRCLE], dtype=np.uint8),
        [n_households, len(circles.offsets) - 1],
    )
    layer = np.repeat(circles.layer, np.diff(circles.offsets))
    layers = int(circles.layer.max(initial=0)) + 1
    in_layer = np.zeros((layers, n), dtype=np.uint8)
    in_layer[layer, circles.members] = 1
    count = 1 + in_layer.sum(axis=0, dtype=np.int64)
    before = np.cumsum(in_layer, axis=0, dtype=np.uint8) - in_layer  # own circles in lower layers
    del in_layer
    agent_offsets = _exclusive_cumsum(count)
    agent_groups = np.empty(int(agent_offsets[-1]), dtype=np.int32)
    agent_groups[agent_offsets[:-1]] = agents.household
    circle_id = np.repeat(
        np.arange(len(circles.offsets) - 1, dtype=np.int32), np.diff(circles.offsets)
    )
    position = agent_offsets[circles.members] + 1 + before[layer, circles.members]
    agent_groups[position] = n_households + circle_id
    return offsets, members, kind, agent_offsets, agent_groups


# --------------------------------------------------------------------------- helpers
def _exclusive_cumsum(counts: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """``[0, c0, c0 + c1, ...]``: CSR offsets from counts."""
    counts = np.asarray(counts)
    out = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=out[1:])
    return out


def ranges(start: npt.NDArray[np.int64], length: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Concatenation of ``arange(s, s + l)`` over all pairs, without a Python loop."""
    total = int(length.sum())
    step = np.ones(total, dtype=np.int64)
    heads = _exclusive_cumsum(length)[:-1]
    nonempty = length > 0
    step[heads[nonempty]] = start[nonempty] - np.concatenate(
        [[0], (start + length - 1)[nonempty][:-1]]
    )
    return np.cumsum(step)
