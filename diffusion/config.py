"""Experiment configs: TOML validated into pydantic models (the one place that knows the schema).

A config has the sections ``[network]`` (how to build or load the trust network), ``[model]``
(the fields of ``diffusion.Params``), ``[run]`` (steps, replicates, seeds), for parameter
sweeps ``[sweep]`` and ``[cluster]``, and for fitting ``[calibration]`` (targets and priors,
``diffusion.calibration.priors``). ``load_config`` validates everything before any work is done
and raises ``ConfigError`` with one line per problem, e.g. ``model.beta: 1.7 is not in [0, 1]``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import tomllib
import types
import typing
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from annotated_types import Ge, Gt, Le, Lt
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from diffusion import calendar
from diffusion.calibration.priors import CalibrationConfig
from diffusion.network import Network
from diffusion.params import MAX_STEPS, Params, Probability
from diffusion.population import Population
from diffusion.population_config import PopulationConfig

PositiveInt = Annotated[int, Field(ge=1)]
NonNegativeInt = Annotated[int, Field(ge=0)]


class ConfigError(ValueError):
    """A config that cannot be used; ``lines`` holds one ``section.field: problem`` per mistake."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        super().__init__("\n".join(lines))


class _Section(BaseModel):
    """Base of every config section: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# ---------------------------------------------------------------------------------- [network]
class ErdosRenyiNetwork(_Section):
    """G(n, m) random graph with mean degree ``mean_degree`` (trust 1 on every tie)."""

    type: Literal["erdos_renyi"]
    n: PositiveInt
    mean_degree: Annotated[float, Field(ge=0.0)]
    seed: NonNegativeInt = 0

    @model_validator(mode="after")
    def _degree_fits(self) -> ErdosRenyiNetwork:
        if self.mean_degree > self.n - 1:
            raise ValueError(f"mean_degree: {self.mean_degree} is not in [0, {self.n - 1}]")
        return self

    def size(self) -> int:
        return self.n

    def build(self) -> Network:
        return Network.erdos_renyi(self.n, self.mean_degree, seed=self.seed)


class BarabasiAlbertNetwork(_Section):
    """Preferential attachment graph: each new agent brings ``m`` ties."""

    type: Literal["barabasi_albert"]
    n: PositiveInt
    m: PositiveInt
    seed: NonNegativeInt = 0

    def size(self) -> int:
        return self.n

    def build(self) -> Network:
        return Network.barabasi_albert(self.n, self.m, seed=self.seed)


class SBMNetwork(_Section):
    """Stochastic block model: blocks of ``block_sizes`` agents, tie odds ``pref_matrix``."""

    type: Literal["sbm"]
    block_sizes: Annotated[list[PositiveInt], Field(min_length=1)]
    pref_matrix: list[list[Probability]]
    seed: NonNegativeInt = 0

    @model_validator(mode="after")
    def _square_symmetric(self) -> SBMNetwork:
        k = len(self.block_sizes)
        matrix = np.asarray(self.pref_matrix, dtype=object)
        if matrix.shape != (k, k):
            raise ValueError(f"pref_matrix: must be {k} x {k} (one row and column per block)")
        if not np.array_equal(matrix, matrix.T):
            raise ValueError("pref_matrix: must be symmetric (ties are mutual)")
        return self

    def size(self) -> int:
        return sum(self.block_sizes)

    def build(self) -> Network:
        return Network.stochastic_block_model(self.block_sizes, self.pref_matrix, seed=self.seed)


class FileNetwork(_Section):
    """A network read from a file: a saved population (``.npz``, from ``diffusion network
    build``), GraphML (``.graphml``) or an edge list ``u v [trust]``.

    A relative ``path`` is taken relative to the folder of the config file.
    """

    type: Literal["file"]
    path: Path

    @field_validator("path")
    @classmethod
    def _exists(cls, path: Path, info: ValidationInfo) -> Path:
        base = (info.context or {}).get("base_dir")
        resolved = path if path.is_absolute() or base is None else Path(base) / path
        if not resolved.is_file():
            raise ValueError(f"no such file: {path}")
        return resolved.resolve()

    def size(self) -> int | None:
        return None

    def build(self) -> Network | Population:
        try:
            return read_network(self.path)
        except (ValueError, OSError) as exc:
            raise ConfigError([f"network.path: cannot read {self.path}: {exc}"]) from exc

    def _hash_payload(self) -> dict[str, Any]:
        """The file's content, not its location, identifies the network."""
        digest = hashlib.sha256()
        with open(self.path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        return {"type": self.type, "suffix": self.path.suffix.lower(), "sha256": digest.hexdigest()}


def read_network(path: str | Path) -> Network | Population:
    """A population saved as ``.npz``, else a network file (GraphML or edge list)."""
    if Path(path).suffix.lower() == ".npz":
        return Population.load(path)
    return Network.read(path)


class PopulationNetwork(PopulationConfig):
    """A synthetic country (regions, households, circles, traders, informants) and its seed."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    type: Literal["population"]
    seed: NonNegativeInt = 0

    def size(self) -> int:
        return self.n_agents

    def build(self) -> Population:
        options = self.model_dump(exclude={"type", "seed"})
        return PopulationConfig.model_validate(options).build(seed=self.seed)


NetworkConfig = Annotated[
    PopulationNetwork | ErdosRenyiNetwork | BarabasiAlbertNetwork | SBMNetwork | FileNetwork,
    Field(discriminator="type"),
]
NETWORK_TYPES = ("population", "erdos_renyi", "barabasi_albert", "sbm", "file")


def network_content_hash(network: BaseModel) -> str:
    """A stable hash of a resolved network section (equal hashes: the same network is built)."""
    payload = getattr(network, "_hash_payload", None)
    data = payload() if payload else network.model_dump(mode="json")
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# ---------------------------------------------------------------------------------- [run]
class RunConfig(_Section):
    """How to run a scenario: steps, replicates, the root seed and the initial holders."""

    steps: PositiveInt | None = None
    """Steps per run; by default a run goes on until no holder remains."""
    end: dt.date | None = None
    """Last day of a run, instead of ``steps`` (needs the calendar: ``model.start``)."""
    replicates: PositiveInt = 1
    seed: NonNegativeInt = 0
    """Root seed: replicate ``i`` draws from ``SeedSequence(seed).spawn(replicates)[i]``."""
    seeds: NonNegativeInt | list[NonNegativeInt] = 1
    """Initial holders: a number drawn at random, or a list of agent ids."""


# ---------------------------------------------------------------------------------- [sweep]
class Range(_Section):
    """A swept interval ``low``..``high``: a grid takes ``num`` evenly spaced values, random and
    Latin-hypercube designs draw inside it (see ``diffusion.designs``)."""

    low: float
    high: float
    num: PositiveInt | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.high < self.low:
            raise ValueError(f"high ({self.high}) must be >= low ({self.low})")
        return self


class SweepConfig(_Section):
    """A parameter sweep: a design over dotted parameter paths, times replicates."""

    design: Literal["grid", "random", "lhs"] = "grid"
    points: PositiveInt | None = None
    """Number of points of a random or Latin-hypercube design."""
    seed: NonNegativeInt = 0
    replicates: PositiveInt
    """Replicates per point (defaults to ``run.replicates``)."""
    time_series: bool = False
    """Also store the state counts per step of every run."""
    parameters: Annotated[
        dict[str, Annotated[list[bool | int | float | str], Field(min_length=1)] | Range],
        Field(min_length=1),
    ]
    """Dotted path -> a list of values, or a range (random/lhs draw lists by equal strata)."""

    @model_validator(mode="after")
    def _design_fits(self) -> SweepConfig:
        grid = self.design == "grid"
        if grid and self.points is not None:
            raise ValueError(
                "points: only for random and lhs designs (a grid has one point per "
                "combination of values)"
            )
        if not grid and self.points is None:
            raise ValueError(f"points: required for a {self.design} design")
        for path, spec in self.parameters.items():
            if isinstance(spec, Range) and grid and spec.num is None:
                raise ValueError(f"parameters.{path}.num: required for a grid design")
            if isinstance(spec, Range) and not grid and spec.num is not None:
                raise ValueError(f"parameters.{path}.num: only for grid designs (use points)")
        return self


# ---------------------------------------------------------------------------------- [cluster]
_WALLTIME = re.compile(r"^(\d+-)?\d{1,3}:\d{2}(:\d{2})?$")


class ClusterConfig(_Section):
    """Where a sweep runs: local cores, or batch jobs on SLURM or PBS (dask-jobqueue)."""

    type: Literal["local", "slurm", "pbs"] = "local"
    workers: PositiveInt | None = None
    """Local workers (default: one per core)."""
    queue: str | None = None
    cores: PositiveInt = 1
    """Cores per batch job."""
    memory: str | None = None
    """Memory per batch job, e.g. ``"4GB"``."""
    walltime: str = "01:00:00"
    jobs: PositiveInt = 1
    """Batch jobs to start."""
    account: str | None = None

    @field_validator("memory")
    @classmethod
    def _memory(cls, memory: str | None) -> str | None:
        from dask.utils import parse_bytes

        if memory is not None:
            try:
                parse_bytes(memory)
            except ValueError as exc:
                raise ValueError(f"{memory!r} is not a memory size like '4GB'") from exc
        return memory

    @field_validator("walltime")
    @classmethod
    def _walltime(cls, walltime: str) -> str:
        if not _WALLTIME.match(walltime):
            raise ValueError(f"{walltime!r} is not a walltime like '01:30:00' or '1-00:00:00'")
        return walltime

    @model_validator(mode="after")
    def _batch_needs_memory(self) -> ClusterConfig:
        if self.type != "local" and self.memory is None:
            raise ValueError(f"memory: required for a {self.type} cluster")
        return self


# ---------------------------------------------------------------------------------- whole file
class ExperimentConfig(_Section):
    """One experiment: network, model parameters, run settings, and optionally a sweep."""

    network: NetworkConfig
    model: Params
    run: RunConfig = RunConfig()
    sweep: SweepConfig | None = None
    cluster: ClusterConfig = ClusterConfig()
    calibration: CalibrationConfig | None = None
    """Targets and priors for fitting the scenario (``diffusion.calibration``)."""

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
        seeds = self.run.seeds
        if n is not None and isinstance(seeds, int) and seeds > n:
            raise ValueError(f"run.seeds: {seeds} is not in [0, {n}] (the agents)")
        if n is not None and isinstance(seeds, list) and seeds and max(seeds) >= n:
            raise ValueError(f"run.seeds: agent id {max(seeds)} is not in [0, {n - 1}]")
        if self.sweep is not None:
            self._check_sweep_paths(self.sweep)
        if self.calibration is not None:
            self.calibration.check(self)
        return self

    def _check_sweep_paths(self, sweep: SweepConfig) -> None:
        """Every swept path names a real field, and its extreme values are valid there."""
        base = self.model_dump(mode="json", exclude={"sweep"})
        for path, spec in sweep.parameters.items():
            where = f"sweep.parameters.{path}"
            if path.partition(".")[0] not in ("model", "network"):
                raise ValueError(f"{where}: must start with 'model.' or 'network.'")
            if path in ("network.type", "network.path"):
                raise ValueError(f"{where}: cannot be swept")
            try:
                with_value(base, path, None)
            except ConfigError:
                raise ValueError(f"{where}: no such parameter") from None
            for value in [spec.low, spec.high] if isinstance(spec, Range) else spec:
                try:
                    validate_config(with_value(base, path, value))
                except ConfigError as exc:
                    raise ValueError(f"{where}: {value!r} is not usable ({exc.lines[0]})") from None

    def steps(self) -> int | None:
        """Steps per run: ``run.steps``, or the days from ``model.start`` to ``run.end``."""
        if self.run.end is not None and self.model.start is not None:
            return calendar.steps_until(self.model.start, self.run.end)
        return self.run.steps

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


# ---------------------------------------------------------------------------------- loading
def load_config(path: str | Path) -> ExperimentConfig:
    """Read and validate a TOML experiment config; raise ``ConfigError`` on any mistake."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read ({exc.strerror})"]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: not valid TOML: {exc}"]) from None
    return validate_config(data, base_dir=path.parent)


def validate_config(data: dict[str, Any], base_dir: str | Path | None = None) -> ExperimentConfig:
    """Validate config data (as read from TOML); relative file paths are taken from ``base_dir``."""
    try:
        return ExperimentConfig.model_validate(data, context={"base_dir": base_dir})
    except ValidationError as exc:
        raise ConfigError(error_lines(exc)) from None


def error_lines(exc: ValidationError) -> list[str]:
    """One ``dotted.field: problem`` line per pydantic error, in the words a user needs.

    Union members show up in pydantic's locations (``run.seeds.int``); they are dropped, and of
    the errors a union gives for one field the most specific one is kept.
    """
    found: dict[tuple[str, ...], list[tuple[str, bool]]] = {}
    for error in exc.errors():
        loc = [str(part) for part in error["loc"] if not _is_union_tag(part)]
        if len(loc) >= 2 and loc[0] == "network" and loc[1] in NETWORK_TYPES:
            loc.pop(1)  # the union tag: the user wrote [network] type = ..., not a subsection
        problem = _problem(error, loc)
        found.setdefault(tuple(loc), []).append((problem, error["type"] in _TYPE_ERRORS))
    lines = []
    for loc, problems in found.items():
        specific = [text for text, is_type in problems if not is_type]
        deeper = any(other[: len(loc)] == loc and len(other) > len(loc) for other in found)
        if specific or not deeper:
            lines.append(f"{'.'.join(loc) or 'config'}: {(specific or [problems[0][0]])[0]}")
    return lines


_TYPE_ERRORS = {
    "int_parsing", "int_type", "int_from_float", "float_parsing", "float_type", "bool_parsing",
    "bool_type", "string_type", "path_type", "list_type", "tuple_type", "dict_type", "model_type",
    "model_attributes_type",
}  # fmt: skip


def _is_union_tag(part: Any) -> bool:
    """True for the names pydantic gives union members in a location (``int``, ``list[...]``)."""
    return isinstance(part, str) and bool(
        re.fullmatch(r"int|float|bool|str|Range|(list|dict|tuple|constrained-|function-).*", part)
    )


def _problem(error: dict[str, Any], loc: list[str]) -> str:
    """The text after ``field:`` for one pydantic error (may extend ``loc`` with a sub-field)."""
    kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
    simple = {
        "extra_forbidden": "unknown key",
        "missing": "required but missing",
        "int_parsing": "{!r} is not an integer",
        "int_type": "{!r} is not an integer",
        "int_from_float": "{!r} is not an integer",
        "float_parsing": "{!r} is not a number",
        "float_type": "{!r} is not a number",
        "bool_parsing": "{!r} is not true or false",
        "bool_type": "{!r} is not true or false",
        "string_type": "{!r} is not a string",
        "path_type": "{!r} is not a string",
        "list_type": "{!r} is not a list",
        "tuple_type": "{!r} is not a list",
        "dict_type": "{!r} is not a table",
        "model_type": "{!r} is not a table",
        "model_attributes_type": "{!r} is not a table",
    }
    if kind in simple:
        return simple[kind].format(value)
    if kind == "too_short":
        return f"must have at least {ctx['min_length']} item(s)"
    if kind == "literal_error":
        return f"{value!r} is not one of {ctx['expected']}"
    if kind == "union_tag_invalid":
        loc.append("type")
        return f"{ctx['tag']!r} is not one of {ctx['expected_tags']}"
    if kind == "union_tag_not_found":
        loc.append("type")
        return f"required, one of {', '.join(repr(t) for t in NETWORK_TYPES)}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return _range_problem(error["loc"], value, ctx)
    if kind == "value_error":  # from a validator; "field: problem" names a sub-field
        problem = str(ctx.get("error", error["msg"]))
        field, sep, rest = problem.partition(": ")
        if sep and re.fullmatch(r"[\w.]+", field):
            loc.append(field)
            return rest
        return problem
    return f"{value!r}: {error['msg']}"


def _range_problem(loc: tuple, value: Any, ctx: dict[str, Any]) -> str:
    """``1.7 is not in [0, 1]`` when the field has two bounds, else ``-3 must be >= 1``."""
    bounds = dict(ctx)
    for constraint in _constraints(loc):
        for name in ("ge", "gt", "le", "lt"):
            if isinstance(constraint, Ge | Gt | Le | Lt) and hasattr(constraint, name):
                bounds.setdefault(name, getattr(constraint, name))
    low = next(((b, bounds[k]) for k, b in (("ge", "["), ("gt", "(")) if k in bounds), None)
    high = next(((b, bounds[k]) for k, b in (("le", "]"), ("lt", ")")) if k in bounds), None)
    if low and high:
        return f"{value!r} is not in {low[0]}{_num(low[1])}, {_num(high[1])}{high[0]}"
    op, bound = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}, next(iter(ctx.items()))
    return f"{value!r} must be {op[bound[0]]} {_num(bound[1])}"


def _num(x: float) -> int | float:
    return int(x) if isinstance(x, float) and x.is_integer() else x


def _constraints(loc: tuple) -> list[Any]:
    """The annotated-types constraints of the value at an error location (models, lists, unions)."""
    annotation: Any = ExperimentConfig
    found: list[Any] = []
    for part in loc:
        if isinstance(part, int):
            args = typing.get_args(_strip_annotated(annotation))
            annotation, found = (args[0] if args else None), []
            continue
        if typing.get_origin(_strip_annotated(annotation)) is dict:  # a key of a table
            annotation, found = typing.get_args(_strip_annotated(annotation))[1], []
            continue
        members = _union_members(annotation)
        tagged = [m for m in members if part in typing.get_args(_type_field(m))]
        if tagged:  # a discriminated-union tag in the location
            annotation = tagged[0]
            continue
        owners = [m for m in members if part in m.model_fields]
        if not owners:
            return []
        info = owners[0].model_fields[part]
        annotation, found = info.annotation, list(info.metadata)
    if typing.get_origin(annotation) is Annotated:
        for extra in typing.get_args(annotation)[1:]:
            found.extend(getattr(extra, "metadata", [extra]))
    return found


def _strip_annotated(annotation: Any) -> Any:
    """``X`` for ``Annotated[X, ...]``, else the annotation itself."""
    is_annotated = typing.get_origin(annotation) is Annotated
    return typing.get_args(annotation)[0] if is_annotated else annotation


def _union_members(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models in ``annotation`` (itself, or the members of a union)."""
    annotation = _strip_annotated(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        candidates = typing.get_args(annotation)
    else:
        candidates = (annotation,)
    return [c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)]


def _type_field(model: type[BaseModel]) -> Any:
    field = model.model_fields.get("type")
    return field.annotation if field is not None else None
