"""The ``diffusion calibrate`` command: fit a scenario's priors to its published targets."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import click

from diffusion._lock import claim
from diffusion._text import escape_controls
from diffusion.command import dask_client, load_experiment, on_interrupt, set_option
from diffusion.config_check import check_memory
from diffusion.errors import DiffusionError, StoppedError
from diffusion.results.io import write_parquet
from diffusion.sweep.cli import cluster_options, out_folder


@click.command("calibrate", short_help="Fit a scenario's rates to the survey targets (ABC-SMC).")
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@out_folder(
    "Folder of the fit: history.db (pyabc), generations.parquet, posterior.parquet, fit.parquet "
    "(posterior predictive), fit.png; with --select also models.parquet."
)
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
@click.option(
    "--variant", default=None,
    help="Fit this variant of [calibration.variants] (the shared priors and its mechanisms').",
)  # fmt: skip
@click.option(
    "--select", is_flag=True,
    help="Compare every variant of [calibration.variants] (ABC-SMC model selection).",
)  # fmt: skip
@click.option(
    "--min-acceptance", type=click.FloatRange(0, 1), default=0.0, show_default=True,
    help="Stop after a generation whose acceptance rate is below this.",
)  # fmt: skip
@click.option(
    "--kernel-scale", type=click.FloatRange(0.01, 100), default=1.0, show_default=True,
    help="Multiplier on the proposal kernel's covariance (wider: even weights, fewer accepted).",
)  # fmt: skip
@click.option(
    "--predictive", type=click.IntRange(min=10), default=200, show_default=True,
    help="Runs of the posterior predictive (parameter sets drawn by weight, fresh seeds).",
)  # fmt: skip
@cluster_options
@set_option
def calibrate_command(
    config: Path,
    out: Path,
    particles: int,
    generations: int,
    batch_size: int,
    variant: str | None,
    select: bool,
    min_acceptance: float,
    kernel_scale: float,
    predictive: int,
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
        from diffusion.calibration.predictive import fit_table, posterior_predictive
        from diffusion.calibration.report import (
            generations_table,
            models_table,
            plot_fit,
            posterior_table,
            weak_fit_warnings,
        )
    except ModuleNotFoundError as exc:
        raise DiffusionError(
            f"calibrate: needs {exc.name}: pip install -e '.[calibrate]'"
        ) from None
    from sqlalchemy.exc import SQLAlchemyError

    from diffusion.calibration.folder import CalibrationError

    experiment = load_experiment(config, overrides)
    if experiment.calibration is None:
        raise DiffusionError(f"{config}: no [calibration] section (targets and priors)")
    declared = list(experiment.calibration.variants)
    if select and variant is not None:
        raise DiffusionError("calibrate: --select compares every variant; --variant fits one")
    if select and len(declared) < 2:
        raise DiffusionError(f"{config}: --select needs two or more [calibration.variants]")
    if variant is not None and variant not in declared:
        known = ", ".join(declared) or "none declared"
        raise DiffusionError(f"--variant: no variant {variant!r} in {config} ({known})")
    variants = declared if select else ([variant] if variant else None)
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
            try:
                history = calibrate(
                    experiment,
                    out / "history.db",
                    client,
                    population_size=particles,
                    generations=generations,
                    batch_size=batch_size,
                    variants=variants,
                    min_acceptance_rate=min_acceptance,
                    kernel_scale=kernel_scale,
                )
            except CalibrationError as exc:
                raise DiffusionError(escape_controls(str(exc))) from None
            except (SQLAlchemyError, sqlite3.Error) as exc:
                raise StoppedError(
                    f"calibrate: cannot write {out / 'history.db'} ({_sqlite_reason(exc)}); the "
                    "generations finished so far are kept: free space and run the same command "
                    "again"
                ) from None
            names = variants or ["scenario"]
            tables = {"generations": generations_table(history)}
            if select:
                tables["models"] = models_table(history, names)
                probabilities = tables["models"]["probability"].to_pylist()
                best = max(range(len(names)), key=probabilities.__getitem__)
            else:
                best = 0
            posterior = posterior_table(history, best)
            values = posterior_predictive(
                experiment, posterior, client, runs=predictive, seed=experiment.calibration.seed
            )
        targets = experiment.calibration.load_targets()
        tables["posterior"] = posterior
        tables["fit"] = fit_table(values, targets)
        for name, table in tables.items():
            write_parquet(table, out / f"{name}.parquet")
        plot_fit(tables["fit"], out / "fit.png")
    click.echo(f"calibrate: {history.max_t + 1} generations of {particles} particles in {out}")
    for row in tables["generations"].to_pylist():
        click.echo(
            f"  generation {row['generation']}: ESS {row['ess']:.1f} of {row['particles']}, "
            f"epsilon {row['epsilon']:.4g}, acceptance {row['acceptance_rate']:.3f}, "
            f"{row['runs']} runs"
        )
    if select:
        for row in tables["models"].to_pylist():
            click.echo(
                f"  model {row['model']}: probability {row['probability']:.3f} "
                f"± {row['standard_error']:.3f}"
            )
        click.echo(f"  the posterior and the fit below are of {names[best]!r}")
    for row in tables["fit"].to_pylist():
        click.echo(
            f"  {row['target']}: published {row['published']:.3f}, predictive "
            f"{row['model_median']:.3f} ({row['model_low']:.3f}-{row['model_high']:.3f})"
        )
    for warning in weak_fit_warnings(tables["generations"]):
        click.echo(f"calibrate: warning: {warning}", err=True)


def _sqlite_reason(exc: BaseException) -> str:
    """SQLite's own words for a failed write (``database or disk is full``), found in the chain
    of errors sqlalchemy and pyabc's clean-up raise on top of it."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, sqlite3.Error):
            return str(seen)
        seen = getattr(seen, "orig", None) or seen.__cause__ or seen.__context__
    return str(exc).splitlines()[0]
