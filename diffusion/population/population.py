"""The synthetic population: per-agent arrays, the trust network and the viewing groups.

``build_population`` draws one from a seed (see ``build`` for how); ``save`` and
``Population.load`` keep it in one ``.npz`` file; ``summary`` describes it with igraph. Regions
are nested in provinces (``region_province``, ``province_names``): by default the ten provinces of
the 2008 census (``diffusion.population.provinces``), or one province holding synthetic regions.

Memory at the defaults (about 7.5 ties, 0.6 groups and 3 group memberships per agent): the
network takes 18 B per tie plus 8 B per agent (143 B per agent), the groups 9 B per group,
8 B per agent and 8 B per membership (both directions of the hypergraph; 38 B per agent), the
attributes 9 B per agent: about 190 B per agent, 4.4 GiB for the 25 M country.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from diffusion.network import Network
from diffusion.population import build as population_build
from diffusion.population import io as population_io
from diffusion.population import summary as population_summary
from diffusion.population.config import PopulationConfig

AGENT_ARRAYS: tuple[str, ...] = ("region", "household", "cohort", "trader", "informant")
"""The per-agent attribute arrays of a ``Population`` (one entry per agent)."""

FORMAT_VERSION = 2
"""Version of the saved layout; a file of another version is refused rather than misread.
Version 2 added the provinces (``region_province`` and the metadata's ``province_names``)."""


@dataclass(frozen=True, eq=False)
class Groups:
    """Households and viewing circles as a hypergraph in CSR form, with its inverse.

    Group ``g`` has members ``members[offsets[g]:offsets[g + 1]]`` and kind ``kind[g]``
    (1 = household, 2 = circle, as in ``EDGE_KINDS``). Households come first, so a household's
    group id is its ``Population.household`` id. Agent ``i``'s groups, by increasing id, are
    ``agent_groups[agent_offsets[i]:agent_offsets[i + 1]]``.
    """

    offsets: npt.NDArray[np.int64]
    members: npt.NDArray[np.int32]
    kind: npt.NDArray[np.uint8]
    agent_offsets: npt.NDArray[np.int64]
    agent_groups: npt.NDArray[np.int32]

    @property
    def n_groups(self) -> int:
        """Number of groups (households and circles)."""
        return len(self.offsets) - 1

    def sizes(self) -> npt.NDArray[np.int64]:
        """Members of every group."""
        return np.diff(self.offsets)

    def members_of(self, group: int) -> npt.NDArray[np.int32]:
        """The members of one group."""
        return self.members[self.offsets[group] : self.offsets[group + 1]]

    def of_agent(self, agent: int) -> npt.NDArray[np.int32]:
        """The groups one agent belongs to."""
        return self.agent_groups[self.agent_offsets[agent] : self.agent_offsets[agent + 1]]

    @property
    def nbytes(self) -> int:
        """Bytes held by the arrays."""
        return sum(getattr(self, f.name).nbytes for f in fields(self))


@dataclass(frozen=True, eq=False)
class Population:
    """Agents ``0..n_agents-1``, numbered by region then household, their ties and groups."""

    config: PopulationConfig
    seed: int
    network: Network
    region: npt.NDArray[np.int16]
    household: npt.NDArray[np.int32]
    cohort: npt.NDArray[np.uint8]
    """1 = market (Jangmadang) generation, 0 = older."""
    trader: npt.NDArray[np.bool_]
    informant: npt.NDArray[np.bool_]
    border_regions: npt.NDArray[np.int16]
    groups: Groups
    region_province: npt.NDArray[np.int8]
    """The province of each region, an index into ``province_names``."""
    province_names: tuple[str, ...]

    @property
    def n_agents(self) -> int:
        """Number of agents."""
        return len(self.region)

    @property
    def n_regions(self) -> int:
        """Number of regions."""
        return self.config.n_regions

    @property
    def province(self) -> npt.NDArray[np.int8]:
        """The province of each agent (derived from its region, so computed on each call)."""
        return self.region_province[self.region]

    @property
    def nbytes(self) -> int:
        """Bytes held by all arrays: network, groups, per-agent and per-region attributes."""
        return (
            self.network.nbytes
            + self.groups.nbytes
            + self.border_regions.nbytes
            + self.region_province.nbytes
            + sum(getattr(self, name).nbytes for name in AGENT_ARRAYS)
        )

    def save(self, path: str | Path) -> None:
        """Write to one uncompressed ``.npz`` file, atomically (temporary file, then rename)."""
        meta = {
            "format_version": FORMAT_VERSION,
            "seed": self.seed,
            "config": self.config.model_dump(mode="json"),
            "province_names": list(self.province_names),
        }
        population_io.write(path, self._arrays(), meta)

    @classmethod
    def load(cls, path: str | Path) -> Population:
        """Read a file written by ``save``; a corrupt, truncated or foreign file is a ValueError."""
        arrays, meta = population_io.read(path, _DTYPES)
        if meta.get("format_version") != FORMAT_VERSION:
            raise ValueError(
                f"{path}: population format version {meta.get('format_version')!r}, "
                f"this version of diffusion reads {FORMAT_VERSION}"
            )
        try:
            config = PopulationConfig.model_validate(meta["config"])
            seed = int(meta["seed"])
            names = meta["province_names"]
            if not isinstance(names, list) or not all(isinstance(x, str) for x in names):
                raise TypeError(f"province_names must be a list of strings, not {names!r}")
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"{path}: invalid population metadata ({error})") from error
        population = cls._from_arrays(config, seed, tuple(names), arrays)
        try:
            population.check()
        except ValueError as error:
            raise ValueError(f"{path}: inconsistent population file ({error})") from error
        return population

    def _arrays(self) -> dict[str, np.ndarray]:
        net, groups = self.network, self.groups
        arrays = {f"network_{a}": getattr(net, a) for a in Network.ARRAYS}
        arrays.update({f"groups_{f.name}": getattr(groups, f.name) for f in fields(groups)})
        arrays.update({name: getattr(self, name) for name in AGENT_ARRAYS})
        arrays["border_regions"] = self.border_regions
        arrays["region_province"] = self.region_province
        return arrays

    @classmethod
    def _from_arrays(
        cls, config: PopulationConfig, seed: int, province_names: tuple[str, ...], a: dict
    ) -> Population:
        network = Network(*(a[f"network_{name}"] for name in Network.ARRAYS))
        groups = Groups(**{f.name: a[f"groups_{f.name}"] for f in fields(Groups)})
        return cls(
            config=config,
            seed=seed,
            network=network,
            border_regions=a["border_regions"],
            groups=groups,
            region_province=a["region_province"],
            province_names=province_names,
            **{name: a[name] for name in AGENT_ARRAYS},
        )

    def check(self) -> None:
        """Raise ``ValueError`` if the arrays do not fit together (used after loading)."""
        n, net, groups = self.config.n_agents, self.network, self.groups
        for name in AGENT_ARRAYS:
            array = getattr(self, name)
            if len(array) != n:
                raise ValueError(f"{name} has {len(array)} entries for {n} agents")
        _check_csr("network", net.offsets, net.neighbours, n, n)
        for name in ("trust", "kind"):
            if len(getattr(net, name)) != len(net.neighbours):
                raise ValueError(f"network {name} has the wrong length")
        if np.any(np.diff(self.region) < 0):
            raise ValueError("agents are not ordered by region")
        if len(self.region) and (self.region[0] < 0 or self.region[-1] >= self.n_regions):
            raise ValueError(f"region ids must be in [0, {self.n_regions - 1}]")
        if len(self.region_province) != self.n_regions:
            raise ValueError(
                f"region_province has {len(self.region_province)} entries for "
                f"{self.n_regions} regions"
            )
        provinces = len(self.province_names)
        if np.any((self.region_province < 0) | (self.region_province >= provinces)):
            raise ValueError(f"province ids must be in [0, {provinces - 1}]")
        if np.any((self.border_regions < 0) | (self.border_regions >= self.n_regions)):
            raise ValueError(f"border region ids must be in [0, {self.n_regions - 1}]")
        n_groups = len(groups.offsets) - 1
        _check_csr("groups", groups.offsets, groups.members, n_groups, n)
        _check_csr("agent groups", groups.agent_offsets, groups.agent_groups, n, n_groups)
        if len(groups.kind) != n_groups:
            raise ValueError("groups kind has the wrong length")

    def summary(self, sample: int = 2000, seed: int = 0) -> dict[str, Any]:
        """Agents, ties by kind, degrees, clustering, cross-region share, components (igraph).

        Clustering is exact with igraph on small networks and estimated from ``sample`` agents
        on large ones; see ``diffusion.population.summary``.
        """
        return population_summary.summarize(self, sample=sample, seed=seed)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Population):
            return NotImplemented
        mine, theirs = self._arrays(), other._arrays()
        return (
            self.config == other.config
            and self.seed == other.seed
            and self.province_names == other.province_names
            and all(
                mine[k].dtype == theirs[k].dtype and np.array_equal(mine[k], theirs[k])
                for k in mine
            )
        )

    __hash__ = None  # mutable arrays: equality by content, not hashable

    def __repr__(self) -> str:
        return (
            f"Population(n_agents={self.n_agents}, n_regions={self.n_regions}, "
            f"n_edges={self.network.n_edges}, n_groups={self.groups.n_groups}, seed={self.seed})"
        )


_DTYPES: dict[str, np.dtype] = {
    "network_offsets": np.dtype(np.int64),
    "network_neighbours": np.dtype(np.int32),
    "network_trust": np.dtype(np.float32),
    "network_kind": np.dtype(np.uint8),
    "groups_offsets": np.dtype(np.int64),
    "groups_members": np.dtype(np.int32),
    "groups_kind": np.dtype(np.uint8),
    "groups_agent_offsets": np.dtype(np.int64),
    "groups_agent_groups": np.dtype(np.int32),
    "region": np.dtype(np.int16),
    "household": np.dtype(np.int32),
    "cohort": np.dtype(np.uint8),
    "trader": np.dtype(np.bool_),
    "informant": np.dtype(np.bool_),
    "border_regions": np.dtype(np.int16),
    "region_province": np.dtype(np.int8),
}
"""Every array a population file holds, with its dtype."""


def _check_csr(name: str, offsets: np.ndarray, targets: np.ndarray, rows: int, ids: int) -> None:
    """CSR arrays of ``rows`` rows pointing at ids in ``[0, ids)``."""
    if len(offsets) != rows + 1 or offsets[0] != 0 or offsets[-1] != len(targets):
        raise ValueError(f"{name} offsets do not match {rows} rows and {len(targets)} entries")
    if np.any(np.diff(offsets) < 0):
        raise ValueError(f"{name} offsets decrease")
    if len(targets) and (targets.min() < 0 or targets.max() >= ids):
        raise ValueError(f"{name} ids must be in [0, {ids - 1}]")


def build_population(n_agents: int, seed: int = 0, **options: Any) -> Population:
    """Draw a population of ``n_agents`` from ``seed``; ``options`` are ``PopulationConfig`` fields.

    The same seed and options give the same population, bit for bit.
    """
    config = PopulationConfig(n_agents=n_agents, **options)
    if int(seed) != seed or seed < 0:
        raise ValueError(f"seed: {seed} must be an integer >= 0")
    built = population_build.build(config, int(seed))
    agents = built.agents
    return Population(
        config=config,
        seed=int(seed),
        network=Network._trusted(*built.csr),  # laid out by the builder: no second check
        border_regions=agents.border_regions,
        groups=Groups(*built.groups),
        region_province=agents.region_province,
        province_names=agents.province_names,
        **{name: getattr(agents, name) for name in AGENT_ARRAYS},
    )
