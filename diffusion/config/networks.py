"""The ``[network]`` section: how to build a trust network or read it from a file.

One model per ``type`` (a synthetic population, Erdos-Renyi, Barabasi-Albert, a stochastic block
model, a file), each with ``size``, ``memory_bytes`` and ``build``; ``network_content_hash``
identifies the network a section builds (a file by its content, not its location).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from diffusion._fields import (
    AgentCount,
    Section,
    Seed,
)
from diffusion._paths import existing_file
from diffusion.config.errors import ConfigError
from diffusion.network import MAX_AGENTS, Network, network_bytes
from diffusion.params import Probability
from diffusion.population import Population
from diffusion.population.config import PopulationConfig

POPULATION_BYTES_PER_AGENT = 190
"""Memory of a synthetic population per agent at the defaults (see ``diffusion.population``)."""


class ErdosRenyiNetwork(Section):
    """G(n, m) random graph with mean degree ``mean_degree`` (trust 1 on every tie)."""

    type: Literal["erdos_renyi"]
    n: AgentCount
    """Number of agents."""
    mean_degree: Annotated[float, Field(ge=0.0, allow_inf_nan=False)]
    """Mean ties per agent (at most ``n - 1``)."""
    seed: Seed = 0
    """Seed of the graph's random draws."""

    @model_validator(mode="after")
    def _degree_fits(self) -> ErdosRenyiNetwork:
        if self.mean_degree > self.n - 1:
            raise ValueError(f"mean_degree: {self.mean_degree} is not in [0, {self.n - 1}]")
        return self

    def size(self) -> int:
        return self.n

    def memory_bytes(self) -> int:
        return network_bytes(self.n, round(self.n * self.mean_degree / 2))

    def build(self) -> Network:
        return Network.erdos_renyi(self.n, self.mean_degree, seed=self.seed)


class BarabasiAlbertNetwork(Section):
    """Preferential attachment graph: each new agent brings ``m`` ties."""

    type: Literal["barabasi_albert"]
    n: AgentCount
    """Number of agents."""
    m: AgentCount
    """Ties each new agent brings (mean degree about ``2 m``)."""
    seed: Seed = 0
    """Seed of the graph's random draws."""

    def size(self) -> int:
        return self.n

    def memory_bytes(self) -> int:
        return network_bytes(self.n, self.n * self.m)

    def build(self) -> Network:
        return Network.barabasi_albert(self.n, self.m, seed=self.seed)


class SBMNetwork(Section):
    """Stochastic block model: blocks of ``block_sizes`` agents, tie odds ``pref_matrix``."""

    type: Literal["sbm"]
    block_sizes: Annotated[list[AgentCount], Field(min_length=1, max_length=10_000)]
    """Agents in each block."""
    pref_matrix: list[list[Probability]]
    """Probability of a tie between two agents of blocks ``i`` and ``j`` (square, symmetric)."""
    seed: Seed = 0
    """Seed of the graph's random draws."""

    @model_validator(mode="after")
    def _square_symmetric(self) -> SBMNetwork:
        if self.size() > MAX_AGENTS:
            raise ValueError(f"block_sizes: {self.size()} agents in all is more than {MAX_AGENTS}")
        k = len(self.block_sizes)
        matrix = np.asarray(self.pref_matrix, dtype=object)
        if matrix.shape != (k, k):
            raise ValueError(f"pref_matrix: must be {k} x {k} (one row and column per block)")
        if not np.array_equal(matrix, matrix.T):
            raise ValueError("pref_matrix: must be symmetric (ties are mutual)")
        return self

    def size(self) -> int:
        return sum(self.block_sizes)

    def memory_bytes(self) -> int:
        sizes = np.asarray(self.block_sizes, dtype=float)
        pairs = np.outer(sizes, sizes) * np.asarray(self.pref_matrix, dtype=float)
        return network_bytes(self.size(), int(pairs.sum() / 2))

    def build(self) -> Network:
        return Network.stochastic_block_model(self.block_sizes, self.pref_matrix, seed=self.seed)


class FileNetwork(Section):
    """A network read from a file: a saved population (``.npz``, from ``diffusion network
    build``), GraphML (``.graphml``) or an edge list ``u v [trust]``.

    A relative ``path`` is taken relative to the folder of the config file.
    """

    type: Literal["file"]
    path: Path
    """The file (``.npz``, ``.graphml`` or an edge list); relative: from the config's folder."""

    @field_validator("path")
    @classmethod
    def _exists(cls, path: Path, info: ValidationInfo) -> Path:
        return existing_file(path, info)

    def size(self) -> int | None:
        return None

    def memory_bytes(self) -> int:
        return 0  # known once the file is read, which checks its sizes itself

    def build(self) -> Network | Population:
        try:
            return read_network(self.path)
        except (ValueError, OSError) as exc:
            reason = str(exc).removeprefix(f"{self.path}: ")
            raise ConfigError([f"network.path: cannot read {self.path}: {reason}"]) from None

    def _hash_payload(self) -> dict[str, Any]:
        """The file's content, not its location, identifies the network."""
        digest = hashlib.sha256()
        with open(self.path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        return {"type": self.type, "suffix": self.path.suffix.lower(), "sha256": digest.hexdigest()}


def read_network(path: str | Path) -> Network | Population:
    """A population saved as ``.npz``, else a network file (GraphML or edge list)."""
    if Path(path).suffix.lower() == ".npz":
        return Population.load(path)
    return Network.read(path)


class PopulationNetwork(PopulationConfig):
    """A synthetic country (regions, households, circles, traders, informants) and its seed."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)
    type: Literal["population"]
    seed: Seed = 0
    """Seed of the population's random draws (the same seed builds the same country)."""

    def size(self) -> int:
        return self.n_agents

    def memory_bytes(self) -> int:
        return POPULATION_BYTES_PER_AGENT * self.n_agents

    def build(self) -> Population:
        options = self.model_dump(exclude={"type", "seed"})
        return PopulationConfig.model_validate(options).build(seed=self.seed)


NetworkConfig = Annotated[
    PopulationNetwork | ErdosRenyiNetwork | BarabasiAlbertNetwork | SBMNetwork | FileNetwork,
    Field(discriminator="type"),
]
NETWORK_TYPES = ("population", "erdos_renyi", "barabasi_albert", "sbm", "file")


def network_content_hash(network: BaseModel) -> str:
    """A stable hash of a resolved network section (equal hashes: the same network is built)."""
    payload = getattr(network, "_hash_payload", None)
    data = payload() if payload else network.model_dump(mode="json")
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]
