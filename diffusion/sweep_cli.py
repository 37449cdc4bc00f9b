"""The ``diffusion sweep`` command: run a config's ``[sweep]`` on Dask, with progress and resume."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from diffusion._lock import FolderLock, FolderLocked
from diffusion._text import escape_controls
from diffusion.config import ConfigError, load_config


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
        self._shown = done

    def close(self) -> None:
        if self._bar is not None:
            self._bar.render_finish()
            self._bar = None


@click.command("sweep")
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder of the sweep's results; rerunning into it resumes the same sweep.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    help="Local worker processes (default: [cluster] workers, else one per core).",
)
@click.option("--scheduler", metavar="tcp://HOST:PORT", help="Run on this existing Dask scheduler.")
@click.option(
    "--cluster",
    type=click.Choice(["slurm", "pbs"]),
    help="Run in batch jobs (dask-jobqueue) sized by the config's [cluster] section.",
)
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
    try:
        _sweep(ctx, lock, config, out, workers, scheduler, cluster, worker_timeout, quiet)
    finally:
        lock.release()


def _sweep(
    ctx: click.Context,
    lock: FolderLock,
    config: Path,
    out: Path,
    workers: int | None,
    scheduler: str | None,
    cluster: str | None,
    worker_timeout: float | None,
    quiet: bool,
) -> None:
    # Dask is imported here, not at the top, so that the other commands start faster.
    from diffusion.clusters import batch_system, open_client
    from diffusion.sweep import (
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
    progress = PointProgress(quiet)
    try:
        with open_client(
            sweep.config.cluster, workers=workers, scheduler=scheduler, cluster=cluster
        ) as client:
            outcome = run_sweep(sweep, out, client, progress, worker_timeout)
    except WorkersLost as exc:
        progress.close()
        done = len(finished_points(out))
        click.echo(
            f"sweep: stopped: {exc}; {done} of {total} points are in {out / 'points'}; "
            "run the same command again to resume once workers can run",
            err=True,
        )
        ctx.exit(1)
    except KeyboardInterrupt:
        progress.close()
        done = len(finished_points(out))
        click.echo(
            f"sweep: interrupted with {done} of {total} points in {out / 'points'}; "
            "run the same command again to resume",
            err=True,
        )
        ctx.exit(130)
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
