"""The ``diffusion calibrate`` command: fit a scenario's priors to its published targets."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import click

from diffusion._lock import FolderLock, FolderLocked
from diffusion._text import escape_controls
from diffusion.config import load_config
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
@click.pass_context
def calibrate_command(
    ctx: click.Context,
    config: Path,
    out: Path,
    particles: int,
    generations: int,
    batch_size: int,
    workers: int | None,
    scheduler: str | None,
    cluster: str | None,
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
        click.echo(f"calibrate: needs {exc.name}: pip install -e '.[calibrate]'", err=True)
        ctx.exit(2)
    from diffusion.sweep.clusters import open_client

    experiment = load_config(config)
    if experiment.calibration is None:
        click.echo(f"{config}: no [calibration] section (targets and priors)", err=True)
        ctx.exit(2)
    out.mkdir(parents=True, exist_ok=True)
    lock = FolderLock(out)
    try:
        lock.acquire()
    except FolderLocked as exc:
        click.echo(str(exc), err=True)
        ctx.exit(2)
    from sqlalchemy.exc import SQLAlchemyError

    from diffusion.calibration.folder import CalibrationError

    try:
        with open_client(
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
    except CalibrationError as exc:
        click.echo(escape_controls(str(exc)), err=True)
        ctx.exit(2)
    except (SQLAlchemyError, sqlite3.Error) as exc:
        click.echo(
            f"calibrate: cannot write {out / 'history.db'} ({_sqlite_reason(exc)}); the "
            "generations finished so far are kept: free space and run the same command again",
            err=True,
        )
        ctx.exit(1)
    except KeyboardInterrupt:
        click.echo(
            f"calibrate: interrupted; the generations finished so far are in {out / 'history.db'}; "
            "run the same command again to continue",
            err=True,
        )
        ctx.exit(130)
    finally:
        lock.release()
    click.echo(f"calibrate: {history.max_t + 1} generations of {particles} particles in {out}")
    for row in fit.to_pylist():
        click.echo(
            f"  {row['target']}: published {row['published']:.3f}, model {row['model_median']:.3f} "
            f"({row['model_low']:.3f}-{row['model_high']:.3f})"
        )


def _sqlite_reason(exc: BaseException) -> str:
    """SQLite's own words for a failed write (``database or disk is full``), found in the chain
    of errors sqlalchemy and pyabc's clean-up raise on top of it."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, sqlite3.Error):
            return str(seen)
        seen = getattr(seen, "orig", None) or seen.__cause__ or seen.__context__
    return str(exc).splitlines()[0]
