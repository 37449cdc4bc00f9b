"""The ``[run]`` section: steps or the last day, replicates, the root seed, the initial holders."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator, model_validator

from diffusion._fields import (
    MAX_REPLICATES,
    AgentId,
    Section,
    Seed,
)
from diffusion.network import MAX_AGENTS
from diffusion.params import MAX_STEPS, Date


class RunConfig(Section):
    """How to run a scenario: steps, replicates, the root seed and the initial holders."""

    steps: Annotated[int, Field(ge=1, le=MAX_STEPS)] | None = None
    """Steps per run; by default a run goes on until no holder remains."""
    end: Date | None = None
    """Last day of a run, instead of ``steps`` (needs the calendar: ``model.start``)."""
    replicates: Annotated[int, Field(ge=1, le=MAX_REPLICATES)] = 1
    """Independent runs of the scenario (each with its own random draws)."""
    seed: Seed = 0
    """Root seed: replicate ``i`` draws from ``SeedSequence(seed).spawn(replicates)[i]``."""
    seeds: Annotated[int, Field(ge=0, le=MAX_AGENTS)] | list[AgentId] = 1
    """Initial holders: a number drawn at random, or a list of distinct agent ids."""
    seeds_per_agents: Annotated[int, Field(ge=1, le=MAX_AGENTS)] | None = None
    """Unit of a number of ``seeds``: unset, initial holders in the whole network; a number,
    initial holders per that many agents (rounded to whole holders), so that a country built
    smaller or larger starts with the same share informed (as ``model.entry_per_agents``)."""

    @field_validator("seeds")
    @classmethod
    def _distinct(cls, seeds: int | list[int]) -> int | list[int]:
        if isinstance(seeds, list) and len(set(seeds)) != len(seeds):
            repeated = next(s for i, s in enumerate(seeds) if s in seeds[:i])
            raise ValueError(f"agent id {repeated} is listed twice (initial holders are distinct)")
        return seeds

    @model_validator(mode="after")
    def _counted(self) -> RunConfig:
        if self.seeds_per_agents is not None and isinstance(self.seeds, list):
            raise ValueError("seeds_per_agents: only for a number of seeds, not a list of agents")
        return self

    def holders(self, n_agents: int) -> int | list[int]:
        """The initial holders of a run on ``n_agents`` agents (``seeds`` resolved per agents)."""
        if self.seeds_per_agents is None or isinstance(self.seeds, list):
            return self.seeds
        return round(self.seeds * n_agents / self.seeds_per_agents)
