"""Province weights of a survey sample: how much each province counts in a model statistic.

Survey samples are of people who left the country, most of them from the provinces on the
Chinese border, so a model statistic averages provinces with the sample's weights rather than
the population's. A weighting is data (``[weightings.<name>]`` of the targets file): shares for
named provinces and for ``border`` (the provinces on China not named); the rest goes to the
other provinces. Inside ``border`` and inside the rest, provinces share in proportion to their
agents (their population), as a random sample of their people would.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from diffusion.population.provinces import PROVINCES
from diffusion.world import World

BORDER = "border"
"""The key of a weighting that gives a share to the provinces on the Chinese border."""
BORDER_PROVINCES = frozenset(p.name for p in PROVINCES if p.borders_china)
CENSUS_PROVINCES = frozenset(p.name for p in PROVINCES)
Weighting = dict[str, float]
"""Shares by census province name or ``border``; an empty weighting is the population's."""


def check_weighting(weighting: Weighting) -> None:
    """Raise ``ValueError`` unless the keys are census provinces or ``border`` and the shares
    are in [0, 1] and add up to at most 1."""
    for key, share in weighting.items():
        if key != BORDER and key not in CENSUS_PROVINCES:
            raise ValueError(f"{key}: not a census province or {BORDER!r}")
        if not 0 <= share <= 1:
            raise ValueError(f"{key}: {share} is not in [0, 1]")
    total = sum(weighting.values())
    if total > 1 + 1e-9:
        raise ValueError(f"the shares add up to {total:g}, more than 1")


def agent_provinces(world: World) -> npt.NDArray[np.int64]:
    """Each agent's province, an index into ``world.province_names``."""
    return world.region_province[np.asarray(world.agents["region"], dtype=np.int64)]


def province_weights(weighting: Weighting, world: World) -> npt.NDArray[np.float64]:
    """Weight of each of ``world.province_names`` (adding up to 1) under ``weighting``."""
    check_weighting(weighting)
    names = world.province_names
    unknown = [key for key in weighting if key != BORDER and key not in names]
    if unknown or (BORDER in weighting and not BORDER_PROVINCES & set(names)):
        raise ValueError(
            f"the weighting names {(unknown or [BORDER])[0]!r}, and this world's provinces are "
            f'{", ".join(names)} (use the census provinces: network.regions = "census")'
        )
    agents = np.bincount(agent_provinces(world), minlength=len(names)).astype(np.float64)
    named = np.array([name in weighting for name in names])
    border = np.array([BORDER in weighting and name in BORDER_PROVINCES for name in names]) & ~named
    rest = ~named & ~border
    weights = np.array([weighting.get(name, 0.0) for name in names])
    shares = (weighting.get(BORDER, 0.0), 1.0 - sum(weighting.values()))
    for group, share in zip((border, rest), shares, strict=True):
        size = agents[group].sum()
        if share > 1e-12 and size == 0:
            raise ValueError(f"a share of {share:g} goes to provinces with no agents")
        if size > 0:
            weights[group] = share * agents[group] / size
    if abs(weights.sum() - 1) > 1e-9:
        raise ValueError(f"the weights add up to {weights.sum():g}, not 1 (no province is left)")
    return weights
