"""The ``diffusion`` command line: thin commands that parse, call the library and report.

Config mistakes (``ConfigError``) print one line per problem and exit with status 2; so do the
other mistakes found before any work (an output folder that cannot be used or is in use, a
network file that cannot be read, a run that needs more memory than there is): one line each.
Everything that can be checked is checked before a network is built or a replicate is run.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
import numpy as np

import diffusion
from diffusion import EDGE_KINDS, Network
from diffusion._io import atomic_write
from diffusion._lazy import lazy_module
from diffusion._memory import check_fits
from diffusion._text import escape_controls
from diffusion.calibration.cli import calibrate_command
from diffusion.command import Progress, interrupted_line, load_experiment, set_option
from diffusion.config import ConfigError, ExperimentConfig, load_config, read_network
from diffusion.config_check import check_memory, describe
from diffusion.config_reference import field_label
from diffusion.errors import DiffusionError
from diffusion.results import Result
from diffusion.results.folder import run_output
from diffusion.runner import Progress as RunProgress
from diffusion.runner import identity, run_scenario, write_tables
from diffusion.sensitivity.cli import sensitivity_command
from diffusion.shipped import listing
from diffusion.strategy.cli import strategy_command
from diffusion.sweep.cli import out_folder, sweep_command
from diffusion.sweep.run import POINTS, read_manifest

pq = lazy_module("pyarrow.parquet")

EXISTING_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
CONFIG_FILE = click.Path(dir_okay=False, path_type=Path)
"""A config path checked by ``load_config``, so every command reports a missing one alike."""
HELP_WIDTH = 100
"""Terminal width of ``--help``: wide enough that no command's one-line help is cut."""


DISK_FULL = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)
"""Errors of a write that found no room: reported in one line (files are written atomically,
so earlier results are intact)."""


class UserError(DiffusionError):
    """A mistake found before any work: one line on stderr, exit status 2."""


class _Group(click.Group):
    """The command group: every command's errors, interrupts and lack of memory alike.

    A config's problems are one line per field; any other ``DiffusionError`` is one line with
    its exit status; Ctrl-C is the command's own line (``diffusion.command.on_interrupt``) with
    status 130; running out of memory anywhere is one line with status 1.
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            click.echo("error: the config is not valid:", err=True)
            for line in exc.lines:
                click.echo(f"  {escape_controls(line)}", err=True)
            ctx.exit(2)
        except DiffusionError as exc:
            message = " ".join(str(exc).split()) or type(exc).__name__  # one line
            click.echo(f"Error: {escape_controls(message)}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo(escape_controls(interrupted_line(ctx)), err=True)
            ctx.exit(130)
        except MemoryError as exc:
            what = str(exc).strip() or "MemoryError"
            click.echo(
                f"Error: ran out of memory ({escape_controls(what)[:200]}); check what the run "
                "needs with diffusion check, and use fewer agents, steps or replicates",
                err=True,
            )
            ctx.exit(1)
        except OSError as exc:
            if exc.errno not in DISK_FULL:
                raise
            where = exc.filename or "the results"
            click.echo(
                f"Error: cannot write {escape_controls(str(where))} ({exc.strerror}); what was "
                "finished before is kept: free space and run the same command again",
                err=True,
            )
            ctx.exit(1)


@click.group(cls=_Group, context_settings={"max_content_width": HELP_WIDTH})
@click.version_option(package_name="diffusion", prog_name="diffusion")
def main() -> None:
    """Simulate smuggled foreign media spreading over trust networks under state detection."""


@main.command()
def version() -> None:
    """Print the package version."""
    click.echo(f"diffusion {diffusion.__version__}")


@main.command(short_help="Run a config's scenario and write Parquet results.")
@click.argument("config", type=CONFIG_FILE)
@out_folder("Folder for the Parquet results (created if needed).")
@click.option(
    "--replace", is_flag=True, help="Overwrite OUT even if it holds another experiment's results."
)
@set_option
@click.option("--quiet", is_flag=True, help="Print nothing but errors.")
def run(config: Path, out: Path, replace: bool, overrides: dict[str, Any], quiet: bool) -> None:
    """Run the scenario of CONFIG (network, model, replicates) and write its results to OUT.

    OUT is written as a whole when the run ends; until then it keeps what it held. A folder
    holding another experiment's results is refused unless --replace is given.
    """
    experiment = load_experiment(config, overrides)
    check_memory(experiment, results_held=experiment.run.replicates)
    report = _Reporter(quiet)
    with run_output(out, identity(experiment), replace) as build:
        report.line(f"building the {experiment.network.type} network ...")
        with report.replicates(experiment.run.replicates) as progress:
            scenario = run_scenario(experiment, progress=progress, on_built=report.network_built)
        paths = write_tables(scenario, build)
    report.line(
        f"{len(scenario.results)} replicates in {scenario.run_seconds:.1f} s "
        f"(network {scenario.build_seconds:.1f} s)",
        result=True,
    )
    report.summary(scenario.results)
    report.line(f"results: {out}/ ({', '.join(p.name for p in paths.values())})", result=True)


@main.command(short_help="Validate a config and say what it would run.")
@click.argument("config", type=CONFIG_FILE)
@set_option
def check(config: Path, overrides: dict[str, Any]) -> None:
    """Validate CONFIG and describe the run it asks for, without running it.

    Prints the network, the number of agents, steps and replicates, the kernel that will run,
    the mechanisms switched on and the sweep, then any warnings. Exit status 2 if it is invalid.
    """
    experiment = load_experiment(config, overrides)
    lines = describe(experiment)
    check_memory(experiment, results_held=experiment.run.replicates)  # as run refuses
    click.echo(f"{config}: valid")
    for label, text in lines:
        click.echo(f"{label:>16}: {text}")


@main.command(short_help="List the shipped configs, their questions and commands.")
@click.argument(
    "folder",
    default="experiments",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
)
def experiments(folder: Path) -> None:
    """List the configs in FOLDER (default ./experiments, subfolders included): each one's
    question (its "# Question:" comment) and the command lines it is for (diffusion.shipped).
    """
    click.echo(listing(folder))


@main.group(short_help="Build a network from a config, or describe a network file.")
def network() -> None:
    """Build a network from a config, or describe a network file."""


@network.command("build", short_help="Build a config's network once and save it.")
@click.argument("config", type=EXISTING_FILE)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="A population: .npz; a network: .graphml, else an edge list 'u v trust'.",
)
def network_build(config: Path, out: Path) -> None:
    """Build the network of CONFIG once and save it to OUT (reuse it with type = "file")."""
    experiment: ExperimentConfig = load_config(config)
    if experiment.network.type == "population" and out.suffix.lower() != ".npz":
        raise UserError("--out: a population is saved as .npz")
    _check_memory(experiment)
    _check_writable(out)
    click.echo(f"building the {experiment.network.type} network ...", err=True)
    built = experiment.network.build()
    if hasattr(built, "save"):  # a population: agents, groups and network in one file
        built.save(out)
    else:
        _save_network(built, out)
    click.echo(f"saved {_describe(built)} to {out}")


@network.command("info", short_help="Describe a network or population file.")
@click.argument("file", type=EXISTING_FILE)
def network_info(file: Path) -> None:
    """Describe a network or population file: agents, ties by kind, degrees, clustering."""
    try:
        built = read_network(file)
    except (ValueError, MemoryError) as exc:
        raise UserError(f"{file}: {str(exc).removeprefix(f'{file}: ')}") from None
    stats = built.summary() if hasattr(built, "summary") else network_stats(built)
    for name, value in _flatten(stats).items():
        click.echo(
            f"{name:>28}: {value:.4g}" if isinstance(value, float) else f"{name:>28}: {value}"
        )


@main.command(short_help="Draw PNG figures of run or sweep results.")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
def plot(folder: Path) -> None:
    """Draw the figures (PNG) of the run or sweep results in FOLDER, next to them."""
    # Here, not at module level: the figures load matplotlib (0.4 s of every command's start).
    from diffusion.results.plots import plot_run, plot_sweep

    if (folder / "summary.parquet").is_file():
        paths = plot_run(folder)
    elif (folder / "sweep.json").is_file():
        manifest = read_manifest(folder)
        try:
            if manifest is None:
                raise ValueError(f"{folder}: no sweep manifest")
            table = pq.read_table(folder / POINTS)
            if table.num_rows == 0:
                raise ValueError(f"{folder}: no finished points yet")
            names = manifest["design"]["names"]
            paths = plot_sweep(table, names, folder, {name: field_label(name) for name in names})
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
    else:
        raise click.ClickException(f"{folder}: no run (summary.parquet) or sweep (sweep.json)")
    for path in paths:
        click.echo(f"plot: {path}")


sweep_command.short_help = "Run a config's parameter sweep on Dask (resumable)."
main.add_command(sweep_command)  # `diffusion sweep`, in diffusion/sweep/cli.py
main.add_command(calibrate_command)  # `diffusion calibrate`, in diffusion/calibration/cli.py
main.add_command(sensitivity_command)  # `diffusion sensitivity`, in diffusion/sensitivity/cli.py
main.add_command(strategy_command)  # `diffusion strategy`, in diffusion/strategy/cli.py


def network_stats(graph: Network) -> dict[str, Any]:
    """Size, ties by kind, degree spread, clustering and components of a network (igraph)."""
    degree = graph.degree()
    kinds = np.bincount(graph.edges()[2], minlength=len(EDGE_KINDS))
    ig = graph.to_igraph()
    components = ig.connected_components()
    return {
        "agents": graph.n_nodes,
        "ties": graph.n_edges,
        "ties by kind": ", ".join(f"{k} {c}" for k, c in zip(EDGE_KINDS, kinds, strict=True) if c),
        "degree mean / max": f"{degree.mean():.2f} / {degree.max()}",
        "degree 10/50/90%": " / ".join(f"{q:g}" for q in np.percentile(degree, [10, 50, 90])),
        "clustering": f"{ig.transitivity_undirected():.4f}",
        "components": len(components),
        "largest component": f"{max(components.sizes()) / graph.n_nodes:.1%} of agents",
        "mean trust": f"{graph.trust.mean():.3f}" if len(graph.trust) else "-",
    }


def _flatten(stats: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested summary dicts as ``outer.inner`` keys, for printing one value a line."""
    flat: dict[str, Any] = {}
    for key, value in stats.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _describe(built: Any) -> str:
    graph = getattr(built, "network", built)
    return f"{graph.n_nodes} agents and {graph.n_edges} ties"


def _save_network(graph: Network, out: Path) -> None:
    """GraphML for ``.graphml``, else a ``u v trust`` edge list; atomically (temp + rename)."""
    last_tied = int(graph.edges()[0].max(initial=-1))
    if out.suffix.lower() != ".graphml" and last_tied + 1 < graph.n_nodes:
        raise click.ClickException(
            f"agents {last_tied + 1}..{graph.n_nodes - 1} have no ties and an edge list would "
            "drop them; save as .graphml"
        )
    if out.suffix.lower() == ".graphml":
        atomic_write(out, lambda handle: graph.to_igraph().write_graphml(handle))
    else:
        pairs, trust, _ = graph.edges()
        header = f"diffusion edge list: {graph.n_nodes} agents; u v trust"
        table = np.column_stack([pairs, trust])
        atomic_write(
            out, lambda handle: np.savetxt(handle, table, fmt=["%d", "%d", "%.6g"], header=header)
        )


def _check_memory(experiment: ExperimentConfig) -> None:
    """Refuse a network bigger than the memory available, before building it."""
    network = experiment.network
    check_fits(network.memory_bytes(), f"the {network.type} network of {network.size()} agents")


def _check_writable(out: Path) -> None:
    """Refuse an ``--out`` file that cannot be written (before the work that fills it)."""
    if out.is_dir():
        raise UserError(f"--out: {out} is a folder")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"--out: cannot create {out.parent} ({exc.strerror or exc})") from None
    if not os.access(out.parent, os.W_OK | os.X_OK):
        raise UserError(f"--out: cannot write in {out.parent} (read-only or not permitted)")


class _Reporter:
    """A run's progress (``diffusion.command.Progress``) and its results on the terminal."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.progress = Progress("replicate", "replicates", quiet)

    def line(self, text: str, result: bool = False) -> None:
        """Print a progress line (stderr) or a result line (stdout), unless quiet."""
        if not self.quiet:
            click.echo(text, err=not result)

    def network_built(self, built: Any, seconds: float) -> None:
        """Report the network; the replicates' progress follows."""
        self.line(f"network: {_describe(built)} ({seconds:.1f} s)")

    @contextmanager
    def replicates(self, total: int) -> Iterator[RunProgress | None]:
        """The progress callback of ``run_scenario`` over ``total`` replicates."""
        try:
            yield None if self.quiet else self._advance
        finally:
            self.progress.close()

    def _advance(self, done: int, total: int, result: Result) -> None:
        detail = (
            f"reach {result.summary()['reach_share']:.3f}, detected {result.final['D']}, "
            f"{result.steps} steps"
        )
        self.progress(done, total, detail)

    def summary(self, results: list[Result]) -> None:
        """Median and range over the replicates of each summary figure."""
        rows = [r.summary() for r in results]
        self.line(f"{'':>20}  {'median':>10}  {'min':>10}  {'max':>10}", result=True)
        for name in rows[0]:
            values = np.array([row[name] for row in rows], dtype=float)
            cells = (f"{v:>10.4g}" for v in (np.median(values), values.min(), values.max()))
            self.line(f"{name:>20}  {'  '.join(cells)}", result=True)
