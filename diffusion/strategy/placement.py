"""From a strategy to the copies of one run: how many, to whom, on which day (``EntrySchedule``).

Every random choice draws from the generator the caller passes, the replicate's placement stream
(``RunStreams.generator(PLACEMENT)``), in a fixed order: the rounding of each medium's count
(media in the model's order), the order of the media, then the recipients. So the same rule
gives the same copies in the same replicate, and the copies never touch the scenario's streams.

Ranked rules (``market_hubs``, ``trusted``) give copies to the best-ranked agents first, ties
broken at random; the others take the eligible agents in a random order. Either way the copies
go to distinct agents as long as there are enough, then round them again.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt

from diffusion.entry import EntrySchedule
from diffusion.network import Network
from diffusion.params import Params
from diffusion.population import Population
from diffusion.strategy.config import Strategy
from diffusion.ties import KIND
from diffusion.world import World

DAYS_PER_YEAR = 365


@dataclass(frozen=True, eq=False)
class Country:
    """What placement rules read of a world: regions, roles, households and tie strengths."""

    world: World
    trader: npt.NDArray[np.bool_]
    household: npt.NDArray[np.int64]

    @classmethod
    def of(cls, network: Network | Population) -> Country:
        """A bare network has no traders, and every agent is a household of its own."""
        world = World.of(network)
        if isinstance(network, Population):
            return cls(world, np.asarray(network.trader, bool), network.household.astype(np.int64))
        n = world.n_agents
        return cls(world, np.zeros(n, bool), np.arange(n, dtype=np.int64))

    @property
    def n_agents(self) -> int:
        return self.world.n_agents

    @cached_property
    def region(self) -> npt.NDArray[np.int64]:
        return self.world.agents["region"].astype(np.int64)

    @cached_property
    def summed_trust(self) -> npt.NDArray[np.float64]:
        """Each agent's trust summed over its ties."""
        net = self.world.network
        owner = np.repeat(np.arange(net.n_nodes), np.diff(net.offsets))
        return np.bincount(owner, weights=net.trust, minlength=net.n_nodes)

    @cached_property
    def market_customers(self) -> npt.NDArray[np.int64]:
        """Each agent's market ties (a trader's customers)."""
        net = self.world.network
        owner = np.repeat(np.arange(net.n_nodes), np.diff(net.offsets))
        return np.bincount(owner[net.kind == KIND["market"]], minlength=net.n_nodes)

    def area(self, where: str | list[str | int], field: str = "where") -> npt.NDArray[np.int64]:
        """The agents of ``border`` regions, ``anywhere``, or the listed provinces and regions."""
        if where == "anywhere":
            return np.arange(self.n_agents, dtype=np.int64)
        world = self.world
        if where == "border":
            regions = world.region_border
        else:
            regions = np.zeros(len(world.region_province), bool)
            for item in where:
                if isinstance(item, str):
                    if item not in world.province_names:
                        names = ", ".join(world.province_names)
                        raise ValueError(f"{field}: {item!r} is not a province ({names})")
                    regions |= world.region_province == world.province_names.index(item)
                elif 0 <= item < len(regions):
                    regions[item] = True
                else:
                    raise ValueError(f"{field}: region {item} is not in 0..{len(regions) - 1}")
        agents = np.flatnonzero(regions[self.region])
        if len(agents) == 0:
            raise ValueError(f"{field}: no agents live there")
        return agents


def recipients(
    country: Country,
    who: str,
    where: str | list[str | int],
    count: int,
    rng: np.random.Generator,
    agents: list[int] | None = None,
) -> npt.NDArray[np.int64]:
    """``count`` first recipients by the rule ``who`` in the area ``where`` (see the module).

    A rule that finds nobody is a ``ValueError`` naming the field (``who:``, ``where:``).
    """
    if who == "agents":
        ids = np.asarray(agents, dtype=np.int64)
        if ids.max() >= country.n_agents:
            raise ValueError(f"agents: {ids.max()} is not an agent id (0..{country.n_agents - 1})")
        return _cycle(ids, count)
    area = country.area(where)
    if who in ("traders", "market_hubs"):
        area = area[country.trader[area]]
        if len(area) == 0:
            raise ValueError(f"who: no traders live in the area ({where})")
    if who == "market_hubs":
        return _cycle(_ranked(area, country.market_customers[area], rng), count)
    if who == "trusted":
        return _cycle(_ranked(area, country.summed_trust[area], rng), count)
    if who == "households":
        return _cycle(_one_per_household(area, country.household, rng), count)
    if who == "spread":
        return _spread(area, country.region, count, rng)
    return _cycle(rng.permutation(area), count)


def _ranked(agents: np.ndarray, score: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``agents`` by decreasing ``score``, ties in a random order."""
    return agents[np.lexsort((rng.random(len(agents)), -score))]


def _cycle(order: np.ndarray, count: int) -> npt.NDArray[np.int64]:
    """The first ``count`` of ``order``, starting again from the top when it runs out."""
    return order[np.arange(count) % len(order)].astype(np.int64)


def _one_per_household(
    area: np.ndarray, household: np.ndarray, rng: np.random.Generator
) -> npt.NDArray[np.int64]:
    """One random member of each household of the area, households in a random order."""
    members = rng.permutation(area)
    _, first = np.unique(household[members], return_index=True)  # a random member each
    return rng.permutation(members[first])


def _spread(
    area: np.ndarray, region: np.ndarray, count: int, rng: np.random.Generator
) -> npt.NDArray[np.int64]:
    """Copy ``i`` to region ``i mod R`` of the area's ``R`` regions (in a random order), and in
    it to the next of its agents (in a random order): as even over regions as ``count`` allows."""
    order = rng.permutation(area)
    regions = rng.permutation(np.unique(region[area]))
    queues = [order[region[order] == r] for r in regions]
    picks = [queues[i % len(queues)][(i // len(queues)) % len(queues[i % len(queues)])]
             for i in range(count)]  # fmt: skip
    return np.asarray(picks, dtype=np.int64)


def copies_per_medium(
    budget: dict[str, float],
    media: tuple[str, ...],
    steps: int,
    scale: float,
    rng: np.random.Generator,
) -> npt.NDArray[np.int64]:
    """Copies of each medium over ``steps`` days: ``budget * steps / 365 * scale``, the fraction
    rounded up with its probability (one draw per medium of the model, in its order)."""
    expected = np.array([budget.get(m, 0.0) for m in media]) * steps / DAYS_PER_YEAR * scale
    whole = np.floor(expected)
    return (whole + (rng.random(len(media)) < expected - whole)).astype(np.int64)


def arrival_steps(
    strategy: Strategy, count: int, steps: int, params: Params
) -> npt.NDArray[np.int64]:
    """The day of each copy, in order: evenly spaced (``steady``) or in ``bursts`` a year; with
    ``crackdowns = "avoid"`` a day inside a campaign moves to the first day after it (the last
    free day when none is left)."""
    if strategy.when == "steady":
        due = 1 + np.floor((np.arange(count) + 0.5) * steps / max(count, 1)).astype(np.int64)
    else:
        batches = max(1, round(strategy.bursts * steps / DAYS_PER_YEAR))
        days = 1 + (np.arange(batches) * steps) // batches
        due = days[(np.arange(count) * batches) // max(count, 1)]
    if strategy.crackdowns == "ignore" or not params.campaigns:
        return due
    free = np.ones(steps + 1, bool)
    free[0] = False
    for campaign in params.campaigns:
        free[params.step_of(campaign.start) : params.step_of(campaign.end) + 1] = False
    open_days = np.flatnonzero(free)
    if len(open_days) == 0:
        raise ValueError("crackdowns: every day of the run is in a crackdown; nothing to avoid to")
    return open_days[np.minimum(np.searchsorted(open_days, due), len(open_days) - 1)]


def place(
    strategy: Strategy,
    country: Country,
    params: Params,
    steps: int,
    scale: float,
    rng: np.random.Generator,
) -> EntrySchedule:
    """The copies of ``strategy`` in one run of ``steps`` days (``scale``: model agents per real
    person), drawn from the replicate's placement stream ``rng``."""
    counts = copies_per_medium(strategy.budget or {}, params.media_names, steps, scale, rng)
    total = int(counts.sum())
    if total == 0:
        return EntrySchedule.empty(steps)
    media = rng.permutation(np.repeat(np.arange(len(counts)), counts))
    agents = recipients(country, strategy.who, strategy.where, total, rng, strategy.agents)
    days = arrival_steps(strategy, total, steps, params)
    return EntrySchedule.from_arrivals(steps, days, agents, media)
