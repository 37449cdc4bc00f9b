"""Model parameters and their validation: the one place that knows ranges and defaults.

The model's vocabulary is data here: media are a table (``Params.media``, any number, each
copied or lent), the mix of media among initial holders and smuggled copies is a schedule
(``mix`` and ``entry``), and schedules may be written with dates once ``start`` sets the
calendar (``diffusion.calendar``).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from diffusion import calendar

MAX_STEPS = 10_000_000
"""Longest run and latest scheduled step: 27,000 years of days, and ``step + fear_steps`` stays
far inside the kernels' 32-bit step counters."""
MAX_FACTOR = 1000.0
"""Upper bound of every multiplicative factor: products of factors stay finite, so every
probability formed from them is a number that clipping to [0, 1] keeps meaningful."""
MAX_ENTRY_RATE = 100_000.0
"""Most copies smuggled in per step (Poisson mean); the entries of a run are drawn up front."""
MAX_MEDIA = 32
MAX_ENTRY_AGENTS = 2**31 - 1
"""Largest unit of the entry rates (``entry_per_agents``): the most agents a network holds."""
"""Most media in one model (the kernels store an agent's medium in one byte)."""

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
PerDay = Annotated[float, Field(ge=0.0, le=1.0, json_schema_extra={"unit": "probability per day"})]
Days = Annotated[int, Field(ge=0, le=MAX_STEPS, json_schema_extra={"unit": "days"})]
Step = Annotated[int, Field(ge=1, le=MAX_STEPS)]
Multiplier = Annotated[float, Field(ge=0.0, le=MAX_FACTOR)]


def _no_timestamp(value: Any) -> Any:
    """Refuse a number where a date belongs: pydantic would read it as a Unix timestamp
    (``315532800`` as 1980-01-01)."""
    if isinstance(value, int | float):
        raise ValueError(f"{value!r} is not a date (write a date as 2000-01-01)")
    return value


Date = Annotated[dt.date, BeforeValidator(_no_timestamp)]
"""A calendar date; never a number read as a timestamp."""
When = Step | Date
"""A step number, or a calendar date (which needs ``Params.start``)."""
Mix = dict[str, Multiplier]
"""Relative weights of media, e.g. ``{"dvd": 3, "usb": 1}``."""
EntryRate = Annotated[
    float, Field(ge=0.0, le=MAX_ENTRY_RATE, json_schema_extra={"unit": "copies per day"})
]
_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")


class _Strict(BaseModel):
    """Base for parameter models: unknown fields are errors and values never change."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class Campaign(_Strict):
    """A crackdown: detection probability ``delta`` from ``start`` to ``end`` inclusive (steps or
    dates)."""

    start: When
    """First step or date of the crackdown."""
    end: When
    """Last step or date of the crackdown (inclusive)."""
    delta: PerDay
    """Detection probability per step of a holder during the crackdown, in place of
    ``model.delta``."""

    @model_validator(mode="after")
    def _ordered(self) -> Campaign:
        if type(self.start) is type(self.end) and self.end < self.start:
            raise ValueError(f"end ({self.end}) must be >= start ({self.start})")
        return self


class Medium(_Strict):
    """How one medium spreads and hides.

    A *copied* medium (USB drive, microSD card) stays with its holder and a viewer keeps a copy
    with probability ``p_copy``; a *lent* one (DVD, VCR tape) is an object: a holder that shows
    it hands it to one of its viewers, who becomes the holder, and the others have only watched.
    """

    spread: Literal["copied", "lent"] = "copied"
    """``copied``: a viewer may keep a copy and the holder keeps its own; ``lent``: the object is
    handed on to one viewer."""
    share: Multiplier = 1.0
    """Multiplier on sharing (``beta`` tie by tie, ``host_prob`` in viewings)."""
    concealment: Multiplier = 1.0
    """Multiplier on the detection probability (below 1: easier to hide)."""
    p_copy: Probability = 1.0
    """Copied media: probability that a viewer keeps a copy (else it has only watched)."""

    @property
    def lent(self) -> bool:
        return self.spread == "lent"


DEFAULT_MEDIA: dict[str, Medium] = {
    "usb": Medium(spread="copied"),
    "dvd": Medium(spread="lent"),
    "microsd": Medium(spread="copied"),
}
"""The shipped media; a config's ``[model.media.<name>]`` changes them or adds others."""


class EntryChange(_Strict):
    """From ``start`` on, copies are smuggled in at ``rate`` per step and/or in the media ``mix``
    (what is not given stays as before)."""

    start: When
    """Step or date from which the change holds."""
    rate: EntryRate | None = None
    """New entry rate (as ``model.entry_rate``, same unit); unset: unchanged."""
    mix: Mix | None = None
    """New weights of the media among smuggled copies; unset: unchanged."""


class PublicChange(_Strict):
    """From ``start`` on, a detection becomes a public trial with probability ``p``."""

    start: When
    """Step or date from which ``p`` holds."""
    p: Probability
    """Probability that a detection from ``start`` on is punished in public (a trial or an
    execution the region's residents are made to attend)."""


class Params(_Strict):
    """Parameters of the model (docs/model.md, sections 3-6); mechanisms beyond SIR are off.

    Per step, each holder shares with each susceptible neighbour with probability
    ``beta * trust`` (times the medium's ``share``, the neighbour's cohort ``acceptance`` and
    ``fear_factor`` while afraid); an exposed agent becomes a holder with its medium's
    ``p_copy`` (copied media) or by receiving the object (lent media), else it has only
    watched; each holder is then detected with probability ``delta`` (the
    ``delta`` of a campaign during its window, times the medium's concealment, times
    ``informant_risk`` after showing media to an informant, times ``1 - p_bribe``) and, if not
    detected, stops sharing with probability ``gamma``.
    """

    beta: PerDay
    """Sharing probability per step along a tie of trust 1 (times the factors below)."""
    gamma: PerDay
    """Probability per step that a holder stops sharing."""
    delta: PerDay = 0.0
    """Baseline probability per step that a holder is detected (before concealment, bribes)."""
    campaigns: tuple[Campaign, ...] = ()
    """Crackdowns: ``delta`` raised from ``start`` to ``end`` (steps or dates)."""
    mode: Literal["edge", "group"] = "edge"
    """``edge``: sharing tie by tie; ``group``: holders host viewings in their groups."""
    host_prob: PerDay = 0.5
    """Group mode: probability per step that a holder hosts a viewing in one of its groups."""
    media: dict[str, Medium] = DEFAULT_MEDIA
    """The media, by name: the shipped ``usb``, ``dvd`` and ``microsd`` and any added."""
    mix: Mix = {"usb": 1.0}
    """Weights of the media among initial holders and smuggled copies (changed by ``entry``)."""
    acceptance_market: Multiplier = 1.0
    """Multiplier on sharing to agents of the market generation."""
    acceptance_older: Multiplier = 1.0
    """Multiplier on sharing to older agents."""
    informant_risk: Annotated[float, Field(ge=1.0, le=MAX_FACTOR)] = 1.0
    """Multiplier on a holder's detection in a step it showed media to a non-complicit informant."""
    p_bribe: Probability = 0.0
    """Probability that a detection is bought off (the holder goes on as before)."""
    p_implicate: Probability = 0.0
    """Probability that a detected agent takes down each co-viewer and each holding neighbour."""
    fear_factor: Probability = 1.0
    """Multiplier on sharing by the neighbours of a detected agent while they are afraid."""
    fear_steps: Days = 0
    """Steps that fear lasts after a neighbour's detection (0: no fear)."""
    entry_rate: EntryRate = 0.0
    """Expected number of copies smuggled into border regions per step (Poisson), in the whole
    network or, with ``entry_per_agents``, per that many agents."""
    entry: tuple[EntryChange, ...] = ()
    """Dated changes of the entry rate and the media mix, in order."""
    entry_per_agents: Annotated[int, Field(ge=1, le=MAX_ENTRY_AGENTS)] | None = None
    """Unit of the entry rates: unset, copies per step into the whole network; a number,
    copies per step per that many agents, so that a country built smaller or larger gets as
    many copies per person (``for_agents`` turns them into copies for a given network)."""
    start: Date | None = None
    """Calendar date of step 1: steps are days from it, and schedules may use dates."""
    entry_trader_share: Probability = 0.5
    """Share of smuggled copies that go to a trader rather than to any border-region agent."""
    refusal_older: Probability = 0.0
    """Willingness: share of older agents who never accept foreign media (drawn once per
    person; docs/model.md, "Who will watch")."""
    refusal_market: Probability = 0.0
    """Willingness: share of agents of the market generation who never accept foreign media."""
    willingness_mean: Annotated[float, Field(gt=0.0, le=1.0)] = 1.0
    """Willingness: mean of the multiplier on acceptance among those who do not refuse (a Beta
    distribution; 1: everyone at the full rate)."""
    willingness_concentration: Annotated[float, Field(ge=0.1, le=MAX_FACTOR)] = 2.0
    """Willingness: the Beta distribution's a + b (small: willingness varies widely)."""
    p_public: Probability = 0.0
    """Probability that a detection is punished in public (changed from dates by ``public``)."""
    public: tuple[PublicChange, ...] = ()
    """Dated changes of ``p_public``, in order."""
    attendance: Probability = 0.0
    """Probability that each resident of a region witnesses a public trial held there."""
    deterrence: Probability = 1.0
    """Multiplier on the acceptance of a region's residents after a public trial there."""
    deterrence_steps: Days = 0
    """Days that deterrence lasts after a public trial (0: no deterrence)."""
    market_rate: PerDay = 0.0
    """Probability per day that a trader holding media sells a copy (copied media) or rents its
    disc (lent media) to each of its market customers, times the customer's acceptance."""

    @field_validator("media", mode="before")
    @classmethod
    def _over_defaults(cls, media: Any) -> Any:
        """Declared media change the shipped ones field by field, or add new ones."""
        if not isinstance(media, dict):
            return media
        merged: dict[str, Any] = dict(DEFAULT_MEDIA)
        for name, spec in media.items():
            if isinstance(spec, dict) and name in DEFAULT_MEDIA:
                spec = {**DEFAULT_MEDIA[name].model_dump(), **spec}
            merged[name] = spec
        return merged

    @model_validator(mode="after")
    def _consistent(self) -> Params:
        bad = [name for name in self.media if not _NAME.fullmatch(name)]
        if bad:
            raise ValueError(f"media.{bad[0]}: a medium's name is lower-case letters, digits, _")
        if len(self.media) > MAX_MEDIA:
            raise ValueError(f"media: {len(self.media)} media, at most {MAX_MEDIA}")
        mixes = [("mix", self.mix)]
        mixes += [(f"entry.{i}.mix", c.mix) for i, c in enumerate(self.entry) if c.mix is not None]
        for where, mix in mixes:
            unknown = sorted(set(mix) - set(self.media))
            if unknown:
                raise ValueError(
                    f"{where}: {unknown[0]!r} is not a medium ({', '.join(self.media)})"
                )
            if sum(mix.values()) <= 0:
                raise ValueError(f"{where}: the weights must not all be 0")
        for where, when in self._dated():
            if isinstance(when, dt.date) and self.start is None:
                raise ValueError(f"{where}: a date needs the calendar: set start (the first day)")
            if self.step_of(when) < 1:
                raise ValueError(f"{where}: {when} is before start ({self.start})")
        starts = [self.step_of(c.start) for c in self.entry]
        if any(b <= a for a, b in zip(starts, starts[1:], strict=False)):
            raise ValueError("entry: changes must come in order of their start, one per day")
        starts = [self.step_of(c.start) for c in self.public]
        if any(b <= a for a, b in zip(starts, starts[1:], strict=False)):
            raise ValueError("public: changes must come in order of their start, one per day")
        ordered = sorted(self.campaigns, key=lambda c: self.step_of(c.start))
        for c in ordered:
            if self.step_of(c.end) < self.step_of(c.start):
                raise ValueError(f"campaigns: end ({c.end}) must be >= start ({c.start})")
        for before, after in zip(ordered, ordered[1:], strict=False):
            if self.step_of(after.start) <= self.step_of(before.end):
                raise ValueError(
                    f"campaigns: {before.start}-{before.end} and {after.start}-{after.end} overlap"
                )
        return self

    def _dated(self) -> list[tuple[str, When]]:
        """Every scheduled moment, with the field it comes from."""
        found: list[tuple[str, When]] = []
        for i, c in enumerate(self.campaigns):
            found += [(f"campaigns.{i}.start", c.start), (f"campaigns.{i}.end", c.end)]
        found += [(f"entry.{i}.start", c.start) for i, c in enumerate(self.entry)]
        found += [(f"public.{i}.start", c.start) for i, c in enumerate(self.public)]
        return found

    # ---------------------------------------------------------------------- the calendar
    def step_of(self, when: When) -> int:
        """The step of a scheduled moment: a step number as it is, a date through ``start``."""
        if isinstance(when, dt.date):
            if self.start is None:
                raise ValueError(f"{when}: a date needs the calendar (Params.start)")
            return calendar.step_of(self.start, when)
        return int(when)

    # ---------------------------------------------------------------------- media
    @property
    def media_names(self) -> tuple[str, ...]:
        """Names of the media, in the order of the kernels' medium index."""
        return tuple(self.media)

    def media_in_use(self) -> tuple[str, ...]:
        """The media that initial holders or smuggled copies can have (weight above 0)."""
        mixes = [self.mix, *(c.mix for c in self.entry if c.mix is not None)]
        return tuple(m for m in self.media if any(mix.get(m, 0) > 0 for mix in mixes))

    def mix_weights(self, mix: Mix) -> npt.NDArray[np.float64]:
        """A mix as probabilities over ``media_names``."""
        weights = np.array([mix.get(name, 0.0) for name in self.media], dtype=np.float64)
        return weights / weights.sum()

    def for_agents(self, n_agents: int) -> Params:
        """These parameters for a network of ``n_agents``: entry rates given per
        ``entry_per_agents`` agents become copies per step into the whole network (scaled by
        ``n_agents / entry_per_agents``); without that unit, the parameters as they are."""
        if self.entry_per_agents is None:
            return self
        factor = n_agents / self.entry_per_agents
        data = self.model_dump()
        data["entry_rate"] *= factor
        for change in data["entry"]:
            if change["rate"] is not None:
                change["rate"] *= factor
        data["entry_per_agents"] = None
        try:
            return type(self).model_validate(data)
        except ValueError:
            raise ValueError(
                f"entry_per_agents: the entry rates per {self.entry_per_agents:,} agents come to "
                f"more than {MAX_ENTRY_RATE:,.0f} copies per step on {n_agents:,} agents"
            ) from None

    def entry_segments(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], np.ndarray]:
        """The entry schedule as segments: (first step, rate, media probabilities per segment).

        The rates are copies per step into the whole network: parameters whose rates are per
        ``entry_per_agents`` agents must first be resolved for a network (``for_agents``).
        """
        if self.entry_per_agents is not None:
            raise ValueError(
                f"entry_per_agents: the entry rates are per {self.entry_per_agents:,} agents; "
                "resolve them for the network first: params.for_agents(n_agents)"
            )
        starts, rates, mixes = [1], [self.entry_rate], [self.mix_weights(self.mix)]
        for change in self.entry:
            step = self.step_of(change.start)
            rate = rates[-1] if change.rate is None else change.rate
            mix = mixes[-1] if change.mix is None else self.mix_weights(change.mix)
            if step == 1:
                rates[-1], mixes[-1] = rate, mix
            else:
                starts.append(step)
                rates.append(rate)
                mixes.append(mix)
        return np.asarray(starts, np.int64), np.asarray(rates, np.float64), np.vstack(mixes)

    def has_entry(self) -> bool:
        """True when copies can be smuggled in at some step."""
        return self.entry_rate > 0 or any(c.rate for c in self.entry)

    # ---------------------------------------------------------------------- detection schedule
    def delta_segments(self) -> tuple[np.ndarray, np.ndarray]:
        """The detection schedule as piecewise-constant segments ``(first step, delta)``."""
        starts, deltas = [1], [self.delta]
        for campaign in sorted(self.campaigns, key=lambda c: self.step_of(c.start)):
            first, last = self.step_of(campaign.start), self.step_of(campaign.end)
            if first == starts[-1]:
                deltas[-1] = campaign.delta
            else:
                starts.append(first)
                deltas.append(campaign.delta)
            starts.append(last + 1)
            deltas.append(self.delta)
        return np.asarray(starts, dtype=np.int64), np.asarray(deltas, dtype=np.float64)

    def public_segments(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """The public-trial schedule as piecewise-constant segments ``(first step, p)``."""
        starts, values = [1], [self.p_public]
        for change in self.public:
            step = self.step_of(change.start)
            if step == 1:
                values[-1] = change.p
            else:
                starts.append(step)
                values.append(change.p)
        return np.asarray(starts, dtype=np.int64), np.asarray(values, dtype=np.float64)

    def has_public_trials(self) -> bool:
        """True when a detection can become a public trial at some step."""
        return self.p_public > 0 or any(c.p > 0 for c in self.public)

    def has_willingness(self) -> bool:
        """True when some people refuse foreign media or accept it below the full rate."""
        return self.refusal_older > 0 or self.refusal_market > 0 or self.willingness_mean < 1

    def delta_at(self, steps: np.ndarray) -> np.ndarray:
        """Detection probability in force at each of ``steps``."""
        starts, deltas = self.delta_segments()
        return deltas[np.searchsorted(starts, steps, side="right") - 1]

    # ---------------------------------------------------------------------- the reduction
    def sir_medium(self) -> str:
        """The one medium of the SIR reduction: the only medium in use."""
        used = self.media_in_use()
        return used[0] if used else self.media_names[0]

    def reduces_to_sir(self) -> bool:
        """True when only the mechanisms of the SIR reduction (docs/model.md section 6) are on.

        One copied medium is in use; its share factor folds into ``beta`` (a tie of trust w
        shares with probability ``min(1, beta * share * w)`` in both kernels), and its
        concealment and bribes into ``delta`` (``min(1, delta * concealment * (1 - p_bribe))``):
        the same process exactly. Anything else needs the full (step) kernel.
        """
        used = self.media_in_use()
        return (
            self.mode == "edge"
            and len(used) <= 1
            and not self.media[self.sir_medium()].lent
            and self.acceptance_market == self.acceptance_older == 1
            and self.informant_risk == 1
            and self.p_implicate == 0
            and (self.fear_steps == 0 or self.fear_factor == 1)
            and not self.has_entry()
            and not self.has_willingness()
            and not self.has_public_trials()
            and self.market_rate == 0
        )

    def sharing_probability(self, medium: str | None = None) -> float:
        """Per-step sharing probability along a tie of trust 1, ``min(1, beta * share)``."""
        return min(1.0, self.beta * self.media[medium or self.sir_medium()].share)

    def detection_probability(self, medium: str | None = None, delta: float | None = None) -> float:
        """A holder's per-step detection probability, ``min(1, delta * concealment * (1 -
        p_bribe))``, at the baseline ``delta`` or the one given (a campaign's)."""
        delta = self.delta if delta is None else delta
        concealment = self.media[medium or self.sir_medium()].concealment
        return min(1.0, delta * concealment * (1 - self.p_bribe))

    def holders_stop(self) -> bool:
        """True when every holder eventually stops (so a run without a step limit ends).

        After the last campaign the baseline applies for good, so a holder of a medium in use
        stops if it ceases (``gamma > 0``) or can be detected (its detection probability, after
        concealment and bribes, is above 0).
        """
        return self.gamma > 0 or all(self.detection_probability(m) > 0 for m in self.media_in_use())

    def transmissibility(self) -> float:
        """T: probability a holder ever shares along a tie of trust 1 (constant ``delta``).

        ``T = b / (1 - (1 - b)(1 - d)(1 - gamma))`` with ``b = sharing_probability()`` and
        ``d = detection_probability()`` (docs/model.md section 6).
        """
        b, d = self.sharing_probability(), self.detection_probability()
        keep = (1 - b) * (1 - d) * (1 - self.gamma)
        return b / (1 - keep) if keep < 1 else 1.0

    def detected_share(self) -> float:
        """Share of removals that are detections, ``d / (d + gamma - d * gamma)``, with ``d``
        the holders' detection probability after concealment and bribes."""
        d = self.detection_probability()
        q = d + self.gamma - d * self.gamma
        return d / q if q > 0 else 0.0
