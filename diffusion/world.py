"""What a simulation runs on: one type for a bare network and for a synthetic population.

``World.of`` turns either into the arrays the kernels read (per-agent attributes, groups), the
agents where smuggled copies arrive, and the names regions and provinces report under, so no
other module needs to ask which of the two it was given. A bare network is one border region
in one province, with no groups and no roles, all in the market generation.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from diffusion.network import Network

if TYPE_CHECKING:
    from diffusion.population import Population


@dataclass(frozen=True, eq=False)
class World:
    """The network, the kernels' per-agent arrays, and where copies enter."""

    network: Network
    agents: dict[str, Any]
    """Per-agent arrays and groups in the layout of ``diffusion._media.run_media``."""
    border: npt.NDArray[np.int64]
    """Agents of the border regions, where smuggled copies arrive."""
    traders: npt.NDArray[np.int64]
    """The border agents who trade (entering copies prefer them)."""
    region_province: npt.NDArray[np.int64]
    """The province of each region, an index into ``province_names``."""
    region_border: npt.NDArray[np.bool_]
    """Whether each region is a border region (where copies enter)."""
    province_names: tuple[str, ...]
    is_population: bool

    @property
    def n_agents(self) -> int:
        return self.network.n_nodes

    @classmethod
    def of(cls, world: Network | Population | World) -> World:
        """The world of a network or a population (a population's is built once and kept)."""
        if isinstance(world, World):
            return world
        if isinstance(world, Network):
            return _of_network(world)
        key = id(world)
        if key not in _CACHE:
            _CACHE[key] = _of_population(world)
            weakref.finalize(world, _CACHE.pop, key, None)
        return _CACHE[key]


_CACHE: dict[int, World] = {}
"""Worlds of the populations still alive, by id: a population's border agents are found once
(an entry goes when its population is collected)."""


def _of_network(network: Network) -> World:
    n = network.n_nodes
    agents = {
        "region": np.zeros(n, dtype=np.int16),
        "n_regions": 1,
        "cohort": np.ones(n, dtype=np.uint8),
        "informant": np.zeros(n, dtype=np.uint8),
        "trader": np.zeros(n, dtype=np.uint8),
        "region_start": np.array([0, n], dtype=np.int64),
        "group_offsets": np.zeros(1, dtype=np.int64),
        "group_members": np.zeros(0, dtype=np.int32),
        "group_kind": np.zeros(0, dtype=np.uint8),
        "agent_group_offsets": np.zeros(n + 1, dtype=np.int64),
        "agent_groups": np.zeros(0, dtype=np.int32),
    }
    border = np.arange(n, dtype=np.int64)
    one = np.zeros(1, np.int64)
    return World(network, agents, border, border[:0], one, np.ones(1, bool), ("all",), False)


def _of_population(pop: Population) -> World:
    groups = pop.groups
    agents = {
        "region": np.ascontiguousarray(pop.region, dtype=np.int16),
        "n_regions": int(pop.n_regions),
        "cohort": np.ascontiguousarray(pop.cohort, dtype=np.uint8),
        "informant": np.ascontiguousarray(pop.informant, dtype=np.uint8),
        "trader": np.ascontiguousarray(pop.trader, dtype=np.uint8),
        "region_start": region_ranges(pop.region, int(pop.n_regions)),
        "group_offsets": np.ascontiguousarray(groups.offsets, dtype=np.int64),
        "group_members": np.ascontiguousarray(groups.members, dtype=np.int32),
        "group_kind": np.ascontiguousarray(groups.kind, dtype=np.uint8),
        "agent_group_offsets": np.ascontiguousarray(groups.agent_offsets, dtype=np.int64),
        "agent_groups": np.ascontiguousarray(groups.agent_groups, dtype=np.int32),
    }
    border = np.flatnonzero(np.isin(agents["region"], pop.border_regions))
    traders = border[np.asarray(pop.trader)[border]]
    region_border = np.zeros(pop.n_regions, dtype=bool)
    region_border[pop.border_regions] = True
    provinces = np.asarray(pop.region_province, np.int64)
    names = tuple(pop.province_names)
    return World(pop.network, agents, border, traders, provinces, region_border, names, True)


def region_ranges(region: npt.NDArray[np.integer], n_regions: int) -> npt.NDArray[np.int64]:
    """``n_regions + 1`` offsets: region ``r`` is agents ``start[r]:start[r + 1]``.

    The kernels walk a region's residents as one range of ids (who attends a public trial), so
    agents must be numbered by region, as ``build_population`` numbers them.
    """
    if len(region) and np.any(np.diff(region) < 0):
        raise ValueError("population: agents must be numbered by region (sorted region ids)")
    counts = np.bincount(np.asarray(region, dtype=np.int64), minlength=n_regions)
    return np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
