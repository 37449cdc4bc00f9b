"""The ``diffusion sweep`` command: run a config's ``[sweep]`` on Dask, with progress and resume."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from diffusion._lock import claim, reason
from diffusion.command import Progress, dask_client, load_experiment, on_interrupt, set_option
from diffusion.config_check import horizon
from diffusion.errors import OutputError, StoppedError
from diffusion.sweep.run import (
    WORKER_TIMEOUT,
    Sweep,
    SweepError,
    WorkersLost,
    finished_points,
    prepare,
    read_manifest,
    run_sweep,
)


def out_folder(help: str) -> Callable:
    """The required ``--out DIR`` option of a command that writes a folder of results."""
    return click.option(
        "--out", required=True, type=click.Path(file_okay=False, path_type=Path), help=help
    )


def cluster_options(command: Callable) -> Callable:
    """The ``--workers``, ``--scheduler`` and ``--cluster`` options of the commands whose runs go
    to Dask (``sweep``, ``calibrate``): where the work runs, as ``open_client`` takes it."""
    options = (
        click.option(
            "--workers",
            type=click.IntRange(min=1),
            help="Local worker processes (default: [cluster] workers, else one per core).",
        ),
        click.option(
            "--scheduler",
            metavar="tcp|tls://HOST:PORT",
            help="Run on this existing Dask scheduler (tls://: with the [cluster] TLS files).",
        ),
        click.option(
            "--cluster",
            type=click.Choice(["slurm", "pbs"]),
            help="Run in batch jobs (dask-jobqueue) sized by the config's [cluster] section.",
        ),
    )
    for option in reversed(options):
        command = option(command)
    return command


@click.command("sweep")
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@out_folder("Folder of the sweep's results; rerunning into it resumes the same sweep.")
@cluster_options
@click.option(
    "--worker-timeout",
    type=click.FloatRange(min=0, min_open=True),
    help="Give up after this many seconds with no worker connected (default 120, batch jobs "
    "1200: they may wait in the queue).",
)
@set_option
@click.option("--quiet", is_flag=True, help="No progress output.")
def sweep_command(
    config: Path,
    out: Path,
    workers: int | None,
    scheduler: str | None,
    cluster: str | None,
    worker_timeout: float | None,
    overrides: dict[str, Any],
    quiet: bool,
) -> None:
    """Run the parameter sweep of CONFIG (its [sweep] section) into the folder OUT.

    Each point's replicates run as one Dask task; a point's Parquet file appears in OUT/points
    when it finishes. Interrupt at any time: the same command resumes where it stopped. A second
    sweep into a folder that a running sweep writes is refused.
    """
    # Here, not at the top: diffusion.sweep.clusters imports Dask (every command's start).
    from diffusion.sweep.clusters import batch_system, dashboard_link

    experiment = load_experiment(config, overrides)
    horizon(experiment)  # a run without a step count must end (the workers check memory)
    sweep = Sweep.from_config(experiment)
    try:
        batch = batch_system(
            sweep.config.cluster, workers=workers, scheduler=scheduler, cluster=cluster
        )
    except ValueError as exc:
        raise SweepError(str(exc)) from None
    progress = Progress("sweep", "points", quiet)
    with claim(out) as out:
        on_interrupt(lambda: _interrupted(out))
        try:
            pending = prepare(sweep, out)
        except OSError as exc:
            raise OutputError(f"--out: cannot write {out} ({reason(exc)})") from None
        if worker_timeout is None:
            worker_timeout = WORKER_TIMEOUT * (10 if batch else 1)
        total = len(sweep.design)
        if not quiet and len(pending) < total:
            click.echo(f"sweep: resuming, {total - len(pending)} of {total} points already done")
        try:
            with dask_client(
                sweep.config.cluster, workers=workers, scheduler=scheduler, cluster=cluster
            ) as client:
                if not quiet:
                    _show_dashboard(dashboard_link(client))
                outcome = run_sweep(sweep, out, client, progress, worker_timeout)
        except WorkersLost as exc:
            done = len(finished_points(out))
            raise WorkersLost(
                f"sweep: stopped: {exc}; {done} of {total} points are in {out / 'points'}; "
                "run the same command again to resume once workers can run"
            ) from None
        except OSError as exc:  # an unreachable scheduler, a full disk
            raise StoppedError(f"sweep: {exc}") from None
        finally:
            progress.close()
    if not quiet:
        click.echo(
            f"sweep: {outcome.total} points x {sweep.replicates} replicates in {out / 'points'} "
            f"({outcome.ran} run now, {outcome.skipped} found done); "
            f"plot with: diffusion plot {out}"
        )


def _show_dashboard(link: str | None) -> None:
    """Where the dashboard of the sweep's own cluster is: on this machine's loopback only, so
    from another machine through an SSH tunnel. On standard output, like the other notices;
    standard error carries the progress and the problems."""
    if link is None:
        return
    port = link.rpartition(":")[2].partition("/")[0]
    click.echo(
        f"sweep: dashboard on {link} (this machine only; from another: "
        f"ssh -L {port}:127.0.0.1:{port} {socket.gethostname()})"
    )


def _interrupted(out: Path) -> str:
    """The one line an interrupted sweep prints: how far it got, and how to resume."""
    done = len(finished_points(out))
    try:
        of = f" of {len(read_manifest(out)['design']['points'])}"
    except (OSError, ValueError, KeyError, TypeError):  # no manifest yet, or not readable
        of = ""
    return (
        f"sweep: interrupted with {done}{of} points in {out / 'points'}; "
        "run the same command again to resume"
    )
