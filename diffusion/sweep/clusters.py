"""Where a sweep runs: a local Dask cluster, an existing scheduler, or SLURM/PBS batch jobs.

``open_client`` yields a ``distributed.Client`` and tears down what it started. Local workers are
processes with one thread each (the kernel is single-threaded and holds the GIL). On SLURM and PBS
(``dask-jobqueue``) each batch job of ``[cluster]`` ``cores`` cores runs ``cores`` single-threaded
worker processes sharing ``memory``; ``jobs`` jobs are kept queued or running (adaptive scaling
with minimum = maximum), and workers retire at 90% of the walltime so that a job reaching its
limit hands its tasks on instead of being killed mid-task (dask-jobqueue's documented recipe).
A job that ends early (``scancel``, a failed node, a retired worker) stays in dask-jobqueue's
plan, so adaptive scaling alone never replaces it; ``_replace_lost_jobs`` does.

Who can connect (``diffusion.sweep.security``): a local cluster listens on 127.0.0.1 only, its
dashboard included. A batch cluster's scheduler listens on the network, in TLS with mutual
authentication unless ``[cluster] security = false``; its dashboard, and each job worker's HTTP
endpoint, listen on their machine's 127.0.0.1. ``--scheduler`` takes ``tcp://`` and ``tls://``.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import dask.config
from distributed import Client, LocalCluster
from distributed.security import Security

from diffusion.sweep.config import ClusterConfig
from diffusion.sweep.security import batch_credentials, scheduler_security, shared_folder

BATCH_SYSTEMS: tuple[str, ...] = ("slurm", "pbs")
LOCAL_WORKER_CONFIG = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}
"""Dask sets ``MALLOC_TRIM_THRESHOLD_`` in worker processes, which turns off glibc's adaptive mmap
threshold: every large array of a run is then mapped and unmapped afresh, and the full model runs
about 30% slower (measured on the baseline scenario). Local workers start without it."""
BATCH_CONFIG = {"distributed.deploy.lost-worker-timeout": "3s"}
"""A batch job's worker that left the scheduler is counted lost after 3 s (Dask's default:
15 s), so a cancelled or failed job is replaced soon (see ``_replace_lost_jobs``)."""
SUBMIT = {"slurm": "sbatch", "pbs": "qsub"}
"""The command that submits a job to each batch system."""
LOOPBACK = "127.0.0.1"
"""Where the listeners that need not be reached from other machines listen."""
DASHBOARD = f"{LOOPBACK}:0"
"""Dashboards and workers' HTTP endpoints: loopback, a free port (never clashes with another)."""


def jobqueue_cluster(
    settings: ClusterConfig, kind: str | None = None, security: Security | None = None
):
    """A dask-jobqueue ``SLURMCluster`` or ``PBSCluster`` from ``[cluster]`` (no jobs started yet).

    ``kind`` overrides ``settings.type``; ``security`` is a ``distributed.Security`` with
    credential files (``batch_credentials``), else scheduler and workers speak plain TCP. Its
    ``job_script()`` shows the batch script each job runs.
    """
    kind = kind or settings.type
    if kind not in BATCH_SYSTEMS:
        raise ValueError(
            f"cluster.type: {kind!r} is not a batch system ({', '.join(BATCH_SYSTEMS)})"
        )
    if settings.memory is None:
        raise ValueError(f"cluster.memory: required for a {kind} cluster, e.g. '8GB'")
    from dask_jobqueue import PBSCluster, SLURMCluster

    cls = SLURMCluster if kind == "slurm" else PBSCluster
    lifetime = walltime_seconds(settings.walltime)
    options = {
        "queue": settings.queue,
        "account": settings.account,
        "cores": settings.cores,
        "processes": settings.cores,
        "memory": settings.memory,
        "walltime": settings.walltime,
        # the job's workers start without MALLOC_TRIM_THRESHOLD_ too (see LOCAL_WORKER_CONFIG)
        "job_script_prologue": [
            "export DASK_DISTRIBUTED__NANNY__PRE_SPAWN_ENVIRON="
            "'{\"MALLOC_TRIM_THRESHOLD_\": None}'"
        ],
        "worker_extra_args": [
            # retire before the batch system kills the job, so its tasks move on cleanly
            "--lifetime", f"{int(0.9 * lifetime)}s",
            "--lifetime-stagger", f"{int(0.02 * lifetime)}s",
            # the worker's HTTP endpoint (metrics, health) is not TLS: its node's loopback only
            "--dashboard-address", DASHBOARD,
        ],
        # TLS with these credentials (dask-jobqueue then passes --protocol tls:// and the files'
        # paths to the workers); the dashboard on this machine's loopback (see dashboard_link)
        "security": security,
        "scheduler_options": {"dashboard_address": DASHBOARD},
    }  # fmt: skip
    return cls(**{k: v for k, v in options.items() if v is not None})


def walltime_seconds(walltime: str) -> int:
    """Seconds in a walltime ``[D-]HH:MM[:SS]``."""
    days, _, clock = walltime.rpartition("-")
    parts = [int(x) for x in clock.split(":")] + [0]
    hours, minutes, seconds = parts[:3]
    return ((int(days or 0) * 24 + hours) * 60 + minutes) * 60 + seconds


def batch_system(
    settings: ClusterConfig,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    cluster: str | None = None,
) -> str | None:
    """The batch system to use (``"slurm"``, ``"pbs"`` or None); checks that the options fit,
    and the files they need: ``ValueError``, or ``ConfigError`` naming a ``[cluster]`` field."""
    if scheduler and cluster:
        raise ValueError("--scheduler and --cluster: give one or the other")
    batch = None if scheduler else cluster or settings.type
    batch = batch if batch in BATCH_SYSTEMS else None
    if workers is not None and (scheduler or batch):
        raise ValueError("--workers: only for a local cluster (not with a scheduler or batch jobs)")
    if batch and settings.memory is None:
        raise ValueError(f"cluster.memory: required for a {batch} cluster, e.g. '8GB'")
    if batch and shutil.which(SUBMIT[batch]) is None:
        raise ValueError(
            f"--cluster {batch}: {SUBMIT[batch]} is not on PATH; run the sweep on a login node "
            f"of the {batch.upper()} cluster"
        )
    if batch and settings.security:
        shared_folder(settings)
    if scheduler:
        scheduler_security(settings, scheduler)
    return batch


@contextmanager
def open_client(
    settings: ClusterConfig,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    cluster: str | None = None,
) -> Iterator[Client]:
    """A client for the chosen cluster: ``scheduler`` address, batch ``cluster``, else local.

    ``cluster`` (``"slurm"`` or ``"pbs"``) overrides ``settings.type``; ``workers`` is the number
    of local worker processes (default ``settings.workers``, else one per core).
    """
    batch = batch_system(settings, workers=workers, scheduler=scheduler, cluster=cluster)
    if scheduler:
        security = scheduler_security(settings, scheduler)
        with Client(scheduler, security=security, timeout="30s") as client:
            yield client
    elif batch:
        with (
            batch_credentials(settings) as security,
            jobqueue_cluster(settings, batch, security) as jobs,
        ):
            # keeps ``jobs`` jobs queued or running: replaces those that end at their walltime
            jobs.adapt(minimum_jobs=settings.jobs, maximum_jobs=settings.jobs)
            with (
                dask.config.set(BATCH_CONFIG),
                Client(jobs) as client,
                _replace_lost_jobs(jobs, settings.jobs),
            ):
                yield client
    else:
        n = workers or settings.workers or os.cpu_count() or 1
        with (
            dask.config.set(LOCAL_WORKER_CONFIG),
            LocalCluster(
                n_workers=n,
                threads_per_worker=1,
                processes=True,
                host=LOOPBACK,  # scheduler, nannies and workers
                dashboard_address=DASHBOARD,
                silence_logs=logging.ERROR,
                preload=[__name__],  # runs dask_setup below in each worker process
            ) as local,
            Client(local) as client,
        ):
            yield client


def dashboard_link(client: Client) -> str | None:
    """The dashboard of the cluster that this process started (on its 127.0.0.1), else None."""
    scheduler = getattr(client.cluster, "scheduler", None)
    server = getattr(scheduler, "http_server", None)
    if server is None:
        return None
    return f"http://{server.address}:{server.port}/status"


LOST_JOB_CHECK_SECONDS = 5.0
"""How often a batch cluster looks for jobs that ended and must be replaced."""


@contextmanager
def _replace_lost_jobs(jobs, n_jobs: int) -> Iterator[None]:
    """Keep ``n_jobs`` jobs: resubmit the planned jobs whose workers are gone.

    When a job's workers leave the scheduler for good, the cluster drops the job from its
    ``workers`` but keeps it in ``worker_spec`` (its plan), and adaptive scaling, which compares
    the plan with its target, sees nothing to do. Scaling to ``n_jobs`` again makes the cluster
    start a job for every planned one that has none.
    """
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(LOST_JOB_CHECK_SECONDS):
            if set(jobs.worker_spec) - set(jobs.workers):
                jobs.scale(jobs=n_jobs)

    thread = threading.Thread(target=watch, name="replace-lost-jobs", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def dask_setup(worker) -> None:
    """Preload of local worker processes: they ignore Ctrl-C, which the sweep command handles.

    A terminal sends Ctrl-C (SIGINT) to every process of the foreground job; the command then
    cancels its tasks and closes the cluster, and the workers stop without a traceback each.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
