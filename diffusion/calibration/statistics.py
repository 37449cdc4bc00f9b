"""Model-side statistics: from one run to the quantities the surveys published.

Every statistic is a share of people, computed province by province and averaged with the
sample's province weights (``diffusion.calibration.weights``), at one calendar date (the
target's, see ``Period.date``). It reads how each person was first reached
(``Result.reached``): the step they first saw foreign media, and the medium.

- ``watched``: share who had watched foreign media by the date (reached at a step up to the
  date's; the initial holders, step 0, count).
- ``first_medium``: share whose first foreign media, by the date, came on one of the given media.
- ``seen``: share who, by the date, had watched the given medium, first or later
  (``Result.region_seen``: every viewing is recorded, so "had watched DVDs" is exact).
- ``knew_punished``: share who, by the date, had one of their ties detected (punished): the
  first step one of a person's neighbours in the trust network was detected
  (``Result.reached.tie_detected``): someone they know.
- ``witnessed_punished``: share who, by the date, had attended a public trial
  (``Result.reached.witnessed``; 0 in a run without public trials).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from diffusion import calendar
from diffusion.calibration.weights import agent_provinces
from diffusion.results import Result
from diffusion.world import World

STATISTICS: tuple[str, ...] = (
    "watched",
    "first_medium",
    "seen",
    "knew_punished",
    "witnessed_punished",
)
"""Names of the statistics a target may use."""


def step_of_date(result: Result, day: dt.date) -> int:
    """The step of ``day`` in ``result``'s calendar; ``ValueError`` outside the run."""
    if result.start is None:
        raise ValueError("the run has no calendar (model.start): a dated statistic needs one")
    step = calendar.step_of(result.start, day)
    if not 0 <= step <= result.steps:
        last = calendar.day_of(result.start, result.steps)
        raise ValueError(f"{day} is outside the run ({result.start} to {last})")
    return step


def weighted_share(
    mask: npt.NDArray[np.bool_], world: World, weights: npt.NDArray[np.float64]
) -> float:
    """Share of each province's agents in ``mask``, averaged with the province ``weights``."""
    provinces = agent_provinces(world)
    size = np.bincount(provinces, minlength=len(weights))
    hits = np.bincount(provinces[mask], minlength=len(weights))
    empty = (size == 0) & (weights > 0)
    if empty.any():
        name = world.province_names[int(np.argmax(empty))]
        raise ValueError(f"province {name!r} has weight but no agents")
    shares = np.divide(hits, size, out=np.zeros(len(size)), where=size > 0)
    return float(weights @ shares)


def watched(
    result: Result,
    world: World,
    weights: npt.NDArray[np.float64],
    day: dt.date,
    media: Sequence[str] = (),
) -> float:
    """Share who had watched foreign media by ``day`` (with ``media``: whose first medium was
    one of them), provinces weighted by ``weights``."""
    if result.reached is None:
        raise ValueError("the run has no record of how people were reached")
    step = step_of_date(result, day)
    mask = (result.reached.step >= 0) & (result.reached.step <= step)
    if media:
        unknown = [m for m in media if m not in result.media]
        if unknown:
            raise ValueError(f"{unknown[0]!r} is not a medium of the run ({result.media})")
        codes = [result.media.index(m) for m in media]
        mask &= np.isin(result.reached.medium, codes)
    return weighted_share(mask, world, weights)


def knew_punished(
    result: Result, world: World, weights: npt.NDArray[np.float64], day: dt.date
) -> float:
    """Share who had a tie (a neighbour) detected by ``day``, provinces weighted by ``weights``."""
    detected = None if result.reached is None else result.reached.tie_detected
    if detected is None:
        raise ValueError("the run has no record of when each person's ties were detected")
    step = step_of_date(result, day)
    return weighted_share((detected >= 0) & (detected <= step), world, weights)


def seen(
    result: Result, world: World, weights: npt.NDArray[np.float64], day: dt.date, medium: str
) -> float:
    """Share who had watched ``medium`` by ``day`` (at a first viewing or a later one),
    provinces weighted by ``weights``."""
    if result.region_seen is None:
        raise ValueError("the run has no record of the media people watched (the full model has)")
    if medium not in result.media:
        raise ValueError(f"{medium!r} is not a medium of the run ({result.media})")
    step = step_of_date(result, day)
    by_region = result.region_seen[step, :, result.media.index(medium)]
    provinces = world.region_province
    hits = np.bincount(provinces, weights=by_region, minlength=len(weights))
    size = np.bincount(agent_provinces(world), minlength=len(weights))
    shares = np.divide(hits, size, out=np.zeros(len(size)), where=size > 0)
    return float(weights @ shares)


def witnessed_punished(
    result: Result, world: World, weights: npt.NDArray[np.float64], day: dt.date
) -> float:
    """Share who had attended a public trial by ``day``, provinces weighted by ``weights``."""
    if result.reached is None:
        raise ValueError("the run has no record of how people were reached")
    step = step_of_date(result, day)
    witnessed = result.reached.witnessed
    if witnessed is None:  # no public trial, or nobody attends one: nobody witnessed
        return 0.0
    return weighted_share((witnessed >= 0) & (witnessed <= step), world, weights)
