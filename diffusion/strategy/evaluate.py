"""Strategies x replicates on Dask, with common random numbers, one file set per finished task.

Replicate ``r`` of every strategy runs with the same seed, ``SeedSequence(run.seed,
spawn_key=(r,))`` (a scenario's replicate ``r`` in ``diffusion run``), so the strategies meet the
same scenario smuggling, the same initial holders and the same draws for every agent wherever
their histories agree (``diffusion.streams``); their copies come from the replicate's placement
stream. The folder, like a sweep's (``diffusion.sweep.run``):

* ``strategy.json``: what was run (the resolved config without ``[cluster]`` and the search);
  a different evaluation into the folder is refused;
* ``runs/``, ``series/``, ``provinces/``: one ``part-<strategy>-<first replicate>.parquet`` each
  per task (a block of ``replicates_per_task`` replicates of one strategy), written atomically
  when the task returns, the ``runs`` file last: a task is in the folder completely or not at all;
* rerunning the same command skips the tasks whose ``runs`` file exists and redoes none.

A worker builds the network once and keeps it (``diffusion.sweep.run.NETWORKS``); if a worker
dies, Dask reruns its tasks elsewhere.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property, lru_cache
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

import diffusion
from diffusion._io import atomic_write, remove_temporaries
from diffusion._json import changed_identity
from diffusion._lock import FolderLock
from diffusion.config import ConfigError, ExperimentConfig, network_content_hash, validate_config
from diffusion.errors import DiffusionError
from diffusion.result import STATES
from diffusion.results import Result
from diffusion.results.io import write_parquet
from diffusion.simulate import simulate
from diffusion.strategy.config import Strategy
from diffusion.strategy.placement import (
    DAYS_PER_YEAR,
    Country,
    arrival_steps,
    place,
    recipients,
)
from diffusion.streams import PLACEMENT, RunStreams
from diffusion.sweep.run import NETWORKS

MANIFEST = "strategy.json"
RUNS, SERIES, PROVINCES = "runs", "series", "provinces"
FORMAT = 1
SPARSE_BUDGET = 0.05
"""Share of runs without a single copy of a strategy above which its budget is warned about."""


class EvaluationError(DiffusionError, ValueError):
    """An evaluation that cannot run into its folder (it holds something else)."""


@dataclass(frozen=True)
class Task:
    """Replicates ``first .. first + count - 1`` of strategy number ``strategy``."""

    strategy: int
    first: int
    count: int

    @property
    def part(self) -> str:
        return f"part-{self.strategy:03d}-{self.first:07d}.parquet"


@dataclass(frozen=True)
class Evaluation:
    """A validated config with a ``[strategy]`` section, split into tasks."""

    config: ExperimentConfig

    @classmethod
    def from_config(cls, config: ExperimentConfig) -> Evaluation:
        if config.strategy is None:
            raise ConfigError(["strategy: the config has no [strategy] section"])
        return cls(config)

    @property
    def strategies(self) -> list[Strategy]:
        return self.config.strategy.compare

    @property
    def replicates(self) -> int:
        return self.config.run.replicates

    @cached_property
    def tasks(self) -> list[Task]:
        block = self.config.strategy.replicates_per_task
        return [
            Task(s, first, min(block, self.replicates - first))
            for s in range(len(self.strategies))
            for first in range(0, self.replicates, block)
        ]

    @cached_property
    def identity(self) -> dict[str, Any]:
        """What must match for a folder to be resumed: everything that changes a result."""
        resolved = self.config.resolved()
        resolved.pop("cluster", None)
        resolved["strategy"].pop("search", None)
        return {
            "format": FORMAT,
            "config": resolved,
            "network_hash": network_content_hash(self.config.network),
        }

    def payload(self) -> str:
        """The config tasks carry, as JSON text."""
        return json.dumps(self.identity["config"], sort_keys=True)

    @property
    def network_key(self) -> str:
        return self.identity["network_hash"]

    def scale(self, n_agents: int) -> float:
        """Model agents per real person: budgets are multiplied by it."""
        return n_agents / self.config.strategy.population

    def sparse_budgets(self, n_agents: int) -> list[str]:
        """Warnings for budgets that, scaled to ``n_agents`` model agents, leave at least
        ``SPARSE_BUDGET`` of the runs without a single copy (each medium's expected count is
        rounded up with the probability of its fraction, ``copies_per_medium``): such a
        strategy mostly compares the scenario with itself."""
        steps, scale, lines = self.config.steps(), self.scale(n_agents), []
        for i, s in enumerate(self.strategies):
            if not s.budget:
                continue
            expected = np.array(list(s.budget.values())) * steps / DAYS_PER_YEAR * scale
            none = float(np.prod(np.where(expected < 1, 1 - expected, 0.0)))
            if none >= SPARSE_BUDGET:
                lines.append(
                    f"strategy.compare.{i}.budget: {expected.sum():.3g} copies per run expected "
                    f"at {n_agents} agents for {self.config.strategy.population:g} people, so "
                    f"{none:.0%} of the runs get none (more agents or a larger budget)"
                )
        return lines

    def check_rules(self, country: Country) -> None:
        """Every rule finds its agents in this world: else a ``ConfigError`` naming the field."""
        steps, lines = self.config.steps(), []
        for i, s in enumerate(self.strategies):
            try:
                recipients(country, s.who, s.where, 1, np.random.default_rng(0), s.agents)
                arrival_steps(s, 1, steps, self.config.model)
            except ValueError as exc:
                lines.append(f"strategy.compare.{i}.{exc}")
        if lines:
            raise ConfigError(lines)


# ---------------------------------------------------------------------------------- the folder
def finished(out: str | Path) -> set[str]:
    """Part names of the finished tasks in ``out``."""
    folder = Path(out) / RUNS
    return {p.name for p in folder.glob("part-*.parquet")} if folder.is_dir() else set()


def prepare(evaluation: Evaluation, out: str | Path) -> list[Task]:
    """Make ``out`` hold ``evaluation`` (writing or checking its manifest); the tasks to run."""
    out = Path(out)
    manifest = out / MANIFEST
    if manifest.is_file():
        old = json.loads(manifest.read_text(encoding="utf-8"))
        changed = changed_identity(old, evaluation.identity)
        if changed:
            raise EvaluationError(
                f"--out: {out} holds a different evaluation (differs in {changed}); "
                "use a new folder, or delete it to start again"
            )
    else:
        if out.is_dir() and any(out.iterdir()):
            raise EvaluationError(f"--out: {out} is not empty and holds no {MANIFEST}")
        out.mkdir(parents=True, exist_ok=True)
        text = {
            **evaluation.identity,
            "version": diffusion.__version__,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "seed_scheme": "SeedSequence(run.seed, spawn_key=(replicate,)) for every strategy",
        }
        atomic_write(manifest, json.dumps(text, indent=1).encode())
    for kind in (RUNS, SERIES, PROVINCES):
        (out / kind).mkdir(exist_ok=True)
        remove_temporaries(out / kind)  # a killed writer's leftovers (the caller holds the lock)
    done = finished(out)
    return [task for task in evaluation.tasks if task.part not in done]


# ---------------------------------------------------------------------------------- workers
@dataclass(frozen=True)
class BlockResult:
    """What a task returns: one summary row, reach and detections per step, and the reach of
    every province, for each replicate of the block."""

    task: Task
    rows: list[dict[str, float]]
    reach: np.ndarray
    """Shape (replicates, steps + 1): people reached by each step."""
    detected: np.ndarray
    """Shape (replicates, steps + 1): people detected by each step."""
    provinces: np.ndarray
    """Shape (replicates, provinces): share of each province's people reached at the end."""
    province_names: tuple[str, ...]
    seconds: float


@lru_cache(maxsize=4)
def task_config(payload: str) -> ExperimentConfig:
    return validate_config(json.loads(payload))


def replicate_seed(seed: int, replicate: int) -> np.random.SeedSequence:
    """The seed of replicate ``replicate``, the same for every strategy."""
    return np.random.SeedSequence(seed, spawn_key=(replicate,))


def run_block(payload: str, network_key: str, task: Task) -> BlockResult:
    """Run one task's replicates (on a Dask worker; the network comes from its cache)."""
    start = time.perf_counter()
    config = task_config(payload)
    country = Country.of(NETWORKS.get(network_key, config))
    strategy = config.strategy.compare[task.strategy]
    scale = country.n_agents / config.strategy.population
    steps = config.steps()
    params, holders = config.for_agents(country.n_agents)
    rows, reach, detected, provinces = [], [], [], []
    for replicate in range(task.first, task.first + task.count):
        seed = replicate_seed(config.run.seed, replicate)
        placement = RunStreams.of(seed).generator(PLACEMENT)
        entry = place(strategy, country, params, steps, scale, placement)
        result = simulate(
            country.world,
            params,
            seeds=holders,
            rng=seed,
            steps=steps,
            engine="calendar",  # one kernel for every strategy, with copies or without
            entry=entry,
        )
        shares = province_reach(result, country)
        rows.append(summary_row(result, shares, strategy.name, replicate, entry.copies))
        reach.append(result.reach)
        detected.append(result.state("D"))
        provinces.append(shares)
    return BlockResult(
        task,
        rows,
        np.array(reach),
        np.array(detected),
        np.array(provinces),
        country.world.province_names,
        time.perf_counter() - start,
    )


def province_reach(result: Result, country: Country) -> np.ndarray:
    """Share of each province's people reached by the end of the run."""
    final = result.region_counts[-1]
    by_province = country.world.region_province
    n = len(country.world.province_names)
    size = np.bincount(by_province, weights=final.sum(axis=1), minlength=n)
    reached = size - np.bincount(by_province, weights=final[:, STATES.index("S")], minlength=n)
    return np.divide(reached, size, out=np.zeros(n), where=size > 0)


def summary_row(
    result: Result, provinces: np.ndarray, name: str, replicate: int, copies: int
) -> dict[str, Any]:
    """The figures a strategy is judged by, for one replicate."""
    summary = result.summary()
    reach, detected = summary["reach"], summary["detected"]
    return {
        "strategy": name,
        "replicate": replicate,
        "copies": copies,
        "reach": reach,
        "reach_share": summary["reach_share"],
        "detected": detected,
        "detected_per_reached": detected / reach if reach else 0.0,
        "province_reach_sd": float(np.std(provinces)),
        "province_reach_min": float(np.min(provinces)),
    }


# ---------------------------------------------------------------------------------- writing
def write_block(out: Path, result: BlockResult) -> None:
    """Series and provinces first, the summary rows last (their file marks the task done)."""
    task, n = result.task, len(result.rows)
    name, replicates = result.rows[0]["strategy"], [row["replicate"] for row in result.rows]
    steps = result.reach.shape[1]
    series = pa.table(
        {
            "strategy": [name] * (n * steps),
            "replicate": np.repeat(replicates, steps),
            "step": np.tile(np.arange(steps), n),
            "reach": result.reach.ravel(),
            "detected": result.detected.ravel(),
        }
    )
    k = len(result.province_names)
    provinces = pa.table(
        {
            "strategy": [name] * (n * k),
            "replicate": np.repeat(replicates, k),
            "province": list(result.province_names) * n,
            "reach_share": result.provinces.ravel(),
        }
    )
    write_parquet(series, out / SERIES / task.part)
    write_parquet(provinces, out / PROVINCES / task.part)
    write_parquet(pa.Table.from_pylist(result.rows), out / RUNS / task.part)


# ---------------------------------------------------------------------------------- the client
@dataclass(frozen=True)
class Outcome:
    """How an evaluation call went: tasks in all, found done, run now, and their compute time."""

    total: int
    skipped: int
    ran: int
    task_seconds: float


Progress = Callable[[int, int], None]
"""Called with (tasks finished, tasks in all) at the start and after every task."""


def evaluate(
    evaluation: Evaluation, out: str | Path, client: Any, progress: Progress | None = None
) -> Outcome:
    """Run the unfinished tasks of ``evaluation`` on ``client``'s cluster into ``out``.

    At most four tasks per worker thread are in flight (at least 8), so an interrupt cancels
    little work; each task's files are written when it returns.
    """
    out = Path(out)
    with FolderLock(out):
        pending = prepare(evaluation, out)
        total, skipped = len(evaluation.tasks), len(evaluation.tasks) - len(pending)
        if progress:
            progress(skipped, total)
        payload, key = evaluation.payload(), evaluation.network_key

        def submit(task: Task) -> Any:
            return client.submit(run_block, payload, key, task, pure=False)

        window = max(8, 4 * sum(client.nthreads().values()))
        ran, seconds = 0, 0.0
        for result in completed(client, submit, pending, window):
            write_block(out, result)
            ran, seconds = ran + 1, seconds + result.seconds
            if progress:
                progress(skipped + ran, total)
    return Outcome(total, skipped, ran, seconds)


def completed(client: Any, submit: Callable[[Any], Any], items: list, window: int) -> Iterator:
    """The results of ``submit(item)`` for every item as they finish, ``window`` in flight; the
    ones still running are cancelled when the caller stops (an interrupt, an error)."""
    from distributed import as_completed

    queue = iter(items)
    running = as_completed([submit(item) for item in islice(queue, window)])
    try:
        for future in running:
            result = future.result()
            future.release()
            following = next(queue, None)
            if following is not None:
                running.add(submit(following))
            yield result
    finally:
        running.clear()
