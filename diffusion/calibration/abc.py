"""Fitting a scenario to its targets: ABC-SMC (pyabc) with runs on a Dask cluster.

The parameters are the scenario's ``[calibration.priors]``: uniform, or log-uniform ones fitted
as ``log10:<path>`` (uniform in the logarithm, so the perturbation kernel moves them by factors).
One particle is one run of the scenario with those values; its summary statistics are the
fitted targets' model values (``TargetFile.simulated``), and the distance to the published
values is the plain 2-norm of the differences: every target is a share of people in [0, 1], so
they are on one scale already, and a fixed distance keeps the acceptance thresholds of successive
generations comparable (pyabc's adaptive distance re-weighted the targets as the runs moved, and
the thresholds of the earlier fit rose instead of falling). New particles are proposed around the
previous generation's with pyabc's ``MultivariateNormalTransition`` (one covariance, Silverman's
bandwidth): local kernels from each particle's nearest quarter had fewer neighbours than
dimensions once the mechanisms' priors were added (18 dimensions), a singular covariance that
collapsed the importance weights.

Runs go through pyabc's ``DaskDistributedSampler`` with its batch size (evaluations per Dask
task) and job limit (tasks in flight) set explicitly: the sampler submits at most
``min(max_jobs, cores of the workers present)`` tasks, so it follows the workers that are there,
but nothing scales the cluster for it. That sampler reseeds numpy and ``random`` from the
operating system in every task; ``SeededDaskSampler`` instead seeds evaluation ``j`` of
generation ``t`` from ``SeedSequence([seed, t + 1, j])``, and pyabc keeps the first accepted
evaluations in order of ``j``, so a calibration is reproducible whatever the workers' timing.
The history (every generation's particles, weights and distances) is pyabc's SQLite database;
calling ``calibrate`` again on it resumes after the last finished generation.

Model selection: given several variants of the scenario (``[calibration.variants]``, each the
shared priors plus those of the mechanisms it turns on), one ABC-SMC run samples the variant
with the parameters (pyabc's model index ``m`` is the variant's position in the list), and the
share of the accepted particles' weight each variant holds is its posterior probability.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cloudpickle
import numpy as np
import pyabc
from distributed import Client

from diffusion import calendar
from diffusion.calibration.folder import claim, fit_identity, resumable
from diffusion.calibration.priors import Prior
from diffusion.calibration.targets import TargetFile
from diffusion.config import ExperimentConfig
from diffusion.simulate import simulate
from diffusion.world import World

LOG = "log10:"
"""Prefix of a parameter fitted in its logarithm (a log-uniform prior)."""


def parameter_name(path: str, prior: Prior) -> str:
    """The name pyabc knows a prior's parameter by."""
    return f"{LOG}{path}" if prior.scale == "log" else path


def prior_distribution(priors: dict[str, Prior]) -> pyabc.Distribution:
    """The priors as a pyabc distribution (log priors uniform in ``log10``)."""
    variables = {}
    for path, prior in priors.items():
        low, high = (
            (np.log10(prior.low), np.log10(prior.high))
            if prior.scale == "log"
            else (
                prior.low,
                prior.high,
            )
        )
        variables[parameter_name(path, prior)] = pyabc.RV("uniform", low, high - low)
    return pyabc.Distribution(**variables)


def overrides(parameters: dict[str, float]) -> dict[str, float]:
    """Dotted config paths and their values from pyabc's parameters."""
    return {
        name.removeprefix(LOG): 10.0 ** float(value) if name.startswith(LOG) else float(value)
        for name, value in parameters.items()
    }


_WORLDS: dict[str, World] = {}
"""The world each worker process built, by network hash (one run at a time needs one world)."""


def world_of(config: ExperimentConfig) -> World:
    """The scenario's world, built once per process."""
    key = config.content_hash()
    if key not in _WORLDS:
        _WORLDS.clear()
        _WORLDS[key] = World.of(config.network.build())
    return _WORLDS[key]


class ScenarioModel:
    """One particle: the scenario run once with the proposed values, reduced to the model values
    of the fitted targets. The run stops at the latest target date (nothing after it is read).
    The run's seed comes from numpy's global generator, which the sampler seeds per evaluation."""

    def __init__(self, config: ExperimentConfig, targets: TargetFile) -> None:
        self.config = config.model_copy(update={"calibration": None})
        self.targets = targets
        last = max(t.period.date() for t in targets.fitted())
        self.steps = calendar.step_of(config.model.start, last) if config.model.start else None

    def __call__(self, parameters: dict[str, float]) -> dict[str, float]:
        seed = int(np.random.randint(0, 2**31 - 1))  # noqa: NPY002 (pyabc's seeded generator)
        return self.run(overrides(parameters), seed)

    def run(self, values: dict[str, float], seed: int) -> dict[str, float]:
        """The fitted targets' model values of one run with ``values`` (dotted config paths)
        under ``seed``."""
        config = self.config.with_overrides(values)
        world = world_of(config)
        params, holders = config.for_agents(world.n_agents)
        steps = config.steps() if self.steps is None else self.steps  # targets lie in the run
        result = simulate(world, params, seeds=holders, rng=seed, steps=steps)
        return self.targets.simulated(result, world)


def _seeded_batch(simulate_one_pickle: bytes, job_ids: list[int], key: tuple[int, int]) -> list:
    """pyabc's task (a batch of evaluations), each evaluation seeded from its job id."""
    simulate_one = cloudpickle.loads(simulate_one_pickle)
    batch = []
    for job_id in job_ids:
        state = np.random.SeedSequence([*key, job_id]).generate_state(2)
        np.random.seed(int(state[0]))  # noqa: NPY002 (pyabc draws from the global generator)
        random.seed(int(state[1]))
        evaluation = simulate_one()
        batch.append((evaluation, evaluation.accepted, job_id))
    return batch


class _SeededClient:
    """The Dask client as pyabc's sampler sees it: its tasks are ``_seeded_batch``."""

    def __init__(self, client: Client, seed: int) -> None:
        self.client, self.seed, self.generation = client, seed, 0

    def submit(self, _task: Any, simulate_one_pickle: bytes, _batch_size: int, job_ids: list[int]):
        key = (self.seed, self.generation)
        return self.client.submit(_seeded_batch, simulate_one_pickle, job_ids, key, pure=False)

    def ncores(self) -> dict[str, int]:
        return self.client.ncores()


class SeededDaskSampler(pyabc.sampler.DaskDistributedSampler):
    """pyabc's Dask sampler with reproducible evaluations (see the module's docstring)."""

    def __init__(self, client: Client, seed: int, batch_size: int, max_jobs: int) -> None:
        super().__init__(
            dask_client=client, client_max_jobs=max_jobs, default_pickle=True, batch_size=batch_size
        )
        self.client = _SeededClient(client, seed)

    def sample_until_n_accepted(self, n, simulate_one, t, **kwargs):
        self.client.generation = t + 1  # the calibration sample before generation 0 has t = -1
        return super().sample_until_n_accepted(n, simulate_one, t, **kwargs)


def calibrate(
    config: ExperimentConfig,
    db: str | Path,
    client: Client,
    *,
    population_size: int,
    generations: int,
    batch_size: int = 1,
    max_jobs: int | None = None,
    observed: dict[str, float] | None = None,
    variants: Sequence[str] | None = None,
    min_acceptance_rate: float = 0.0,
    kernel_scale: float = 1.0,
) -> pyabc.History:
    """Fit ``config``'s priors to its targets until ``generations`` generations are in ``db``.

    A new database starts a calibration; one that holds generations already resumes it (the
    priors, targets and seed must be those it was started with). ``max_jobs`` defaults to the
    workers' cores. ``observed`` replaces the published values (e.g. synthetic targets).
    ``variants``: None fits the shared priors; one name fits that variant; several compare them
    (model selection, pyabc's model ``m`` being the variant at position ``m``). The fit stops
    early when a generation's acceptance rate falls below ``min_acceptance_rate``.
    ``kernel_scale`` multiplies the proposal's covariance (Silverman's bandwidth times the
    weighted covariance of the last generation): wider proposals keep the importance weights
    even in many dimensions, at the cost of a lower acceptance rate.
    """
    calibration = config.calibration
    if calibration is None:
        raise ValueError("calibration: the config has no [calibration] section")
    targets = calibration.load_targets()
    values = observed or {t.name: t.value for t in targets.fitted()}
    resuming = resumable(db)  # a damaged history raises CalibrationError (one line)
    names = list(variants) if variants else [None]
    identity = fit_identity(
        config, targets, values, population_size, list(variants or []), kernel_scale
    )
    claim(db, identity, resuming)
    cores = sum(client.ncores().values())
    sampler = SeededDaskSampler(client, calibration.seed, batch_size, max_jobs or cores)
    abc = pyabc.ABCSMC(
        [pyabc.FunctionModel(ScenarioModel(config, targets), name=n or "scenario") for n in names],
        [prior_distribution(calibration.priors_of(n)) for n in names],
        pyabc.PNormDistance(p=2),
        population_size=population_size,
        transitions=[pyabc.MultivariateNormalTransition(scaling=kernel_scale) for _ in names],
        sampler=sampler,
    )
    url = f"sqlite:///{Path(db).resolve()}"
    done = 0
    if resuming:
        history = abc.load(url, 1)
        done = history.max_t + 1
    else:
        abc.new(url, values)
    if done >= generations:
        return abc.history
    return abc.run(max_nr_populations=generations - done, min_acceptance_rate=min_acceptance_rate)
