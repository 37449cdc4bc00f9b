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
from diffusion.network import Network
from diffusion.params import MAX_STEPS, Params
from diffusion.population import Population
from diffusion.world import World


def check_simulate_args(world: Any, params: Any, rng: Any, steps: Any) -> None:
    """Check ``simulate``'s ``world``, ``params``, ``rng`` and ``steps`` (see ``simulate``)."""
    check_world(world)
    check_params(params)
    check_rng(rng)
    check_steps(steps)


def check_world(world: Any) -> None:
    """``world`` must be a ``Network``, a ``Population`` or their ``World``."""
    if not isinstance(world, Network | Population | World):
        raise TypeError(
            f"world: expected a diffusion.Network or Population, got {type(world).__name__}"
        )


def check_params(params: Any) -> None:
    """``params`` must be a ``Params`` (a dict is not validated: build ``Params(**values)``)."""
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


def seed_problem(seeds: Any, n_agents: int) -> str | None:
    """What is wrong with initial holders ``seeds`` (a count, or agent ids) among ``n_agents``
    agents, or None: the one check behind ``simulate``, the config and the runner."""
    if np.ndim(seeds) == 0:
        if isinstance(seeds, bool) or int(seeds) != seeds or not 0 <= seeds <= n_agents:
            return f"{short_repr(seeds)} is not an integer in [0, {n_agents}] (the agents)"
        return None
    ids = np.asarray(seeds)
    if ids.ndim != 1 or (ids.size and not np.issubdtype(ids.dtype, np.integer)):
        return "an array of seeds must be a 1-D array of integer agent ids"
    outside = ids[(ids < 0) | (ids >= n_agents)]
    if outside.size:
        return f"agent id {outside[0]} is not in [0, {n_agents - 1}]"
    if len(np.unique(ids)) != len(ids):
        return "agent ids must be distinct"
    return None


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
