"""Copies arriving from outside the country, step by step: the scenario's smuggling and any
copies a caller places itself (an entry strategy).

An ``EntrySchedule`` is a CSR table by step: the copies arriving in step ``t`` (1-based) go to
``agents[offsets[t - 1]:offsets[t]]``, one copy each of medium ``media[...]`` (an index into
``Params.media_names``). The full-model kernels take it as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from diffusion.params import Params
from diffusion.streams import (
    ENTRY,
    ENTRY_COPIES,
    ENTRY_COPY,
    RunStreams,
    addressed_uniforms,
    inverse_cdf,
)
from diffusion.world import World


@dataclass(frozen=True)
class EntrySchedule:
    """Copies arriving per step: CSR ``offsets`` (length steps + 1), recipients and media."""

    offsets: npt.NDArray[np.int64]
    agents: npt.NDArray[np.int32]
    media: npt.NDArray[np.uint8]

    @property
    def steps(self) -> int:
        """Number of steps the schedule covers (later steps have no arrivals)."""
        return len(self.offsets) - 1

    @property
    def copies(self) -> int:
        return len(self.agents)

    @classmethod
    def empty(cls, steps: int) -> EntrySchedule:
        return cls(
            np.zeros(steps + 1, dtype=np.int64), np.zeros(0, np.int32), np.zeros(0, np.uint8)
        )

    @classmethod
    def from_arrivals(
        cls, steps: int, step: npt.ArrayLike, agent: npt.ArrayLike, medium: npt.ArrayLike
    ) -> EntrySchedule:
        """A schedule from one row per copy (step in 1..steps, recipient, medium), in any order.

        Copies of the same step keep their given order (the kernel hands them out in it).
        """
        step = np.asarray(step, dtype=np.int64)
        agent = np.asarray(agent, dtype=np.int64)
        medium = np.asarray(medium, dtype=np.int64)
        if not (len(step) == len(agent) == len(medium)):
            raise ValueError("entry: step, agent and medium must have one value per copy")
        if len(step) and (step.min() < 1 or step.max() > steps):
            raise ValueError(f"entry: arrival steps must be in 1..{steps}")
        order = np.argsort(step, kind="stable")
        offsets = np.zeros(steps + 1, dtype=np.int64)
        np.cumsum(np.bincount(step, minlength=steps + 1)[1:], out=offsets[1:])
        return cls(offsets, agent[order].astype(np.int32), medium[order].astype(np.uint8))

    def merged(self, other: EntrySchedule) -> EntrySchedule:
        """Both schedules' copies; within a step, this one's come first."""
        steps = max(self.steps, other.steps)
        a, b = self.padded(steps), other.padded(steps)
        step = np.concatenate([_steps_of(a.offsets), _steps_of(b.offsets)])
        agent = np.concatenate([a.agents, b.agents])
        medium = np.concatenate([a.media, b.media])
        return EntrySchedule.from_arrivals(steps, step, agent, medium)

    def padded(self, steps: int) -> EntrySchedule:
        """The same copies over ``steps >= self.steps`` steps."""
        extra = steps - self.steps
        if extra < 0:
            raise ValueError(f"entry: covers {self.steps} steps, more than {steps}")
        offsets = np.concatenate([self.offsets, np.full(extra, self.offsets[-1], np.int64)])
        return EntrySchedule(offsets, self.agents, self.media)

    def check(self, n_agents: int, n_media: int, steps: int) -> None:
        """Refuse a schedule the run cannot take: recipients, media or steps out of range."""
        if self.steps > steps:
            raise ValueError(f"entry: covers {self.steps} steps but the run has {steps}")
        if len(self.offsets) < 1 or self.offsets[0] != 0 or np.any(np.diff(self.offsets) < 0):
            raise ValueError("entry: offsets must start at 0 and never decrease")
        if self.offsets[-1] != len(self.agents) or len(self.agents) != len(self.media):
            raise ValueError("entry: offsets, agents and media disagree on the number of copies")
        if len(self.agents) and (self.agents.min() < 0 or self.agents.max() >= n_agents):
            raise ValueError(f"entry: recipients must be agent ids in 0..{n_agents - 1}")
        if len(self.media) and self.media.max() >= n_media:
            raise ValueError(f"entry: media must be indices in 0..{n_media - 1}")


def _steps_of(offsets: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """The step (1-based) of each copy of a CSR schedule."""
    return np.repeat(np.arange(1, len(offsets), dtype=np.int64), np.diff(offsets))


def draw_entry(world: World, params: Params, horizon: int, streams: RunStreams) -> EntrySchedule:
    """The scenario's smuggled copies: per step Poisson at the scheduled rate, recipients in
    border regions, media drawn from the scheduled mix.

    A share ``entry_trader_share`` of copies goes to border-region traders (when there are any),
    the rest to any border-region agent. The counts per step come one step after another from
    the run's ``ENTRY`` stream, and each copy's recipient and medium from draws addressed by
    (copy of the day, day) (``streams.ENTRY_COPY``): a shorter run's copies are the first days
    of a longer run's, whatever the horizon.
    """
    steps = max(horizon, 0)
    starts, rates, mixes = params.entry_segments()
    segment = np.searchsorted(starts, np.arange(1, steps + 1), side="right") - 1
    if not (params.has_entry() and steps):
        return EntrySchedule.empty(steps)
    per_step = streams.generator(ENTRY).poisson(rates[segment])
    if per_step.sum() == 0:
        return EntrySchedule.empty(steps)
    border, traders = world.border, world.traders
    if len(border) == 0:
        raise ValueError(
            "entry_rate: copies enter through border regions, and this population has none "
            "(set border_regions >= 1, or entry_rate = 0)"
        )
    offsets = np.zeros(steps + 1, dtype=np.int64)
    np.cumsum(per_step, out=offsets[1:])
    day = _steps_of(offsets)
    index = np.arange(len(day), dtype=np.int64) - offsets[day - 1]
    u = addressed_uniforms(streams.key(ENTRY_COPIES), index, day, ENTRY_COPY)
    to_trader = u[:, 0] < params.entry_trader_share if len(traders) else np.zeros(len(day), bool)
    pool_trader = traders if len(traders) else border
    entrants = np.where(
        to_trader,
        pool_trader[_index(u[:, 1], len(pool_trader))],
        border[_index(u[:, 1], len(border))],
    ).astype(np.int32)
    # each copy's medium: inverse CDF of its day's mix
    media = inverse_cdf(u[:, 2], mixes[segment[day - 1]])
    return EntrySchedule(offsets, entrants, media.astype(np.uint8))


def _index(u: npt.NDArray[np.float64], n: int) -> npt.NDArray[np.int64]:
    """A uniform choice among ``n`` items from uniforms in [0, 1)."""
    return np.minimum((u * n).astype(np.int64), n - 1)
