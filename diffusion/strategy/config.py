"""The ``[strategy]`` section of a config: entry strategies to compare, and the placement search.

A strategy is a **budget** (copies per year, by medium) and a **placement rule**: *where* the
copies go (the border regions, anywhere, or named provinces and region ids), *who* receives them
first (any agent, traders, market hubs, households, the agents with the most trusted ties, agents
spread across regions, or listed agent ids) and *when* (steadily, or in bursts; ignoring or
avoiding crackdowns). Budgets are written for the real country and scaled to the modelled one:
a model of ``n`` agents receives ``budget * n / population`` copies a year (``population`` is
the real country's 25 million [S0] by default), the rule ``experiments/country.toml`` follows
for the scenario's own smuggling (3 copies a day per 100,000 people, 750 a day for 25 million).

``ExperimentConfig`` validates the section like every other: a mistake is one line naming the
field (``strategy.compare.2.who: 'hubs' is not one of ...``). The names of provinces, region ids
and agent ids are checked against the world once it is built (``diffusion.strategy.placement``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, model_validator

from diffusion._fields import Section

if TYPE_CHECKING:
    from diffusion.config import ExperimentConfig

REAL_POPULATION = 25_000_000
"""People in the real country [S0]: budgets are copies a year for this many people."""
MAX_BUDGET = 10**9
"""Most copies a year of one medium (the copies of a run are drawn up front)."""
MAX_AGENT = 2**31 - 2

Budget = dict[str, Annotated[float, Field(ge=0.0, le=MAX_BUDGET, allow_inf_nan=False)]]
Who = Literal["any", "traders", "market_hubs", "households", "trusted", "spread", "agents"]
WHO: tuple[str, ...] = Who.__args__
"""The kinds of first recipient a rule can name."""


class Strategy(Section):
    """One entry strategy: a budget and where, to whom and when its copies go."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.+-]{1,40}$")]
    """A short name (letters, digits, ``_.+-``) for tables and figures."""
    budget: Budget | None = None
    """Copies a year by medium, for the real country (``{usb = 3000}``); default: the section's
    ``budget``. Scaled by ``n_agents / population`` for the modelled country."""
    where: Literal["border", "anywhere"] | Annotated[list[str | int], Field(min_length=1)] = (
        "border"
    )
    """``border`` (the border regions, where smuggled media enters), ``anywhere``, or a list of
    province names and region ids."""
    who: Who = "any"
    """First recipients in that area: ``any`` agent; ``traders``; ``market_hubs`` (the traders
    with the most market customers first); ``households`` (one copy per household, to a member);
    ``trusted`` (the agents with the highest summed trust of their ties first); ``spread`` (as
    evenly over the area's regions as the copies allow); ``agents`` (the ids in ``agents``)."""
    agents: list[Annotated[int, Field(ge=0, le=MAX_AGENT)]] | None = None
    """With ``who = "agents"``: the recipients, in order (copies go round them)."""
    when: Literal["steady", "bursts"] = "steady"
    """``steady``: copies evenly spaced over the run; ``bursts``: in ``bursts`` equal batches."""
    bursts: Annotated[int, Field(ge=1, le=365)] = 4
    """With ``when = "bursts"``: batches a year, evenly spaced, the first on day 1."""
    crackdowns: Literal["ignore", "avoid"] = "ignore"
    """``avoid``: no copy arrives during a crackdown (``model.campaigns``); a copy due then
    arrives on the first day after it."""

    @model_validator(mode="after")
    def _agents_iff_listed(self) -> Strategy:
        if self.who == "agents" and not self.agents:
            raise ValueError("agents: required (a list of agent ids) when who = 'agents'")
        if self.who != "agents" and self.agents is not None:
            raise ValueError("agents: only with who = 'agents'")
        return self


class Search(Section):
    """A lazy-greedy (CELF) search for the entry agents that reach most at a fixed budget.

    The candidates are the ``pool`` first agents that the rule ``who`` in ``where`` ranks
    (drawn at random for unranked rules, from replicate 0's placement stream); the
    search picks ``copies`` of them, each receiving one copy of ``medium`` on day ``day``, to
    maximise the mean over ``replicates`` fixed replicates of ``reach - price * detected``.
    Replicate ``r`` is the scenario's replicate ``r``, the same for every candidate set.
    """

    who: Who = "trusted"
    """The rule that ranks or draws the candidates (as a strategy's ``who``)."""
    where: Literal["border", "anywhere"] | Annotated[list[str | int], Field(min_length=1)] = (
        "border"
    )
    """The area the candidates live in (as a strategy's ``where``)."""
    agents: list[Annotated[int, Field(ge=0, le=MAX_AGENT)]] | None = None
    """With ``who = "agents"``: the candidates themselves."""
    pool: Annotated[int, Field(ge=1, le=100_000)] = 40
    """Candidates considered."""
    copies: Annotated[int, Field(ge=1, le=1000)] = 3
    """Agents picked (one copy each): the budget of the search."""
    medium: str = "usb"
    """The medium of the copies placed."""
    day: Annotated[int, Field(ge=1)] = 1
    """The step the copies arrive."""
    replicates: Annotated[int, Field(ge=1, le=10_000)] = 20
    """Fixed replicates (common random numbers) every candidate set is scored on."""
    prices: Annotated[
        list[Annotated[float, Field(ge=0.0, le=1e9, allow_inf_nan=False)]],
        Field(min_length=1, max_length=100),
    ] = [0.0]
    """People reached that one arrest costs: one greedy search per price, each maximising
    ``reach - price * detected``; the front of reach against detections is drawn from every
    placement any of them scored."""

    @model_validator(mode="after")
    def _agents_iff_listed(self) -> Search:
        if self.who == "agents" and not self.agents:
            raise ValueError("agents: required (a list of agent ids) when who = 'agents'")
        if self.who != "agents" and self.agents is not None:
            raise ValueError("agents: only with who = 'agents'")
        return self


class StrategyConfig(Section):
    """Strategies compared on the same scenario with common random numbers, and the search."""

    compare: Annotated[list[Strategy], Field(min_length=1, max_length=1000)]
    """The strategies, each run on replicates ``0 .. run.replicates - 1`` of the scenario."""
    reference: str | None = None
    """The strategy the others are compared with, replicate by replicate (default: the first)."""
    budget: Budget = {}
    """Default budget of the strategies that give none."""
    population: Annotated[int, Field(ge=1, le=10**10)] = REAL_POPULATION
    """People the budgets are meant for: a model of ``n`` agents gets ``n / population`` of
    them (set it to the network's size to place budgets as written)."""
    replicates_per_task: Annotated[int, Field(ge=1, le=10_000)] = 10
    """Replicates of one strategy per Dask task (and per file)."""
    search: Search | None = None
    """A placement search (``diffusion strategy`` runs it after the comparison)."""

    @model_validator(mode="before")
    @classmethod
    def _default_budget(cls, data: Any) -> Any:
        """A strategy without a ``budget`` takes the section's."""
        if isinstance(data, dict) and isinstance(data.get("compare"), list):
            budget = data.get("budget", {})
            compare = [
                {**s, "budget": budget} if isinstance(s, dict) and "budget" not in s else s
                for s in data["compare"]
            ]
            data = {**data, "compare": compare}
        return data

    @model_validator(mode="after")
    def _names(self) -> StrategyConfig:
        names = [s.name for s in self.compare]
        repeated = next((n for i, n in enumerate(names) if n in names[:i]), None)
        if repeated is not None:
            raise ValueError(f"compare: the name {repeated!r} is used twice")
        if self.reference is not None and self.reference not in names:
            raise ValueError(f"reference: {self.reference!r} is not one of {names}")
        return self

    @property
    def reference_name(self) -> str:
        return self.reference or self.compare[0].name

    def check(self, experiment: ExperimentConfig) -> None:
        """Raise ``ValueError`` naming the field unless the budgets' media are the model's and
        the run has a fixed horizon (copies are spread over it)."""
        media = experiment.model.media_names
        for i, strategy in enumerate(self.compare):
            unknown = sorted(set(strategy.budget or {}) - set(media))
            if unknown:
                raise ValueError(
                    f"strategy.compare.{i}.budget: {unknown[0]!r} is not a medium "
                    f"({', '.join(media)})"
                )
        if self.search is not None and self.search.medium not in media:
            raise ValueError(
                f"strategy.search.medium: {self.search.medium!r} is not a medium "
                f"({', '.join(media)})"
            )
        steps = experiment.steps()
        if steps is None:
            raise ValueError("run.steps: required with [strategy] (copies are spread over it)")
        if self.search is not None and self.search.day > steps:
            raise ValueError(f"strategy.search.day: {self.search.day} is after the last step")
