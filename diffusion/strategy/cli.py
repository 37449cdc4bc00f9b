"""The ``diffusion strategy`` command: compare entry strategies, then search placements."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import numpy as np

from diffusion._lock import claim
from diffusion._text import escape_controls
from diffusion.command import Progress, dask_client, load_experiment, on_interrupt, set_option
from diffusion.config import ConfigError
from diffusion.config_check import check_memory
from diffusion.errors import DiffusionError
from diffusion.results.io import write_parquet
from diffusion.streams import PLACEMENT, RunStreams
from diffusion.sweep.cli import cluster_options, out_folder


@click.command("strategy", short_help="Compare entry strategies with common random numbers.")
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@out_folder("Folder of the results; rerunning into it resumes the same evaluation.")
@cluster_options
@click.option("--no-search", is_flag=True, help="Skip the [strategy.search] placement search.")
@set_option
@click.option("--quiet", is_flag=True, help="No progress output.")
def strategy_command(
    config: Path,
    out: Path,
    workers: int | None,
    scheduler: str | None,
    cluster: str | None,
    no_search: bool,
    overrides: dict[str, Any],
    quiet: bool,
) -> None:
    """Evaluate the [[strategy.compare]] strategies of CONFIG into the folder OUT.

    Replicate r of every strategy runs on the same seed (common random numbers), one Dask task
    per block of replicates of a strategy; a task's files appear in OUT/runs, OUT/series and
    OUT/provinces when it finishes, and rerunning the command skips finished tasks. OUT then
    gets summary, differences (paired, from the reference strategy), over_time and by_province
    tables and their figures. With a [strategy.search] section, a lazy-greedy (CELF) search for
    the best entry agents follows (search_steps, search_scored, search-front.png).
    """
    # Here, not at the top: these import pyarrow, scipy and Dask (every command's start).
    from diffusion.strategy.evaluate import Evaluation
    from diffusion.strategy.placement import Country
    from diffusion.sweep.clusters import batch_system

    experiment = load_experiment(config, overrides)
    evaluation = Evaluation.from_config(experiment)
    try:
        batch_system(experiment.cluster, workers=workers, scheduler=scheduler, cluster=cluster)
    except ValueError as exc:
        raise DiffusionError(str(exc)) from None
    check_memory(experiment)  # the country is built here, and by each worker
    with claim(out) as out:
        on_interrupt(f"strategy: interrupted; run the same command to resume into {out}")
        country = Country.of(experiment.network.build())
        evaluation.check_rules(country)  # a rule that finds nobody: before any run
        if experiment.strategy.search is not None and not no_search:
            _check_search(experiment, country)  # the search's rule too, before any run
        for warning in evaluation.sparse_budgets(country.n_agents):
            click.echo(f"warning: {escape_controls(warning)}", err=True)
        _run(evaluation, country, out, workers, scheduler, cluster, no_search, quiet)


def _check_search(config, country) -> None:
    """The search's rule finds its candidates in this world: else a ``ConfigError``."""
    # Here, not at the top: the strategy modules import pyarrow and scipy (every command's start).
    from diffusion.strategy.placement import recipients

    search = config.strategy.search
    try:
        recipients(country, search.who, search.where, 1, np.random.default_rng(0), search.agents)
    except ValueError as exc:
        raise ConfigError([f"strategy.search.{exc}"]) from None


def _run(evaluation, country, out, workers, scheduler, cluster, no_search, quiet) -> None:
    from diffusion.strategy.evaluate import evaluate
    from diffusion.strategy.report import format_summary, write_report

    config = evaluation.config
    order = [s.name for s in evaluation.strategies]
    reference = config.strategy.reference_name
    progress = Progress("strategy", "tasks", quiet)
    with dask_client(config.cluster, workers=workers, scheduler=scheduler, cluster=cluster) as c:
        outcome = evaluate(evaluation, out, c, progress)
        progress.close()
        tables = write_report(out, order, reference)
        _evaluation_figures(tables, order, reference, out)
        if not quiet:
            click.echo(
                f"strategy: {len(order)} strategies x {evaluation.replicates} replicates "
                f"({outcome.ran} tasks run now, {outcome.skipped} found done, "
                f"{outcome.task_seconds:.0f} s of compute)"
            )
            click.echo(format_summary(tables, reference))
        if config.strategy.search is not None and not no_search:
            _search(config, country, out, c, quiet)


def _evaluation_figures(tables, order, reference, out: Path) -> None:
    from diffusion.strategy import plots  # matplotlib

    plots.reach_over_time(tables["over_time"], order, out / "reach-over-time.png")
    plots.differences(tables["differences"], reference, out / "differences.png")
    plots.reach_by_province(tables["by_province"], order, out / "reach-by-province.png")
    rows = {(r["strategy"], r["metric"]): r for r in tables["summary"].to_pylist()}
    get = lambda metric, key: np.array([rows[(n, metric)][key] for n in order])  # noqa: E731
    plots.front(
        get("reach", "mean"),
        get("detected", "mean"),
        out / "strategies-front.png",
        "Reach against detections by entry strategy",
        labels=order,
        reach_err=get("reach", "mean") - get("reach", "low"),
        detected_err=get("detected", "mean") - get("detected", "low"),
        kind="strategies",
    )


def _search(config, country, out: Path, client, quiet: bool) -> None:
    from diffusion.strategy import plots
    from diffusion.strategy.evaluate import replicate_seed
    from diffusion.strategy.search import (
        candidate_pool,
        dask_batch,
        run_search,
        search_payload,
        search_tables,
    )

    search = config.strategy.search
    rng = RunStreams.of(replicate_seed(config.run.seed, 0)).generator(PLACEMENT)
    candidates = candidate_pool(country, config, rng)
    run_batch = dask_batch(client, search_payload(config), config.content_hash())
    batch = max(1, sum(client.nthreads().values()))
    result = run_search(candidates, search.copies, search.prices, run_batch, batch)
    tables = search_tables(result)
    for name, table in tables.items():
        write_parquet(table, out / f"{name}.parquet")
    scored = tables["search_scored"]
    plots.front(
        scored["reach"].to_numpy(),
        scored["detected"].to_numpy(),
        out / "search-front.png",
        f"Placements of up to {search.copies} copies scored by the search",
    )
    if not quiet:
        click.echo(
            f"search: {len(candidates)} candidates, {len(result.scores)} placements scored on "
            f"{search.replicates} replicates in {result.seconds:.0f} s"
        )
        for greedy in result.searches:
            click.echo(
                f"  price {greedy.price:g}: agents {greedy.chosen}, value "
                f"{greedy.values[-1]:.1f} (gains {', '.join(f'{g:.1f}' for g in greedy.gains)})"
            )
