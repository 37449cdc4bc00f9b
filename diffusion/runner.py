"""Run one scenario: build the network once, then the replicates, each on its own seed stream;
and write its result folder (``diffusion.results`` holds the tables, this module says which
config and seed they came from)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

import diffusion
from diffusion._checks import seed_problem
from diffusion.config import ConfigError, ExperimentConfig
from diffusion.results import Result
from diffusion.results import io as results_io
from diffusion.results.folder import run_output
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


def identity(config: ExperimentConfig) -> dict[str, Any]:
    """What makes two runs the same experiment: the resolved config and the network's content
    hash (``diffusion.results.folder.run_output`` compares it with what a folder records)."""
    return {"config": config.resolved(), "network_hash": config.content_hash()}


def run_metadata(run: ScenarioRun) -> dict[str, Any]:
    """What makes a result folder self-describing: config, seed, version, timings."""
    return {
        **identity(run.config),
        "seed": run.config.run.seed,
        "replicates": len(run.results),
        "version": diffusion.__version__,
        "build_seconds": run.build_seconds,
        "run_seconds": run.run_seconds,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def write_tables(run: ScenarioRun, folder: Path) -> dict[str, Path]:
    """Write a run's tables (``diffusion.results.io.run_tables``) into the new, empty
    ``folder``; returns the paths by table."""
    lent = tuple(name for name, m in run.config.model.media.items() if m.lent)
    tables = results_io.run_tables(run.results, run.world, lent, run.config.run.seed)
    return results_io.write_tables(tables, run_metadata(run), folder)


def write_run(run: ScenarioRun, out_dir: str | Path, replace: bool = False) -> dict[str, Path]:
    """Write a run's tables as the folder ``out_dir``, as a unit; returns the paths by table.

    A folder holding another experiment's results is refused unless ``replace`` (see
    ``diffusion.results.folder.run_output``, which the command line enters before computing).
    """
    out_dir = Path(out_dir)
    with run_output(out_dir, identity(run.config), replace) as build:
        names = write_tables(run, build)
    return {name: out_dir / path.name for name, path in names.items()}
