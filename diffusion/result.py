"""The result of one run: state counts per step, how each person was reached, and the summary
figures derived from them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from diffusion import calendar
from diffusion.ties import CHANNELS

STATES: tuple[str, ...] = ("S", "W", "I", "R", "D")
"""State names, in the column order of ``Result.counts``."""


@dataclass(frozen=True)
class Reached:
    """How each agent was first reached, which media it watched, and when it first knew or
    witnessed someone punished (14 bytes per agent, 18 with ``witnessed``)."""

    step: npt.NDArray[np.int32]
    """The step it first saw media (0: an initial holder), or -1 if never."""
    channel: npt.NDArray[np.uint8]
    """Through what, an index into ``diffusion.ties.CHANNELS`` (tie or group kind, entry, seed)."""
    medium: npt.NDArray[np.uint8]
    """The medium it first saw, an index into ``Result.media``."""
    tie_detected: npt.NDArray[np.int32] | None = None
    """The first step one of its ties (a neighbour in the trust network) was detected, or -1."""
    seen: npt.NDArray[np.uint32] | None = None
    """Full model: every medium it watched by the end of the run, one bit per medium (bit ``m``
    for ``Result.media[m]``), viewings after the first included."""
    witnessed: npt.NDArray[np.int32] | None = None
    """Full model with public trials: the first step it attended a public trial, or -1."""


@dataclass(frozen=True)
class Result:
    """State counts of one run; row ``t`` of ``counts`` is the state after step ``t``."""

    counts: npt.NDArray[np.int64]
    """Shape (steps + 1, 5), columns S, W, I, R, D; row 0 is the initial state."""
    new_detections: npt.NDArray[np.int64]
    """Agents detected in each step (row 0 is 0)."""
    seed: int | None = None
    """The integer seed of the run, when it was given one."""
    edges_examined: int = 0
    """Ties the kernel looked at (a measure of work, for benchmarks)."""
    region_counts: npt.NDArray[np.int64] | None = None
    """Full model: shape (steps + 1, regions, 5), the state counts of each region."""
    media: tuple[str, ...] = ("usb",)
    """Names of the media, in the order of ``medium_counts`` and ``Reached.medium``."""
    medium_counts: npt.NDArray[np.int64] | None = None
    """Full model: shape (steps + 1, media, 5), informed agents by state and by the medium of
    the copy they last watched or held; the S column is 0."""
    lent_copies: npt.NDArray[np.int64] | None = None
    """Full model: shape (steps + 1, media), objects of each lent medium (DVDs) in circulation
    (held or shelved, not confiscated); 0 for copied media."""
    entered: npt.NDArray[np.int64] | None = None
    """Full model: smuggled copies taken up in each step (row 0 is 0): a copy for an agent
    who already holds one, or was detected, is not taken up and not counted."""
    region_seen: npt.NDArray[np.int64] | None = None
    """Full model: shape (steps + 1, regions, media), agents of each region who had watched each
    medium by each step."""
    public_trials: npt.NDArray[np.int64] | None = None
    """Full model: detections punished in public in each step (row 0 is 0)."""
    reached: Reached | None = None
    """How each agent was first reached."""
    start: dt.date | None = None
    """Calendar date of step 1, when the run had a calendar."""

    @property
    def steps(self) -> int:
        """Number of simulated steps."""
        return len(self.counts) - 1

    @property
    def medium_holders(self) -> npt.NDArray[np.int64] | None:
        """Full model: shape (steps + 1, media), holders of a copy of each medium."""
        if self.medium_counts is None:
            return None
        return self.medium_counts[:, :, STATES.index("I")]

    def dates(self) -> npt.NDArray[np.datetime64] | None:
        """The date of each row (the end of its step's day), when the run had a calendar."""
        return None if self.start is None else calendar.row_dates(self.start, self.steps)

    def channel_counts(
        self, by: npt.NDArray[np.integer] | None = None, groups: int = 1
    ) -> npt.NDArray[np.int64]:
        """Agents first reached per step, by group, channel and medium: shape (steps + 1,
        groups, channels, media), channels and media indexed like ``diffusion.ties.CHANNELS``
        and ``media``. ``by`` gives each agent's group (e.g. its province), else one group."""
        if self.reached is None:
            raise ValueError("this result has no record of how agents were reached")
        shape = (self.steps + 1, groups, len(CHANNELS), len(self.media))
        hit = self.reached.step >= 0
        group = np.zeros(np.count_nonzero(hit), np.int64) if by is None else by[hit]
        key = np.ravel_multi_index(
            (self.reached.step[hit], group, self.reached.channel[hit], self.reached.medium[hit]),
            shape,
        )
        return np.bincount(key, minlength=int(np.prod(shape))).reshape(shape)

    @property
    def n_agents(self) -> int:
        return int(self.counts[0].sum())

    @property
    def final(self) -> dict[str, int]:
        """Counts after the last step, by state name."""
        return dict(zip(STATES, (int(x) for x in self.counts[-1]), strict=True))

    @property
    def reach(self) -> npt.NDArray[np.int64]:
        """Agents informed by each step: W + I + R + D."""
        return self.counts.sum(axis=1) - self.state("S")

    def region_reach(self) -> npt.NDArray[np.float64] | None:
        """Share of each region's agents informed by the end (None without regions)."""
        if self.region_counts is None:
            return None
        final = self.region_counts[-1]
        size = final.sum(axis=1)
        return np.divide(
            size - final[:, STATES.index("S")], size, out=np.zeros(len(size)), where=size > 0
        )

    def summary(self) -> dict[str, float]:
        """Final reach and detections, the peak of holders, the time to half the final reach and,
        with regions, the Gini coefficient of reach across regions (0: even, 1: one region)."""
        reach = self.reach
        holders = self.state("I")
        final_reach = int(reach[-1])
        half = int(np.argmax(reach >= final_reach / 2)) if final_reach else 0
        summary = {
            "steps": self.steps,
            "reach": final_reach,
            "reach_share": final_reach / self.n_agents,
            "detected": int(self.state("D")[-1]),
            "peak_holders": int(holders.max()),
            "peak_step": int(holders.argmax()),
            "steps_to_half_reach": half,
        }
        region_reach = self.region_reach()
        if region_reach is not None:
            summary["regions_reached"] = int(np.count_nonzero(region_reach))
            summary["region_reach_gini"] = gini(region_reach)
        return summary

    @classmethod
    def from_events(
        cls, n_agents: int, n_seeds: int, events: dict[str, npt.NDArray[np.int64]], **kwargs
    ) -> Result:
        """Counts from the per-step events by name (``new_I``, ``new_W``, ``new_R``, ``new_D``,
        as the event kernel returns them) and the initial seeds."""
        new_i, new_w, new_r, new_d = (
            np.cumsum(events[name]) for name in ("new_I", "new_W", "new_R", "new_D")
        )
        columns = {
            "S": n_agents - n_seeds - new_i - new_w,
            "W": new_w,
            "I": n_seeds + new_i - new_r - new_d,
            "R": new_r,
            "D": new_d,
        }
        counts = np.column_stack([columns[state] for state in STATES]).astype(np.int64)
        return cls(counts=counts, new_detections=events["new_D"].copy(), **kwargs)

    def state(self, name: str) -> npt.NDArray[np.int64]:
        """The count of one state (a name of ``STATES``) in every row."""
        if name not in STATES:
            raise ValueError(f"name: {name!r} is not one of {', '.join(STATES)}")
        return self.counts[:, STATES.index(name)]


def gini(values: npt.ArrayLike) -> float:
    """Gini coefficient of non-negative values (0 when all are equal or all zero)."""
    x = np.sort(np.asarray(values, dtype=float))
    n, total = len(x), x.sum()
    if n == 0 or total == 0:
        return 0.0
    return float((2 * np.arange(1, n + 1) - n - 1) @ x / (n * total))
