"""The ten provinces of the 2008 census, and the largest-remainder split of a total among them.

Source: 2008 Population Census of the DPRK, Central Bureau of Statistics, Pyongyang, 2009
(conducted with UNFPA), Table 2 (population by province), as reproduced in the OCHA/HDX
county-level file built from it (``prk_pop_adm2``). The ten provinces sum to 23,349,859; the
national total, 24,052,231, adds 702,372 people living in military camps, who are in no province.
In 2008 Rason was part of North Hamgyong and Nampo part of South Pyongan, so neither is listed.
The census counts roughly 200 county-level units (cities, counties, districts).

The provinces bordering China (about 1,400 km of border) are North Pyongan, Chagang,
North Hamgyong and Ryanggang; most smuggled goods, and smuggled media with them, cross there
(e.g. Sinuiju-Dandong, Manpo-Ji'an, Musan, Hoeryong, Namyang-Tumen, Hyesan-Changbai).

The model builds its default country from these figures (``PopulationConfig.regions``); the
census table keeps the order of the census, which is also the order of the regions' ids.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt


class Province(NamedTuple):
    """One province: its name, its 2008 census population and whether it borders China."""

    name: str
    population: int
    borders_china: bool


PROVINCES: tuple[Province, ...] = (
    Province("Pyongyang", 3_255_288, False),
    Province("South Pyongan", 4_051_696, False),
    Province("North Pyongan", 2_728_662, True),
    Province("Chagang", 1_299_830, True),
    Province("South Hwanghae", 2_310_485, False),
    Province("North Hwanghae", 2_113_672, False),
    Province("Kangwon", 1_477_582, False),
    Province("South Hamgyong", 3_066_013, False),
    Province("North Hamgyong", 2_327_362, True),
    Province("Ryanggang", 719_269, True),
)
"""The census provinces in the census' order."""

MILITARY_CAMPS = 702_372
"""People the census counts in military camps, in no province (2.9 % of the national total).
The model spreads them over the provinces in proportion to their populations: a province's
share of agents is its share of the ten provinces' total."""

NATIONAL_TOTAL = 24_052_231
"""The census' national total: the provinces plus ``MILITARY_CAMPS``."""


def largest_remainder(
    total: int, weights: npt.ArrayLike, minimum: int = 0
) -> npt.NDArray[np.int64]:
    """Split ``total`` into integers proportional to ``weights`` (Hamilton's method).

    Each part gets the floor of its quota, and the units left over go to the largest
    fractional remainders (ties to the earlier part). A part whose quota is below ``minimum``
    gets exactly ``minimum``, and the rest of the total is split among the others the same way.
    """
    weights = np.asarray(weights, dtype=np.float64)
    if total < minimum * len(weights):
        raise ValueError(f"{total} is too few for {len(weights)} parts of at least {minimum}")
    fixed = np.zeros(len(weights), dtype=bool)
    while True:
        free = total - minimum * int(fixed.sum())
        share = np.where(fixed, 0.0, weights) / weights[~fixed].sum()
        quota = np.where(fixed, float(minimum), free * share)
        below = ~fixed & (quota < minimum)
        if not below.any() or np.array_equal(below, ~fixed):  # (all below: only by rounding)
            break
        fixed |= below
    counts = np.floor(quota).astype(np.int64)
    order = np.argsort(counts - quota, kind="stable")  # largest remainders first
    counts[order[: total - int(counts.sum())]] += 1
    return counts
