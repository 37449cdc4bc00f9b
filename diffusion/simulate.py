"""Prepare arrays for the kernel, run it, and wrap what it returns in a ``Result``."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from diffusion._sir import run_sir
from diffusion.network import Network
from diffusion.params import Params
from diffusion.results import Result

SeedSpec = int | npt.ArrayLike
RngSpec = int | np.random.SeedSequence | np.random.Generator | np.random.BitGenerator | None


def simulate(
    network: Network,
    params: Params,
    seeds: SeedSpec = 1,
    rng: RngSpec = None,
    steps: int | None = None,
) -> Result:
    """Run the model once on ``network`` and return the state counts per step.

    ``seeds`` is a number of initial holders drawn uniformly at random, or an array of agent ids.
    ``rng`` is an integer seed, a ``SeedSequence``, a numpy ``Generator`` or ``BitGenerator``;
    a seed makes the run reproducible bit for bit. ``steps`` fixes the number of steps; by
    default the run goes on until no holder remains.
    """
    if steps is not None and (int(steps) != steps or steps < 0):
        raise ValueError(f"steps: {steps} must be an integer >= 0")
    if steps is None and not params.holders_stop():
        raise ValueError("steps: required when gamma = 0 and delta = 0 (holders never stop)")
    bit_generator = _bit_generator(rng)
    seed_ids = choose_seeds(network.n_nodes, seeds, np.random.Generator(bit_generator))
    starts, deltas = params.delta_segments()
    events, examined = run_sir(
        network.offsets,
        network.neighbours,
        network.trust,
        network.uniform_trust(),
        seed_ids,
        params.beta,
        params.gamma,
        params.p_copy,
        starts,
        deltas,
        -1 if steps is None else int(steps),
        bit_generator,
    )
    return Result.from_events(
        network.n_nodes,
        len(seed_ids),
        events,
        seed=rng if isinstance(rng, int) else None,
        edges_examined=examined,
    )


def choose_seeds(n_agents: int, seeds: SeedSpec, generator: np.random.Generator) -> np.ndarray:
    """Initial holders: ``seeds`` distinct agents drawn at random, or the given ids checked."""
    if np.ndim(seeds) == 0:
        count = seeds
        if int(count) != count or not 0 <= count <= n_agents:
            raise ValueError(f"seeds: {count} is not an integer in [0, {n_agents}] (the agents)")
        return np.sort(generator.choice(n_agents, size=int(count), replace=False)).astype(np.int32)
    ids = np.asarray(seeds)
    if ids.ndim != 1 or (ids.size and not np.issubdtype(ids.dtype, np.integer)):
        raise ValueError("seeds: an array of seeds must be a 1-D array of integer agent ids")
    if ids.size and (ids.min() < 0 or ids.max() >= n_agents):
        raise ValueError(f"seeds: agent ids must be in [0, {n_agents - 1}]")
    if len(np.unique(ids)) != len(ids):
        raise ValueError("seeds: agent ids must be distinct")
    return ids.astype(np.int32)


def _bit_generator(rng: RngSpec) -> np.random.BitGenerator:
    """The run's bit generator: PCG64 for an integer seed or None, else the one given."""
    if isinstance(rng, np.random.Generator):
        return rng.bit_generator
    if isinstance(rng, np.random.BitGenerator):
        return rng
    if isinstance(rng, np.random.SeedSequence):
        return np.random.PCG64(rng)
    if rng is not None and (int(rng) != rng or rng < 0):
        raise ValueError(f"rng: {rng} must be a non-negative integer seed")
    return np.random.PCG64(rng)
