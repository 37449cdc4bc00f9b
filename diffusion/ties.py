"""The kinds of tie and group, declared in one table: their names, default trust and how they
carry media in group mode.

A network stores each tie's kind as an index into ``TIE_KINDS`` (one byte per tie), a population
each group's kind the same way (households and viewing circles are groups and ties at once).
The full-model kernels read ``grouped`` per kind: in group mode a grouped tie carries media only
through viewings of its group, the others tie by tie. Exposure channels are named after the
kinds, plus ``entry`` (a smuggled copy) and ``seed`` (an initial holder).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class TieKind:
    """One kind of tie: its name, the trust a synthetic population gives it, and whether group
    mode shares along it only in viewings of its group."""

    name: str
    trust: float
    grouped: bool


TIE_KINDS: tuple[TieKind, ...] = (
    TieKind("other", 1.0, grouped=False),  # a tie of a network brought by the user
    TieKind("household", 1.0, grouped=True),  # everyone in a household trusts everyone
    TieKind("circle", 0.7, grouped=True),  # viewing circles of friends
    TieKind("market", 0.3, grouped=False),  # a trader and a customer of the same region
    TieKind("trade", 0.2, grouped=False),  # traders of different regions
)
"""Every kind of tie, by index (a tie's ``kind`` byte)."""

EDGE_KINDS: tuple[str, ...] = tuple(kind.name for kind in TIE_KINDS)
"""Names of the tie kinds, indexed like ``Network.kind``."""

KIND = {kind.name: index for index, kind in enumerate(TIE_KINDS)}
"""Index of each kind by name."""

CHANNELS: tuple[str, ...] = (*EDGE_KINDS, "entry", "seed", "market_sale")
"""How a person was first reached: through a tie or group of a kind, by a smuggled copy, as an
initial holder, or by buying or renting media from a trader; indexed like
``Result.reached_channel``."""

ENTRY_CHANNEL = CHANNELS.index("entry")
SEED_CHANNEL = CHANNELS.index("seed")
SALE_CHANNEL = CHANNELS.index("market_sale")


def grouped_flags() -> npt.NDArray[np.uint8]:
    """``grouped`` of every kind, as the full-model kernels read it (1: only in viewings)."""
    return np.array([kind.grouped for kind in TIE_KINDS], dtype=np.uint8)
