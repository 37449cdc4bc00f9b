"""Model parameters and their validation: the one place that knows ranges and defaults."""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

MAX_STEPS = 10_000_000
"""Longest run and latest scheduled step: 27,000 years of days, and ``step + fear_steps`` stays
far inside the kernels' 32-bit step counters."""
MAX_FACTOR = 1000.0
"""Upper bound of every multiplicative factor: products of factors stay finite, so every
probability formed from them is a number that clipping to [0, 1] keeps meaningful."""
MAX_ENTRY_RATE = 100_000.0
"""Most copies smuggled in per step (Poisson mean); the entries of a run are drawn up front."""

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
Step = Annotated[int, Field(ge=1, le=MAX_STEPS)]
Multiplier = Annotated[float, Field(ge=0.0, le=MAX_FACTOR)]


class _Strict(BaseModel):
    """Base for parameter models: unknown fields are errors and values never change."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Campaign(_Strict):
    """A crackdown: detection probability ``delta`` from step ``start`` to ``end`` inclusive."""

    start: Step
    end: Step
    delta: Probability

    @model_validator(mode="after")
    def _ordered(self) -> Campaign:
        if self.end < self.start:
            raise ValueError(f"end ({self.end}) must be >= start ({self.start})")
        return self


class Medium(_Strict):
    """How one medium spreads and hides: multipliers on sharing and on detection."""

    share: Multiplier = 1.0
    """Multiplier on the sharing probability ``beta``."""
    concealment: Multiplier = 1.0
    """Multiplier on the detection probability (below 1: easier to hide)."""


class Params(_Strict):
    """Parameters of the model (MODEL.md sections 3-6); mechanisms beyond SIR are off by default.

    Per step, each holder shares with each susceptible neighbour with probability
    ``beta * trust`` (times the medium's ``share``, the neighbour's cohort ``acceptance`` and
    ``fear_factor`` while afraid); an exposed agent becomes a holder with probability ``p_copy``
    (else it has only watched); each holder is then detected with probability ``delta`` (the
    ``delta`` of a campaign during its window, times the medium's concealment, times
    ``informant_risk`` after showing media to an informant, times ``1 - p_bribe``) and, if not
    detected, stops sharing with probability ``gamma``.
    """

    beta: Probability
    gamma: Probability
    delta: Probability = 0.0
    p_copy: Probability = 1.0
    campaigns: tuple[Campaign, ...] = ()
    mode: Literal["edge", "group"] = "edge"
    """``edge``: sharing tie by tie; ``group``: holders host viewings in their groups."""
    host_prob: Probability = 0.5
    """Group mode: probability per step that a holder hosts a viewing in one of its groups."""
    usb: Medium = Medium()
    dvd: Medium = Medium()
    dvd_share: Probability = 0.0
    """Share of initial and entering copies that are DVDs (lent on) rather than USB drives."""
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
    fear_steps: Annotated[int, Field(ge=0, le=MAX_STEPS)] = 0
    """Steps that fear lasts after a neighbour's detection (0: no fear)."""
    entry_rate: Annotated[float, Field(ge=0.0, le=MAX_ENTRY_RATE)] = 0.0
    """Expected number of copies smuggled into border regions per step (Poisson)."""
    entry_trader_share: Probability = 0.5
    """Share of smuggled copies that go to a trader rather than to any border-region agent."""

    @model_validator(mode="after")
    def _campaigns_disjoint(self) -> Params:
        ordered = sorted(self.campaigns, key=lambda c: c.start)
        for before, after in zip(ordered, ordered[1:], strict=False):
            if after.start <= before.end:
                raise ValueError(
                    f"campaigns: steps {before.start}-{before.end} and "
                    f"{after.start}-{after.end} overlap"
                )
        return self

    def delta_segments(self) -> tuple[np.ndarray, np.ndarray]:
        """The detection schedule as piecewise-constant segments ``(first step, delta)``."""
        starts, deltas = [1], [self.delta]
        for campaign in sorted(self.campaigns, key=lambda c: c.start):
            if campaign.start == starts[-1]:
                deltas[-1] = campaign.delta
            else:
                starts.append(campaign.start)
                deltas.append(campaign.delta)
            starts.append(campaign.end + 1)
            deltas.append(self.delta)
        return np.asarray(starts, dtype=np.int64), np.asarray(deltas, dtype=np.float64)

    def delta_at(self, steps: np.ndarray) -> np.ndarray:
        """Detection probability in force at each of ``steps``."""
        starts, deltas = self.delta_segments()
        return deltas[np.searchsorted(starts, steps, side="right") - 1]

    def reduces_to_sir(self) -> bool:
        """True when only the mechanisms of the SIR reduction (MODEL.md section 6) are on.

        The USB share factor folds into ``beta`` (a tie of trust w shares with probability
        ``min(1, beta * share * w)`` in both kernels), and concealment and bribes into ``delta``
        (``min(1, delta * concealment * (1 - p_bribe))``): the same process exactly. Anything
        else needs the full (step) kernel.
        """
        return (
            self.mode == "edge"
            and self.dvd_share == 0
            and self.acceptance_market == self.acceptance_older == 1
            and self.informant_risk == 1
            and self.p_implicate == 0
            and (self.fear_steps == 0 or self.fear_factor == 1)
            and self.entry_rate == 0
        )

    def media_in_use(self) -> tuple[str, ...]:
        """The media that copies can be: USB unless every copy is a DVD, DVD if any is."""
        used = {"usb": self.dvd_share < 1, "dvd": self.dvd_share > 0}
        return tuple(name for name, in_use in used.items() if in_use)

    def sharing_probability(self, medium: str = "usb") -> float:
        """Per-step sharing probability along a tie of trust 1, ``min(1, beta * share)``."""
        return min(1.0, self.beta * getattr(self, medium).share)

    def detection_probability(self, medium: str = "usb", delta: float | None = None) -> float:
        """A holder's per-step detection probability, ``min(1, delta * concealment * (1 -
        p_bribe))``, at the baseline ``delta`` or the one given (a campaign's)."""
        delta = self.delta if delta is None else delta
        return min(1.0, delta * getattr(self, medium).concealment * (1 - self.p_bribe))

    def holders_stop(self) -> bool:
        """True when every holder eventually stops (so a run without a step limit ends).

        After the last campaign the baseline applies for good, so a holder of a medium in use
        stops if it ceases (``gamma > 0``) or can be detected (its detection probability, after
        concealment and bribes, is above 0).
        """
        return self.gamma > 0 or all(self.detection_probability(m) > 0 for m in self.media_in_use())

    def transmissibility(self) -> float:
        """T: probability a USB holder ever shares along a tie of trust 1 (constant ``delta``).

        ``T = b / (1 - (1 - b)(1 - d)(1 - gamma))`` with ``b = sharing_probability()`` and
        ``d = detection_probability()`` (MODEL.md section 6).
        """
        b, d = self.sharing_probability(), self.detection_probability()
        keep = (1 - b) * (1 - d) * (1 - self.gamma)
        return b / (1 - keep) if keep < 1 else 1.0

    def detected_share(self) -> float:
        """Share of removals that are detections, ``d / (d + gamma - d * gamma)``, with ``d``
        the USB holders' detection probability after concealment and bribes."""
        d = self.detection_probability()
        q = d + self.gamma - d * self.gamma
        return d / q if q > 0 else 0.0
