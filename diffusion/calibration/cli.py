"""The ``diffusion calibrate`` command: fit a scenario's priors to its published targets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from diffusion._lock import claim
from diffusion.command import dask_client, load_experiment, on_interrupt, set_option
from diffusion.config_check import check_memory
from diffusion.errors import DiffusionError
from diffusion.results.io import write_parquet
from diffusion.sweep.cli import cluster_options, out_folder


@click.command("calibrate", short_help="Fit a scenario's rates to the survey targets (ABC-SMC).")
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@out_folder("Folder of the fit: history.db (pyabc), posterior.parquet, fit.parquet, fit.png.")
@click.option(
    "--particles", type=click.IntRange(min=2), default=100, show_default=True,
    help="Accepted parameter sets per generation.",
)  # fmt: skip
@click.option(
    "--generations", type=click.IntRange(min=1), default=5, show_default=True,
    help="Generations the history should hold; running again with more continues the fit.",
)  # fmt: skip
@click.option(
    "--batch-size", type=click.IntRange(min=1), default=1, show_default=True,
    help="Runs per Dask task.",
)  # fmt: skip
@cluster_options
@set_option
def calibrate_command(
    config: Path,
    out: Path,
    particles: int,
    generations: int,
    batch_size: int,
    workers: int | None,
    scheduler: str | None,
    cluster: str | None,
    overrides: dict[str, Any],
) -> None:
    """Fit the [calibration] priors of CONFIG to its targets with ABC-SMC (pyabc) on Dask.

    The history is pyabc's database in OUT: interrupt at any time and run the same command again
    (or with more --generations) to continue. At the end OUT holds the posterior (the last
    generation's parameter sets and weights), each target's fit and a figure of both.
    """
    try:
        from diffusion.calibration.abc import calibrate
        from diffusion.calibration.report import fit_table, plot_fit, posterior_table
    except ModuleNotFoundError as exc:
        raise DiffusionError(
            f"calibrate: needs {exc.name}: pip install -e '.[calibrate]'"
        ) from None

    experiment = load_experiment(config, overrides)
    if experiment.calibration is None:
        raise DiffusionError(f"{config}: no [calibration] section (targets and priors)")
    check_memory(experiment)  # each run builds the population (workers on this machine too)
    with claim(out) as out:
        out.mkdir(exist_ok=True)
        on_interrupt(
            f"calibrate: interrupted; the generations finished so far are in "
            f"{out / 'history.db'}; run the same command again to continue"
        )
        with dask_client(
            experiment.cluster, workers=workers, scheduler=scheduler, cluster=cluster
        ) as client:
            history = calibrate(
                experiment,
                out / "history.db",
                client,
                population_size=particles,
                generations=generations,
                batch_size=batch_size,
            )
        targets = experiment.calibration.load_targets()
        fit = fit_table(history, targets)
        for name, table in (("posterior", posterior_table(history)), ("fit", fit)):
            write_parquet(table, out / f"{name}.parquet")
        plot_fit(fit, out / "fit.png")
    click.echo(f"calibrate: {history.max_t + 1} generations of {particles} particles in {out}")
    for row in fit.to_pylist():
        click.echo(
            f"  {row['target']}: published {row['published']:.3f}, model {row['model_median']:.3f} "
            f"({row['model_low']:.3f}-{row['model_high']:.3f})"
        )
