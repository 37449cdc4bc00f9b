"""The ``diffusion sweep`` command: run a config's ``[sweep]`` on Dask, with progress and resume."""

from __future__ import annotations

import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import click

from diffusion._lock import FolderLock, FolderLocked
from diffusion._text import escape_controls
from diffusion.config import ConfigError, load_config

WORKER_LOG_LEVEL = "DASK_LOGGING__DISTRIBUTED"
"""Dask's log level for the ``distributed`` loggers, read by a worker process when it starts."""


class PointProgress:
    """Progress over points: a bar on a terminal, plain lines otherwise, nothing when quiet."""

    def __init__(self, quiet: bool, tty: bool | None = None) -> None:
        self.quiet = quiet
        self.tty = sys.stderr.isatty() if tty is None else tty
        self._bar = None
        self._shown = -1
        self._start = time.perf_counter()

    def __call__(self, done: int, total: int) -> None:
        if self.quiet:
            return
        if self.tty:
            if self._bar is None:
                self._bar = click.progressbar(length=total, label="points", file=sys.stderr)
                self._bar.render_progress()
            self._bar.update(done - max(self._shown, 0))
        elif done == total or self._shown < 0 or done - self._shown >= max(1, total // 50):
            elapsed = time.perf_counter() - self._start
            click.echo(f"sweep: {done}/{total} points done ({elapsed:.1f} s)", err=True)
        else:
            return  # a line every 2% of the points: the last one shown is the reference
        self._shown = done

    def close(self) -> None:
        if self._bar is not None:
            self._bar.render_finish()
            self._bar = None


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
@click.option("--quiet", is_flag=True, help="No progress output.")
@click.pass_context
def sweep_command(
    ctx: click.Context,
    config: Path,
    out: Path,
    workers: int | None,
    scheduler: str | None,
    cluster: str | None,
    worker_timeout: float | None,
    quiet: bool,
) -> None:
    """Run the parameter sweep of CONFIG (its [sweep] section) into the folder OUT.

    Each point's replicates run as one Dask task; a point's Parquet file appears in OUT/points
    when it finishes. Interrupt at any time: the same command resumes where it stopped. A second
    sweep into a folder that a running sweep writes is refused.
    """
    lock = FolderLock(out)
    progress = PointProgress(quiet)
    try:
        _sweep(ctx, lock, progress, config, out, workers, scheduler, cluster, worker_timeout, quiet)
    except KeyboardInterrupt:
        progress.close()
        _report_interrupt(out)
        ctx.exit(130)
    finally:
        lock.release()


def _sweep(
    ctx: click.Context,
    lock: FolderLock,
    progress: PointProgress,
    config: Path,
    out: Path,
    workers: int | None,
    scheduler: str | None,
    cluster: str | None,
    worker_timeout: float | None,
    quiet: bool,
) -> None:
    # Dask is imported here, not at the top, so that the other commands start faster.
    from diffusion.sweep.clusters import batch_system, dashboard_link, open_client
    from diffusion.sweep.run import (
        WORKER_TIMEOUT,
        Sweep,
        SweepError,
        WorkersLost,
        finished_points,
        prepare,
        run_sweep,
    )

    try:
        sweep = Sweep.from_config(load_config(config))
        batch = batch_system(
            sweep.config.cluster, workers=workers, scheduler=scheduler, cluster=cluster
        )
        if out.exists() and not out.is_dir():
            raise SweepError(f"--out: {out} exists and is not a folder")
        lock.acquire()
        pending = prepare(sweep, out)
    except ConfigError:
        raise  # reported by the command group, one line per field
    except (SweepError, ValueError, FolderLocked) as exc:
        for line in str(exc).splitlines():
            click.echo(escape_controls(line), err=True)
        ctx.exit(2)
    except OSError as exc:
        click.echo(f"--out: cannot write {out} ({exc.strerror or exc})", err=True)
        ctx.exit(2)
    if worker_timeout is None:
        worker_timeout = WORKER_TIMEOUT * (10 if batch else 1)
    total = len(sweep.design)
    if not quiet and len(pending) < total:
        click.echo(f"sweep: resuming, {total - len(pending)} of {total} points already done")
    local = scheduler is None and not batch
    try:
        with ExitStack() as stack:
            with _sigint_ignored(), _quiet_workers(local):  # no traceback from any worker
                client = stack.enter_context(
                    open_client(
                        sweep.config.cluster, workers=workers, scheduler=scheduler, cluster=cluster
                    )
                )
            if not quiet:
                _show_dashboard(dashboard_link(client))
            try:
                outcome = run_sweep(sweep, out, client, progress, worker_timeout)
            except KeyboardInterrupt:
                # a second Ctrl-C must not cut short the cluster's shutdown (traceback at exit)
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                raise
    except WorkersLost as exc:
        progress.close()
        done = len(finished_points(out))
        click.echo(
            f"sweep: stopped: {exc}; {done} of {total} points are in {out / 'points'}; "
            "run the same command again to resume once workers can run",
            err=True,
        )
        ctx.exit(1)
    except OSError as exc:  # an unreachable scheduler, a full disk
        progress.close()
        click.echo(f"sweep: {exc}", err=True)
        ctx.exit(1)
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


@contextmanager
def _sigint_ignored() -> Iterator[None]:
    """Ignore Ctrl-C (SIGINT) while the block runs: the local cluster's worker processes start.

    A terminal's Ctrl-C reaches every process of the foreground job, workers included. A worker
    process started while SIGINT is ignored inherits that and ignores it from its first line on,
    so a Ctrl-C cannot kill it half-started (each printing a traceback) or cut Dask's start-up
    short (which then fails again, noisily, at exit). Once the cluster is up the command's own
    Ctrl-C handling is back; a Ctrl-C during the few seconds of start-up is dropped.
    """
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextmanager
def _quiet_workers(local: bool) -> Iterator[None]:
    """Local worker processes started in the block log only critical messages.

    When a sweep is interrupted, the cluster shuts down under the workers' feet and a worker may
    log the failure of its last heartbeat, with a traceback. Task errors still reach the command
    through the tasks' results. Workers read the setting from the environment when they start.
    """
    if not local:
        yield
        return
    previous = os.environ.get(WORKER_LOG_LEVEL)
    os.environ[WORKER_LOG_LEVEL] = "critical"
    try:
        yield
    finally:
        if previous is None:
            del os.environ[WORKER_LOG_LEVEL]
        else:
            os.environ[WORKER_LOG_LEVEL] = previous


def _report_interrupt(out: Path) -> None:
    """The one line an interrupted sweep prints: how far it got, and how to resume."""
    from diffusion.sweep.run import finished_points, read_manifest

    done = len(finished_points(out))
    try:
        of = f" of {len(read_manifest(out)['design']['points'])}"
    except (OSError, ValueError, KeyError, TypeError):  # no manifest yet, or not readable
        of = ""
    click.echo(
        f"sweep: interrupted with {done}{of} points in {out / 'points'}; "
        "run the same command again to resume",
        err=True,
    )
