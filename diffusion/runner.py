"""Run one scenario: build the network once, then the replicates, each on its own seed stream."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from diffusion._checks import seed_problem
from diffusion.config import ConfigError, ExperimentConfig
from diffusion.results import Result
from diffusion.simulate import simulate
from diffusion.world import World

Progress = Callable[[int, int, Result], None]
"""Called after each replicate with (replicates done, replicates in all, its result)."""
Built = Callable[[Any, float], None]
"""Called once the network is ready, with the network and the seconds it took."""


@dataclass(frozen=True)
class ScenarioRun:
    """The results of a scenario's replicates and how long the work took."""

    config: ExperimentConfig
    results: list[Result]
    build_seconds: float
    run_seconds: float
    world: World | None = None
    """What the replicates ran on (regions and provinces for the result tables)."""


def replicate_seeds(seed: int, replicates: int) -> Iterator[np.random.SeedSequence]:
    """Independent streams of the replicates, made one at a time: the streams of
    ``SeedSequence(seed).spawn(replicates)``, without building a million of them up front."""
    return (np.random.SeedSequence(seed, spawn_key=(i,)) for i in range(replicates))


def run_scenario(
    config: ExperimentConfig,
    network: Any = None,
    progress: Progress | None = None,
    on_built: Built | None = None,
) -> ScenarioRun:
    """Run ``config.run.replicates`` replicates on ``network`` (built from the config if None)."""
    start = time.perf_counter()
    if network is None:
        network = config.network.build()
    built = time.perf_counter()
    world = World.of(network)  # once: the kernels' arrays serve every replicate
    params, seeds = config.for_agents(world.n_agents)
    _check_seeds(seeds, world.n_agents)
    if on_built is not None:
        on_built(network, built - start)
    run = config.run
    results = []
    for i, stream in enumerate(replicate_seeds(run.seed, run.replicates)):
        result = simulate(world, params, seeds=seeds, rng=stream, steps=config.steps())
        results.append(result)
        if progress is not None:
            progress(i + 1, run.replicates, result)
    return ScenarioRun(config, results, built - start, time.perf_counter() - built, world)


def _check_seeds(seeds: int | list[int], n_agents: int) -> None:
    """Initial holders must exist: checked once a loaded network's size is known."""
    problem = seed_problem(seeds, n_agents)
    if problem:
        raise ConfigError([f"run.seeds: {problem}"])
