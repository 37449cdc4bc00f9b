"""Checks of the arguments of the public API: a wrong argument is a ``TypeError`` (wrong kind of
value) or ``ValueError`` (right kind, unusable value) that names the argument, raised before any
work, instead of an ``AttributeError`` or ``OverflowError`` from deep inside.

``simulate`` calls ``check_simulate_args`` first thing.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from diffusion._text import short_repr

MAX_STEPS = 10**8
"""Most steps of one run: its per-step results take about 136 bytes a step (14 GB at most)."""


def check_simulate_args(world: Any, params: Any, rng: Any, steps: Any) -> None:
    """Check ``simulate``'s ``world``, ``params``, ``rng`` and ``steps`` (see ``simulate``)."""
    check_world(world)
    check_params(params)
    check_rng(rng)
    check_steps(steps)


def check_world(world: Any) -> None:
    """``world`` must be a ``Network`` or a ``Population``."""
    from diffusion.network import Network
    from diffusion.population import Population

    if not isinstance(world, Network | Population):
        raise TypeError(
            f"world: expected a diffusion.Network or Population, got {type(world).__name__}"
        )


def check_params(params: Any) -> None:
    """``params`` must be a ``Params`` (a dict is not validated: build ``Params(**values)``)."""
    from diffusion.params import Params

    if not isinstance(params, Params):
        hint = "; build one with diffusion.Params(**values)" if isinstance(params, dict) else ""
        raise TypeError(f"params: expected a diffusion.Params, got {type(params).__name__}{hint}")


def check_rng(rng: Any) -> None:
    """``rng`` must be None, a seed integer in [0, 2**64), a SeedSequence, Generator or
    BitGenerator."""
    if rng is None or isinstance(
        rng, np.random.SeedSequence | np.random.Generator | np.random.BitGenerator
    ):
        return
    if isinstance(rng, bool) or not isinstance(rng, numbers.Integral):
        raise TypeError(
            "rng: expected an integer seed, a numpy SeedSequence, Generator or BitGenerator, "
            f"got {type(rng).__name__} {short_repr(rng)}"
        )
    if not 0 <= int(rng) < 2**64:
        raise ValueError(f"rng: {short_repr(rng)} is not an integer seed in [0, 2**64)")


def check_steps(steps: Any) -> None:
    """``steps`` must be None or a whole number in [0, MAX_STEPS]."""
    if steps is None:
        return
    if isinstance(steps, bool) or not isinstance(steps, numbers.Real):
        raise TypeError(f"steps: expected an integer or None, got {type(steps).__name__}")
    if isinstance(steps, numbers.Integral):
        whole = True
    else:
        whole = math.isfinite(steps) and float(steps).is_integer()
    if not whole or not 0 <= steps <= MAX_STEPS:
        raise ValueError(f"steps: {short_repr(steps)} is not an integer in [0, {MAX_STEPS}]")
