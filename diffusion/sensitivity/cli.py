"""The ``diffusion sensitivity`` command: which parameters drive reach, detections and the
calibration targets (Morris screening, then Sobol indices; SALib) on the sweep's Dask options."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from diffusion._lock import claim
from diffusion.command import Progress, dask_client, load_experiment, on_interrupt, set_option
from diffusion.config_check import check_memory
from diffusion.errors import DiffusionError, StoppedError
from diffusion.sensitivity.config import SensitivityConfig, with_options
from diffusion.sweep.cli import cluster_options, out_folder
from diffusion.sweep.run import WorkersLost


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
@set_option
@click.option("--quiet", is_flag=True, help="No progress output.")
def sensitivity_command(
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
    overrides: dict[str, Any],
    quiet: bool,
) -> None:
    """Global sensitivity analysis of CONFIG with SALib, its runs on Dask.

    Morris screening of the [sensitivity] parameters (default: the [calibration.priors], log
    ranges sampled in log10), then Sobol indices with bootstrap intervals on the parameters it
    keeps, for the final reach, the detections and each calibration target's model value. Each
    stage is a sweep in OUT/runs: interrupt at any time and run the same command to resume.
    """
    try:
        from diffusion.sensitivity.report import weak_index_warnings, write_report
        from diffusion.sensitivity.run import SensitivityError, analyse
    except ModuleNotFoundError as exc:
        raise DiffusionError(
            f"sensitivity: needs {exc.name}: pip install -e '.[sensitivity]'"
        ) from None
    options = {"trajectories": trajectories, "threshold": threshold, "samples": samples}
    experiment = with_options(
        load_experiment(config, overrides), **options, seed=seed, replicates=replicates
    )  # a bad value is a ConfigError naming its field, reported by the command group
    try:
        (experiment.sensitivity or SensitivityConfig()).ranges(experiment)
    except ValueError as exc:
        raise SensitivityError(str(exc)) from None
    check_memory(experiment)  # each run builds the network (workers on this machine too)
    stages: list[Progress] = []

    def progress(stage: str, points: int) -> Progress:
        if stages:
            stages[-1].close()
        if not quiet:
            click.echo(f"sensitivity: {stage} stage, {points} points", err=True)
        stages.append(Progress("sweep", "points", quiet))
        return stages[-1]

    with claim(out) as out:
        on_interrupt(
            f"sensitivity: interrupted; the finished runs are in {out / 'runs'}; "
            "run the same command again to resume"
        )
        try:
            with dask_client(
                experiment.cluster, workers=workers, scheduler=scheduler, cluster=cluster
            ) as client:
                analysis = analyse(experiment, out, client, progress)
        except WorkersLost as exc:
            raise WorkersLost(
                f"sensitivity: stopped: {exc}; run the same command again to resume"
            ) from None
        except OSError as exc:  # an unreachable scheduler, a full disk
            raise StoppedError(f"sensitivity: {exc}") from None
        finally:
            if stages:
                stages[-1].close()
        lines = write_report(analysis, out)
    click.echo(f"sensitivity: tables and figures in {out}")
    for line in lines:
        click.echo(f"  {line}")
    for warning in weak_index_warnings(analysis.sobol, analysis.settings.sobol.samples):
        click.echo(f"warning: {warning}", err=True)
