"""The ``diffusion strategy`` command: compare entry strategies, then search placements."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from diffusion._lock import FolderLock, FolderLocked
from diffusion._text import escape_controls
from diffusion.config import ConfigError, load_config
from diffusion.sweep.cli import cluster_options, out_folder


class TaskProgress:
    """Progress over tasks: a bar on a terminal, plain lines otherwise, nothing when quiet."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self._bar = None
        self._shown = 0

    def __call__(self, done: int, total: int) -> None:
        if self.quiet:
            return
        if sys.stderr.isatty():
            if self._bar is None:
                self._bar = click.progressbar(length=total, label="tasks", file=sys.stderr)
            self._bar.update(done - self._shown)
        else:
            click.echo(f"strategy: {done}/{total} tasks done", err=True)
        self._shown = done

    def close(self) -> None:
        if self._bar is not None:
            self._bar.render_finish()


@click.command("strategy", short_help="Compare entry strategies with common random numbers.")
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@out_folder("Folder of the results; rerunning into it resumes the same evaluation.")
@cluster_options
@click.option("--no-search", is_flag=True, help="Skip the [strategy.search] placement search.")
@click.option("--quiet", is_flag=True, help="No progress output.")
@click.pass_context
def strategy_command(
    ctx: click.Context,
    config: Path,
    out: Path,
    workers: int | None,
    scheduler: str | None,
    cluster: str | None,
    no_search: bool,
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
    from diffusion.strategy.evaluate import Evaluation, EvaluationError
    from diffusion.strategy.placement import Country
    from diffusion.sweep.clusters import batch_system

    lock = FolderLock(out)
    try:
        experiment = load_config(config)
        evaluation = Evaluation.from_config(experiment)
        batch_system(experiment.cluster, workers=workers, scheduler=scheduler, cluster=cluster)
        if out.exists() and not out.is_dir():
            raise EvaluationError(f"--out: {out} exists and is not a folder")
        lock.acquire()
        country = Country.of(experiment.network.build())
        evaluation.check_rules(country)  # a rule that finds nobody: before any run
        for warning in evaluation.sparse_budgets(country.n_agents):
            click.echo(f"warning: {escape_controls(warning)}", err=True)
    except ConfigError:
        lock.release()
        raise  # reported by the command group, one line per field
    except (EvaluationError, FolderLocked, ValueError) as exc:
        lock.release()
        for line in str(exc).splitlines():
            click.echo(escape_controls(line), err=True)
        ctx.exit(2)
    try:
        _run(evaluation, country, out, workers, scheduler, cluster, no_search, quiet)
    except KeyboardInterrupt:
        click.echo(f"strategy: interrupted; run the same command to resume into {out}", err=True)
        ctx.exit(130)
    finally:
        lock.release()


def _run(evaluation, country, out, workers, scheduler, cluster, no_search, quiet) -> None:
    from diffusion.strategy.evaluate import evaluate
    from diffusion.strategy.report import format_summary, write_report
    from diffusion.sweep.clusters import open_client

    config = evaluation.config
    order = [s.name for s in evaluation.strategies]
    reference = config.strategy.reference_name
    progress = TaskProgress(quiet)
    with open_client(config.cluster, workers=workers, scheduler=scheduler, cluster=cluster) as c:
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
    import numpy as np

    from diffusion.strategy import plots

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
    )


def _search(config, country, out: Path, client, quiet: bool) -> None:
    from diffusion.results.io import write_parquet
    from diffusion.strategy import plots
    from diffusion.strategy.evaluate import replicate_seed
    from diffusion.strategy.search import (
        candidate_pool,
        dask_batch,
        run_search,
        search_payload,
        search_tables,
    )
    from diffusion.streams import PLACEMENT, RunStreams

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
