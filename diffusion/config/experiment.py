"""The whole experiment config: every section assembled and checked against each other.

``ExperimentConfig`` holds the sections (``[network]``, ``[model]``, ``[run]`` and each
workflow's own: ``[sweep]``, ``[cluster]``, ``[calibration]``, ``[sensitivity]``,
``[strategy]``); ``validate_config`` turns data read from TOML into one, with every mistake a
``ConfigError`` line; ``with_value`` edits a dotted path (``model.campaigns.0.delta``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import (
    ValidationError,
    model_validator,
)

from diffusion import calendar
from diffusion._checks import seed_problem
from diffusion._fields import (
    Section,
)
from diffusion._strict import MAX_DEPTH, nesting_depth, type_mismatches
from diffusion._text import short_repr
from diffusion.calibration.priors import CalibrationConfig
from diffusion.config.errors import ConfigError, error_lines
from diffusion.config.networks import NetworkConfig, network_content_hash
from diffusion.config.run import RunConfig
from diffusion.params import MAX_STEPS, Params
from diffusion.sensitivity.config import SensitivityConfig
from diffusion.strategy.config import StrategyConfig
from diffusion.sweep.config import ClusterConfig, SweepConfig


class ExperimentConfig(Section):
    """One experiment: network, model parameters, run settings, and optionally a sweep."""

    network: NetworkConfig
    """How to build or read the trust network."""
    model: Params
    """The model's parameters."""
    run: RunConfig = RunConfig()
    """Steps, replicates, seeds."""
    sweep: SweepConfig | None = None
    """A parameter sweep (``diffusion sweep``)."""
    cluster: ClusterConfig = ClusterConfig()
    """Where a sweep runs."""
    calibration: CalibrationConfig | None = None
    """Targets and priors for fitting the scenario (``diffusion.calibration``)."""
    sensitivity: SensitivityConfig | None = None
    """Parameters and sample sizes of a sensitivity analysis (``diffusion.sensitivity``)."""
    strategy: StrategyConfig | None = None
    """Entry strategies to compare, and the placement search (``diffusion.strategy``)."""

    @model_validator(mode="before")
    @classmethod
    def _sweep_replicates_default(cls, data: Any) -> Any:
        """``sweep.replicates`` defaults to ``run.replicates``."""
        if isinstance(data, dict) and isinstance(data.get("sweep"), dict):
            sweep = data["sweep"]
            if "replicates" not in sweep:
                run = data.get("run")
                replicates = run.get("replicates", 1) if isinstance(run, dict) else 1
                data = {**data, "sweep": {**sweep, "replicates": replicates}}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> ExperimentConfig:
        if self.run.end is not None:
            if self.model.start is None:
                raise ValueError("run.end: a date needs the calendar: set model.start")
            if self.run.steps is not None:
                raise ValueError("run.end: give steps or end, not both")
            if self.steps() < 1:
                raise ValueError(f"run.end: {self.run.end} is before model.start")
            if self.steps() > MAX_STEPS:
                raise ValueError(f"run.end: more than {MAX_STEPS} days after model.start")
        if self.steps() is None and (not self.model.holders_stop() or self.model.has_entry()):
            raise ValueError(
                "run.steps: required when holders never stop (gamma = 0 and a medium in use is "
                "never detected) "
                "or copies keep entering (entry_rate > 0)"
            )
        n = self.network.size()
        problem = seed_problem(self.run.holders(n), n) if n is not None else None
        if problem:
            raise ValueError(f"run.seeds: {problem}")
        if n is not None:
            self.model.for_agents(n)  # entry rates per agents: not too many copies for n
        if self.sweep is not None:
            self._check_sweep_paths(self.sweep)
        if self.sensitivity is not None:  # first: the calibration's check validates it again
            self.sensitivity.check(self)
        if self.calibration is not None:
            self.calibration.check(self)
        if self.strategy is not None:
            self.strategy.check(self)
        return self

    def _check_sweep_paths(self, sweep: SweepConfig) -> None:
        """Every swept path names a real field, and its extreme values are valid there."""
        base = self.model_dump(mode="json", exclude={"sweep"})
        for path in sweep.parameters:
            where = f"sweep.parameters.{path}"
            if path.partition(".")[0] not in ("model", "network"):
                raise ValueError(f"{where}: must start with 'model.' or 'network.'")
            if path in ("network.type", "network.path"):
                raise ValueError(f"{where}: cannot be swept")
            try:
                with_value(base, path, None)
            except ConfigError:
                raise ValueError(f"{where}: no such parameter") from None
            for value in sweep.checked_values(path):
                try:
                    validate_config(with_value(base, path, value))
                except ConfigError as exc:
                    raise ValueError(
                        f"{where}: {short_repr(value)} is not usable ({exc.lines[0]})"
                    ) from None

    def steps(self) -> int | None:
        """Steps per run: ``run.steps``, or the days from ``model.start`` to ``run.end``."""
        if self.run.end is not None and self.model.start is not None:
            return calendar.steps_until(self.model.start, self.run.end)
        return self.run.steps

    def for_agents(self, n_agents: int) -> tuple[Params, int | list[int]]:
        """The model and the initial holders of a run on ``n_agents`` agents: entry rates and
        holder counts given per agents (``model.entry_per_agents``, ``run.seeds_per_agents``)
        resolved for that network."""
        return self.model.for_agents(n_agents), self.run.holders(n_agents)

    def content_hash(self) -> str:
        """Hash of the resolved network section (see ``network_content_hash``)."""
        return network_content_hash(self.network)

    def with_overrides(self, point: dict[str, Any]) -> ExperimentConfig:
        """A copy with dotted-path values set (``{"model.delta": 0.1}``), validated again."""
        data = self.resolved()
        for path, value in point.items():
            data = with_value(data, path, value)
        return validate_config(data)

    def resolved(self) -> dict[str, Any]:
        """The config with every default filled in, as JSON-compatible data."""
        return self.model_dump(mode="json")


def with_value(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of nested ``data`` with ``data[a][b][c] = value`` for ``path = "a.b.c"``.

    A number in the path indexes a list (``model.campaigns.0.delta``). Raises ``ConfigError``
    when the path does not name an existing entry.
    """
    *parents, leaf = path.split(".")
    copy = dict(data)
    node: Any = copy
    for key in parents:
        index = _entry(node, key, path)
        child = node[index]
        if not isinstance(child, dict | list):
            raise ConfigError([f"{path}: no such parameter"])
        node[index] = dict(child) if isinstance(child, dict) else list(child)
        node = node[index]
    node[_entry(node, leaf, path)] = value
    return copy


def _entry(node: Any, key: str, path: str) -> str | int:
    """The dict key or list index that ``key`` names in ``node``."""
    if isinstance(node, dict) and key in node:
        return key
    if isinstance(node, list) and key.isdigit() and int(key) < len(node):
        return int(key)
    raise ConfigError([f"{path}: no such parameter"])


def validate_config(
    data: dict[str, Any], base_dir: str | Path | None = None, toml: bool = False
) -> ExperimentConfig:
    """Validate config data (as read from TOML); relative file paths are taken from ``base_dir``.

    Values of the wrong type are refused, not converted (see ``type_mismatches``); with
    ``toml`` (a file as written, where dates are TOML dates) a quoted date is refused too, while
    the JSON form of a config (``resolved``, which tasks carry) writes dates as text.
    """
    if not isinstance(data, dict):
        raise ConfigError([f"config: {short_repr(data)} is not a table"])
    if nesting_depth(data) > MAX_DEPTH:
        raise ConfigError([f"config: tables or arrays nested more than {MAX_DEPTH} deep"])
    try:
        config = ExperimentConfig.model_validate(data, context={"base_dir": base_dir})
    except ValidationError as exc:
        raise ConfigError(error_lines(exc, ExperimentConfig)) from None
    mismatches = type_mismatches(data, config, dates=toml)
    if mismatches:
        raise ConfigError(mismatches)
    return config
