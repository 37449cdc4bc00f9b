"""The ``diffusion`` command line: thin commands that parse, call the library and report.

Config mistakes (``ConfigError``) print one line per problem and exit with status 2; so do the
other mistakes found before any work (an output folder that cannot be used or is in use, a
network file that cannot be read, a run that needs more memory than there is): one line each.
Everything that can be checked is checked before a network is built or a replicate is run.
"""

from __future__ import annotations

import errno
import os
import sys
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
import numpy as np

from diffusion import EDGE_KINDS, Network, __version__
from diffusion._io import atomic_write
from diffusion._lock import FolderLocked
from diffusion._memory import NotEnoughMemory, check_fits
from diffusion._text import escape_controls
from diffusion.calibration.cli import calibrate_command
from diffusion.config import ConfigError, ExperimentConfig, load_config, read_network
from diffusion.config_check import describe, warnings
from diffusion.results import Result
from diffusion.runner import Progress, run_scenario
from diffusion.sensitivity.cli import sensitivity_command
from diffusion.strategy.cli import strategy_command
from diffusion.sweep.cli import out_folder, sweep_command

EXISTING_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
CONFIG_FILE = click.Path(dir_okay=False, path_type=Path)
"""A config path checked by ``load_config``, so every command reports a missing one alike."""
HELP_WIDTH = 100
"""Terminal width of ``--help``: wide enough that no command's one-line help is cut."""


DISK_FULL = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)
"""Errors of a write that found no room: reported in one line (files are written atomically,
so earlier results are intact)."""


class UserError(click.ClickException):
    """A mistake found before any work: one line on stderr, exit status 2."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(escape_controls(message))


class _Group(click.Group):
    """A click group that reports config errors as lines naming the field, with status 2, and
    the other checks made before any work (output folder, memory) as one line, status 2."""

    def invoke(self, ctx: click.Context) -> Any:
        from diffusion.results.folder import OutputError

        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            click.echo("error: the config is not valid:", err=True)
            for line in exc.lines:
                click.echo(f"  {escape_controls(line)}", err=True)
            ctx.exit(2)
        except (OutputError, FolderLocked, NotEnoughMemory) as exc:
            raise UserError(str(exc)) from None
        except OSError as exc:
            if exc.errno not in DISK_FULL:
                raise
            where = exc.filename or "the results"
            click.echo(
                f"error: cannot write {escape_controls(str(where))} ({exc.strerror}); what was "
                "finished before is kept: free space and run the same command again",
                err=True,
            )
            ctx.exit(1)


@click.group(cls=_Group, context_settings={"max_content_width": HELP_WIDTH})
@click.version_option(__version__, prog_name="diffusion")
def main() -> None:
    """Simulate smuggled foreign media spreading over trust networks under state detection."""


@main.command()
def version() -> None:
    """Print the package version."""
    click.echo(f"diffusion {__version__}")


def _parse_set(ctx: click.Context, param: click.Parameter, items: tuple[str, ...]) -> dict:
    """``--set PATH=VALUE`` options as ``{path: value}``; a value is read as TOML, else text.

    A value is one TOML value on one line (``model.beta=0.1\n[network]...`` would otherwise
    read 0.1 and drop the rest), and a path is set once (a second value would silently win).
    """
    overrides: dict[str, Any] = {}
    for item in items:
        path, sep, text = item.partition("=")
        path = path.strip()
        if not sep or not path:
            raise click.BadParameter(f"{item!r} is not PATH=VALUE, e.g. model.beta=0.02")
        if "\n" in text or "\r" in text:
            raise click.BadParameter(f"{path}: the value must be on one line")
        try:
            value = tomllib.loads(f"value = {text}")["value"]
        except tomllib.TOMLDecodeError:
            value = text  # a bare word: network.type=sbm
        if path in overrides:
            raise click.BadParameter(f"{path}: set twice; give each path once")
        overrides[path] = value
    return overrides


SET_OPTION = click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="PATH=VALUE",
    callback=_parse_set,
    help="Change one field of the config, e.g. --set model.beta=0.02 --set run.replicates=3 "
    "(repeatable; the value is read as TOML).",
)


def _load(config: Path, overrides: dict[str, Any]) -> ExperimentConfig:
    """The config file with ``--set`` overrides applied, validated; warnings go to stderr."""
    experiment = load_config(config)
    if overrides:
        experiment = experiment.with_overrides(overrides)
    for warning in warnings(experiment):
        click.echo(f"warning: {warning}", err=True)
    return experiment


@main.command(short_help="Run a config's scenario and write Parquet results.")
@click.argument("config", type=CONFIG_FILE)
@out_folder("Folder for the Parquet results (created if needed).")
@click.option(
    "--replace", is_flag=True, help="Overwrite OUT even if it holds another experiment's results."
)
@SET_OPTION
@click.option("--quiet", is_flag=True, help="Print nothing but errors.")
def run(config: Path, out: Path, replace: bool, overrides: dict[str, Any], quiet: bool) -> None:
    """Run the scenario of CONFIG (network, model, replicates) and write its results to OUT.

    OUT is written as a whole when the run ends; until then it keeps what it held. A folder
    holding another experiment's results is refused unless --replace is given.
    """
    from diffusion.results.folder import run_output
    from diffusion.results.io import write_tables

    experiment = _load(config, overrides)
    _check_memory(experiment)
    report = _Reporter(quiet)
    with run_output(out, experiment, replace) as build:
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
@SET_OPTION
def check(config: Path, overrides: dict[str, Any]) -> None:
    """Validate CONFIG and describe the run it asks for, without running it.

    Prints the network, the number of agents, steps and replicates, the kernel that will run,
    the mechanisms switched on and the sweep, then any warnings. Exit status 2 if it is invalid.
    """
    experiment = _load(config, overrides)
    click.echo(f"{config}: valid")
    for label, text in describe(experiment):
        click.echo(f"{label:>16}: {text}")


@main.command(short_help="List the shipped experiments and their questions.")
@click.argument(
    "folder",
    default="experiments",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
)
def experiments(folder: Path) -> None:
    """List the experiment configs in FOLDER (default ./experiments) with their questions.

    The question is the first comment line of each config.
    """
    for path in sorted(folder.glob("*.toml")):
        click.echo(f"{str(path):<36} {_question(path)}")


def _question(path: Path) -> str:
    """The first comment line of a config file, without its ``#``."""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") and line.strip("# "):
            return line.lstrip("# ").rstrip()
    return ""


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
    from diffusion.results.plots import plot_run, plot_sweep_folder

    if (folder / "summary.parquet").is_file():
        paths = plot_run(folder)
    elif (folder / "sweep.json").is_file():
        try:
            paths = plot_sweep_folder(folder)
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
    """Progress and results on the terminal: a bar on a TTY, plain lines otherwise, or nothing."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.tty = sys.stderr.isatty()
        self.total = 0
        self._bar: Any = None

    def line(self, text: str, result: bool = False) -> None:
        """Print a progress line (stderr) or a result line (stdout), unless quiet."""
        if not self.quiet:
            click.echo(text, err=not result)

    def network_built(self, built: Any, seconds: float) -> None:
        """Report the network, then start the replicates' bar (on a terminal)."""
        self.line(f"network: {_describe(built)} ({seconds:.1f} s)")
        if self.tty and not self.quiet:
            self._bar = click.progressbar(length=self.total, label="replicates", file=sys.stderr)
            self._bar.render_progress()

    @contextmanager
    def replicates(self, total: int) -> Iterator[Progress | None]:
        """The progress callback of ``run_scenario`` over ``total`` replicates."""
        self.total = total
        try:
            yield None if self.quiet else self._advance
        finally:
            if self._bar is not None:
                self._bar.render_finish()

    def _advance(self, done: int, total: int, result: Result) -> None:
        if self._bar is not None:
            self._bar.update(1)
        else:
            self.line(
                f"replicate {done}/{total}: reach {result.summary()['reach_share']:.3f}, "
                f"detected {result.final['D']}, {result.steps} steps"
            )

    def summary(self, results: list[Result]) -> None:
        """Median and range over the replicates of each summary figure."""
        rows = [r.summary() for r in results]
        self.line(f"{'':>20}  {'median':>10}  {'min':>10}  {'max':>10}", result=True)
        for name in rows[0]:
            values = np.array([row[name] for row in rows], dtype=float)
            cells = (f"{v:>10.4g}" for v in (np.median(values), values.min(), values.max()))
            self.line(f"{name:>20}  {'  '.join(cells)}", result=True)
