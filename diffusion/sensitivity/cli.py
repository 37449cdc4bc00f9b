"""The ``diffusion sensitivity`` command: which parameters drive reach, detections and the
calibration targets (Morris screening, then Sobol indices; SALib) on the sweep's Dask options."""

from __future__ import annotations

from pathlib import Path

import click

from diffusion._lock import FolderLock, FolderLocked
from diffusion._text import escape_controls
from diffusion.config import load_config
from diffusion.sweep.cli import PointProgress, cluster_options, out_folder


@click.command("sensitivity", short_help="Rank the parameters that drive the outputs (SALib).")
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@out_folder(
    "Folder of the analysis: runs/ (one sweep per stage), morris.parquet, sobol.parquet, "
    "morris.png, sobol.png, summary.txt."
)
@click.option(
    "--trajectories", type=int, help="Morris trajectories (sets sensitivity.morris.trajectories)."
)
@click.option(
    "--threshold", type=float,
    help="Share of the largest mu* a parameter needs to reach the Sobol stage "
    "(sets sensitivity.morris.threshold).",
)  # fmt: skip
@click.option(
    "--samples",
    type=int,
    help="Sobol base samples N, a power of 2 (sets sensitivity.sobol.samples).",
)
@click.option("--seed", type=int, help="Root seed of the analysis (sets sensitivity.seed).")
@click.option("--replicates", type=int, help="Runs per point (sets sensitivity.replicates).")
@cluster_options
@click.option("--quiet", is_flag=True, help="No progress output.")
@click.pass_context
def sensitivity_command(
    ctx: click.Context,
    config: Path,
    out: Path,
    trajectories: int | None,
    threshold: float | None,
    samples: int | None,
    seed: int | None,
    replicates: int | None,
    workers: int | None,
    scheduler: str | None,
    cluster: str | None,
    quiet: bool,
) -> None:
    """Global sensitivity analysis of CONFIG with SALib, its runs on Dask.

    Morris screening of the [sensitivity] parameters (default: the [calibration.priors], log
    ranges sampled in log10), then Sobol indices with bootstrap intervals on the parameters it
    keeps, for the final reach, the detections and each calibration target's model value. Each
    stage is a sweep in OUT/runs: interrupt at any time and run the same command to resume.
    """
    try:
        from diffusion.sensitivity.report import write_report
        from diffusion.sensitivity.run import SensitivityError, analyse
    except ModuleNotFoundError as exc:
        click.echo(f"sensitivity: needs {exc.name}: pip install -e '.[sensitivity]'", err=True)
        ctx.exit(2)
    from diffusion.sensitivity.config import SensitivityConfig, with_options
    from diffusion.sweep.clusters import open_client
    from diffusion.sweep.run import SweepError, WorkersLost

    options = {"trajectories": trajectories, "threshold": threshold, "samples": samples}
    experiment = with_options(
        load_config(config), **options, seed=seed, replicates=replicates
    )  # a bad value is a ConfigError naming its field, reported by the command group
    try:
        (experiment.sensitivity or SensitivityConfig()).ranges(experiment)
    except ValueError as exc:
        click.echo(str(exc), err=True)
        ctx.exit(2)
    if out.exists() and not out.is_dir():
        click.echo(f"--out: {out} exists and is not a folder", err=True)
        ctx.exit(2)
    lock = FolderLock(out)
    bars: list[PointProgress] = []

    def progress(stage: str, points: int) -> PointProgress:
        _close(bars)
        if not quiet:
            click.echo(f"sensitivity: {stage} stage, {points} points", err=True)
        bars.append(PointProgress(quiet))
        return bars[-1]

    try:
        lock.acquire()
        with open_client(
            experiment.cluster, workers=workers, scheduler=scheduler, cluster=cluster
        ) as client:
            analysis = analyse(experiment, out, client, progress)
        _close(bars)
        lines = write_report(analysis, out)
    except (SweepError, SensitivityError, FolderLocked) as exc:
        _close(bars)
        click.echo(escape_controls(str(exc)), err=True)
        ctx.exit(2)
    except WorkersLost as exc:
        _close(bars)
        click.echo(f"sensitivity: stopped: {exc}; run the same command again to resume", err=True)
        ctx.exit(1)
    except OSError as exc:  # an unreachable scheduler, a full disk
        _close(bars)
        click.echo(f"sensitivity: {exc}", err=True)
        ctx.exit(1)
    except KeyboardInterrupt:
        _close(bars)
        click.echo(
            f"sensitivity: interrupted; the finished runs are in {out / 'runs'}; "
            "run the same command again to resume",
            err=True,
        )
        ctx.exit(130)
    finally:
        lock.release()
    click.echo(f"sensitivity: tables and figures in {out}")
    for line in lines:
        click.echo(f"  {line}")


def _close(bars: list[PointProgress]) -> None:
    """End the progress bar of the stage that was running, if any."""
    if bars:
        bars[-1].close()
