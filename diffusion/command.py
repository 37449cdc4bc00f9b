"""The one shape of every long-running command: run, sweep, calibrate, sensitivity, strategy.

Each of them reads a config (with ``--set PATH=VALUE`` changes), refuses before any work what
cannot work (the config, the memory, the output folder), claims its output folder (one lock),
shows progress (``Progress``), and stops on Ctrl-C with one line saying how to resume
(``on_interrupt``). The command group (``diffusion.cli``) turns every ``DiffusionError`` into one
line on standard error with the error's exit status, an interrupt into status 130, and running
out of memory anywhere into one line: the same for every command, written once here.

Commands whose runs go to Dask open their client with ``dask_client``: Ctrl-C cannot kill
worker processes half-started, local workers log only critical messages, a failed start is one
line, and a second Ctrl-C cannot cut the cluster's shutdown short (each a traceback otherwise).
"""

from __future__ import annotations

import ipaddress
import logging
import os
import signal
import sys
import time
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from diffusion._lock import check_place
from diffusion._text import escape_controls
from diffusion.config import ExperimentConfig, load_config
from diffusion.config_check import warnings
from diffusion.errors import StoppedError
from diffusion.sweep.config import ClusterConfig

WORKER_LOG_LEVEL = "DASK_LOGGING__DISTRIBUTED"
"""Dask's log level for the ``distributed`` loggers, read by a worker process when it starts."""
MAX_SET_DEPTH = 20
"""Most dots in a ``--set`` path (a config nests 5 deep); deeper is refused, not recursed into."""
INTERRUPT_KEY = "diffusion.on_interrupt"
"""Where a command leaves the line to print if it is interrupted (``click.Context.meta``)."""


# ---------------------------------------------------------------------------------- config
def _parse_set(ctx: click.Context, param: click.Parameter, items: tuple[str, ...]) -> dict:
    """``--set PATH=VALUE`` options as ``{path: value}``; a value is read as TOML, else text.

    A value that is not one TOML value (``0.1<newline>[network]``) is refused rather than
    partly read, and so is a path given twice (which of the two was meant?).
    """
    overrides: dict[str, Any] = {}
    for item in items:
        path, sep, text = item.partition("=")
        path = path.strip()
        if not sep or not path:
            raise click.BadParameter(f"'{escape_controls(item[:80])}' is not PATH=VALUE, e.g. "
                                     "model.beta=0.02")  # fmt: skip
        if path.count(".") > MAX_SET_DEPTH:
            raise click.BadParameter(f"{escape_controls(path[:80])}...: nested too deeply")
        if path in overrides:
            raise click.BadParameter(f"{escape_controls(path)}: given twice")
        try:
            document = tomllib.loads(f"value = {text}")
            if set(document) != {"value"}:  # 0.1<newline>[network]...: more than one value
                raise tomllib.TOMLDecodeError("more than one value")
            value = document["value"]
        except tomllib.TOMLDecodeError:
            if any(ch in text for ch in "\n\r=[]"):
                raise click.BadParameter(
                    f"{escape_controls(path)}: {escape_controls(text[:80])!r} is not one TOML value"
                ) from None
            value = text  # a bare word: network.type=sbm
        except RecursionError:
            raise click.BadParameter(f"{escape_controls(path)}: value nested too deeply") from None
        overrides[path] = value
    return overrides


set_option = click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="PATH=VALUE",
    callback=_parse_set,
    help="Change one field of the config, e.g. --set model.beta=0.02 --set run.replicates=3 "
    "(repeatable; the value is read as TOML).",
)
"""The ``--set`` option of every command that takes a config."""


def load_experiment(config: Path, overrides: dict[str, Any]) -> ExperimentConfig:
    """The config file with ``--set`` overrides applied, validated; warnings go to stderr."""
    experiment = load_config(config)
    if overrides:
        experiment = experiment.with_overrides(overrides)
    for warning in warnings(experiment):
        click.echo(f"warning: {escape_controls(warning)}", err=True)
    return experiment


# ---------------------------------------------------------------------------------- progress
class Progress:
    """Progress over ``total`` units: a bar on a terminal, plain lines otherwise, or nothing.

    Called as ``progress(done, total)`` (``detail`` adds to the line of that unit). Without a
    terminal it prints a line at the first unit, every 2% of the units and at the last; a unit
    with a ``detail`` always gets its line (a run's replicates say what each reached).
    """

    def __init__(self, name: str, unit: str, quiet: bool, tty: bool | None = None) -> None:
        self.name, self.unit, self.quiet = name, unit, quiet
        self.tty = sys.stderr.isatty() if tty is None else tty
        self._bar: Any = None
        self._shown = -1
        self._start = time.perf_counter()

    def __call__(self, done: int, total: int, detail: str | None = None) -> None:
        if self.quiet:
            return
        if self.tty:
            if self._bar is None:
                self._bar = click.progressbar(length=total, label=self.unit, file=sys.stderr)
                self._bar.render_progress()
            self._bar.update(done - max(self._shown, 0))
        elif detail is not None:
            click.echo(f"{self.name} {done}/{total}: {detail}", err=True)
        elif done == total or self._shown < 0 or done - self._shown >= max(1, total // 50):
            elapsed = time.perf_counter() - self._start
            click.echo(f"{self.name}: {done}/{total} {self.unit} done ({elapsed:.1f} s)", err=True)
        else:
            return  # a line every 2% of the units: the last one shown is the reference
        self._shown = done

    def close(self) -> None:
        """End the bar (on a terminal), so what follows starts on a line of its own."""
        if self._bar is not None:
            self._bar.render_finish()
            self._bar = None


# ---------------------------------------------------------------------------------- interrupts
def on_interrupt(message: str | Callable[[], str]) -> None:
    """Say what the running command prints if Ctrl-C stops it (one line: how to resume)."""
    click.get_current_context().meta[INTERRUPT_KEY] = message


def interrupted_line(ctx: click.Context) -> str:
    """The line an interrupted command prints (its own, else ``<command>: interrupted``)."""
    message = ctx.meta.get(INTERRUPT_KEY)
    if callable(message):
        try:
            message = message()
        except Exception:  # noqa: BLE001 - the folder may be half-written: say the plain line
            message = None
    name = ctx.invoked_subcommand or ctx.info_name or "diffusion"
    return message or f"{name}: interrupted"


# ---------------------------------------------------------------------------------- Dask
@contextmanager
def dask_client(
    settings: ClusterConfig,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    cluster: str | None = None,
) -> Iterator[Any]:
    """``diffusion.sweep.clusters.open_client`` for a command: quiet, one line on failure.

    Worker processes start with Ctrl-C ignored (a terminal's Ctrl-C reaches every process of the
    foreground job; a half-started worker would print a traceback), local workers and this
    process's Dask loggers report only critical messages (task errors reach the command through
    the tasks' results), a cluster that fails to start is a ``StoppedError``, and once Ctrl-C
    has been pressed a second one cannot cut the shutdown short.
    """
    from diffusion.sweep.clusters import open_client

    warn_insecure_scheduler(scheduler)
    local = scheduler is None and cluster is None and settings.type == "local"
    with _quiet_dask(local):
        opened = open_client(settings, workers=workers, scheduler=scheduler, cluster=cluster)
        try:
            with _sigint_ignored():
                client = opened.__enter__()
        except (OSError, TimeoutError, RuntimeError) as exc:
            raise StoppedError(f"the Dask cluster did not start: {_first_line(exc)}") from None
        try:
            yield client
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt):
                signal.signal(signal.SIGINT, signal.SIG_IGN)  # the shutdown runs to its end
            if not opened.__exit__(type(exc), exc, exc.__traceback__):
                raise
        else:
            opened.__exit__(None, None, None)


def warn_insecure_scheduler(scheduler: str | None) -> None:
    """Warn that a ``tcp://`` scheduler off this machine's loopback carries the work (and the
    config's values) unencrypted and unauthenticated, as a batch cluster without TLS does."""
    if scheduler is None or not scheduler.lower().startswith("tcp://"):
        return
    host = scheduler[len("tcp://") :].rpartition(":")[0] or scheduler[len("tcp://") :]
    host = host.strip("[]")
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host.lower() == "localhost"
    if not loopback:
        click.echo(
            f"warning: --scheduler {escape_controls(scheduler)}: plain TCP to another machine; "
            "anyone on the network can read the tasks or send the scheduler work (use tls:// "
            "with the [cluster] TLS files)",
            err=True,
        )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return escape_controls(text[0]) if text else type(exc).__name__


@contextmanager
def _sigint_ignored() -> Iterator[None]:
    """Ignore Ctrl-C while the block runs: worker processes started in it inherit that."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextmanager
def _quiet_dask(local: bool) -> Iterator[None]:
    """Local worker processes started in the block, and this process's ``distributed``
    loggers, report only critical messages (a worker that dies or a cluster shut down under its
    workers' feet logs tracebacks; what matters reaches the command as the tasks' results)."""
    if not local:
        yield
        return
    logger = logging.getLogger("distributed")
    previous_level = logger.level
    previous = os.environ.get(WORKER_LOG_LEVEL)
    os.environ[WORKER_LOG_LEVEL] = "critical"
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(previous_level)
        if previous is None:
            del os.environ[WORKER_LOG_LEVEL]
        else:
            os.environ[WORKER_LOG_LEVEL] = previous


# ---------------------------------------------------------------------------------- folders
def check_out_place(out: Path) -> None:
    """``out`` must be a folder or absent, under folders (a ``DiffusionError`` otherwise)."""
    check_place(Path(os.path.abspath(out)))
