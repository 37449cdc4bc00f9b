"""Options of the synthetic population (docs/model.md sections 2 and 7), their defaults and ranges.

Defaults that come from the sources: 25 M people [S0], about 200 city/county units [S4]
nested in the ten provinces of the 2008 census (``provinces``), traders at ~2.4 % of
people ([S0]: about 600,000 market stalls for 25 M). Household size, circle counts and sizes, trust
levels, the informant fraction, the market-generation share and the default travel setting are
modelling choices (docs/model.md section 7).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from diffusion.population.provinces import PROVINCES
from diffusion.ties import TIE_KINDS

if TYPE_CHECKING:
    from diffusion.population import Population

Share = Annotated[float, Field(ge=0.0, le=1.0)]
Trust = Annotated[float, Field(gt=0.0, le=1.0)]
CircleCount = Annotated[int, Field(ge=0, le=10)]
GroupSize = Annotated[int, Field(ge=1, le=50)]

KIND_TRUST = {kind.name: kind.trust for kind in TIE_KINDS}

MAX_AGENTS = 2**30
"""Agent ids are int32, and the builder packs two of them and a kind into one uint64 sort key."""


class PopulationConfig(BaseModel):
    """Every option of the population builder; bad values raise ``ValueError`` naming the field.

    ``regions = "census"`` (the default) nests the ``n_regions`` regions in the ten provinces of
    the 2008 census [C1] (``provinces``): regions and agents per province follow the census
    populations, and the border regions are the regions of the four provinces bordering China.
    ``regions = "synthetic"`` puts all regions in one province (named "synthetic") and makes
    ``border_regions`` of them, drawn at random, border regions; its default 16 of 200 is the
    number of border trade zones [S4] counts (Sinuiju, Hyesan, Musan, Hoeryong, Namyang
    among them), and with another ``n_regions`` the default keeps that share (8 %, at least one).
    ``travel`` is the share of potential trade ties between traders of different regions that
    exist (0 = sealed regions, 1 = free movement); its default 0.5 stands for movement that
    permits restrict but bribes and trade get around.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    n_agents: int = Field(default=25_000_000, ge=1, le=MAX_AGENTS)
    """Number of agents ([S0]: 25 million people)."""
    n_regions: int = Field(default=200, ge=1, le=32_767)
    """City/county units ([S4]: about 200); stored as int16 per agent."""
    regions: Literal["census", "synthetic"] = "census"
    """How regions are laid out: nested in the census provinces, or synthetic (see above)."""
    border_regions: int | None = Field(default=None, ge=0)
    """Synthetic regions only: how many are border regions, where smuggled media enters
    ([S4]: 16 of 200). With census regions the border provinces decide."""
    region_inequality: float = Field(default=0.7, ge=0.0, le=3.0)
    """Sigma of the log-normal weights of region sizes (0 = equal sizes)."""
    household_size: float = Field(default=4.0, gt=0.0)
    """Mean household size."""
    household_size_min: GroupSize = 1
    """Smallest household."""
    household_size_max: GroupSize = 8
    """Largest household."""
    circles_per_agent: tuple[CircleCount, CircleCount] = (1, 3)
    """(min, max) viewing circles per agent, drawn uniformly."""
    circle_size: tuple[GroupSize, GroupSize] = (3, 8)
    """(min, max) members of a viewing circle, drawn uniformly."""
    market_generation_share: Share = 0.4
    """Share of agents in the market (Jangmadang) generation, born since about 1990."""
    circle_homophily: Share = 0.8
    """Probability that a circle membership is placed among the agent's own cohort."""
    trader_fraction: Share = 0.024
    """Share of agents who trade ([S0]: ~600,000 stalls for 25 M people)."""
    informant_fraction: Share = 0.01
    """Share of agents who inform (about one per neighbourhood unit of ~30 households)."""
    customers_per_trader: int = Field(default=30, ge=0, le=10_000)
    """Market ties each trader draws to customers in its region."""
    trade_ties_per_trader: int = Field(default=4, ge=0, le=1_000)
    """Potential ties each trader has to traders in other regions."""
    travel: Share = 0.5
    """Share of potential trade ties that exist: 0 = sealed regions, 1 = free movement."""
    trust_household: Trust = KIND_TRUST["household"]
    """Trust of a tie between members of one household (multiplies ``model.beta``)."""
    trust_circle: Trust = KIND_TRUST["circle"]
    """Trust of a tie between members of one viewing circle."""
    trust_market: Trust = KIND_TRUST["market"]
    """Trust of a tie between a trader and a market customer."""
    trust_trade: Trust = KIND_TRUST["trade"]
    """Trust of a trade tie between traders of different regions."""

    @model_validator(mode="before")
    @classmethod
    def _default_border_regions(cls, data: Any) -> Any:
        """Synthetic regions without ``border_regions`` keep [S4]'s share: 16 of 200, >= 1."""
        if (
            isinstance(data, dict)
            and data.get("regions") == "synthetic"
            and data.get("border_regions") is None
        ):
            regions = data.get("n_regions", 200)
            if isinstance(regions, int) and regions >= 1:
                data = {**data, "border_regions": max(1, round(regions * 16 / 200))}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> PopulationConfig:
        """Cross-field checks; each message starts with the field to change."""
        if self.regions == "census" and self.border_regions is not None:
            raise ValueError(
                "border_regions: only for regions = 'synthetic'; census regions take their "
                "border regions from the provinces bordering China"
            )
        if self.regions == "census" and self.n_regions < len(PROVINCES):
            raise ValueError(
                f"n_regions: {self.n_regions} is below the {len(PROVINCES)} census provinces "
                "(each needs a region); raise it or set regions = 'synthetic'"
            )
        if self.border_regions is not None and self.border_regions > self.n_regions:
            raise ValueError(
                f"border_regions: {self.border_regions} is more than n_regions ({self.n_regions})"
            )
        if self.household_size_min > self.household_size_max:
            raise ValueError(
                f"household_size_min: {self.household_size_min} is above household_size_max "
                f"({self.household_size_max})"
            )
        if not self.household_size_min <= self.household_size <= self.household_size_max:
            raise ValueError(
                f"household_size: mean {self.household_size} is not in [household_size_min, "
                f"household_size_max] = [{self.household_size_min}, {self.household_size_max}]"
            )
        for name in ("circles_per_agent", "circle_size"):
            low, high = getattr(self, name)
            if low > high:
                raise ValueError(f"{name}: min {low} is above max {high}")
        if self.circle_size[0] < 2:
            raise ValueError(f"circle_size: min {self.circle_size[0]} must be >= 2 (a circle ties)")
        smallest = self.n_regions * self.household_size_max
        if self.n_agents < smallest:
            raise ValueError(
                f"n_agents: {self.n_agents} is below n_regions * household_size_max = {smallest} "
                "(every region needs at least one household); lower n_regions"
            )
        return self

    @property
    def trust_levels(self) -> tuple[float, ...]:
        """Trust of each tie kind, indexed like ``diffusion.ties.TIE_KINDS`` (the table's trust
        where this config has no ``trust_<kind>`` option)."""
        return tuple(getattr(self, f"trust_{kind.name}", kind.trust) for kind in TIE_KINDS)

    def build(self, seed: int = 0) -> Population:
        """Build the population these options describe (see ``build_population``)."""
        from diffusion.population import build_population

        return build_population(seed=seed, **self.model_dump())
