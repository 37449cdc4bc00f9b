"""Experiment configs: TOML validated into pydantic models (the one place that knows the schema).

A config has the sections ``[network]`` (how to build or load the trust network), ``[model]``
(the fields of ``diffusion.Params``), ``[run]`` (steps, replicates, seeds), for parameter
sweeps ``[sweep]`` and ``[cluster]``, for fitting ``[calibration]`` (targets and priors,
``diffusion.calibration.priors``), and for a sensitivity analysis ``[sensitivity]``
(``diffusion.sensitivity.config``). ``load_config`` validates everything before any work is done
and raises ``ConfigError`` with one line per problem, e.g. ``model.beta: 1.7 is not in [0, 1]``.

Configs are strict: a quoted number (``beta = "0.1"``) or a boolean where a number belongs
(``steps = true``) is an error naming the field, not silently converted; TOML arrays are accepted
where a field holds a tuple. Every count and seed has an upper bound, so that no value can make a
run allocate without limit or overflow the 64-bit integers of the result files: seeds are below
2**63 (Parquet's int64), steps at most ``MAX_STEPS``, replicates and sweep points at most
``MAX_REPLICATES`` and ``MAX_POINTS``, agents below 2**31 (the kernels' int32 ids). Quoted
values are shortened and their control characters escaped (``diffusion._text``).
"""

from __future__ import annotations

import difflib
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
from diffusion._checks import seed_problem
from diffusion._paths import existing_file
from diffusion._strict import MAX_DEPTH, nesting_depth, type_mismatches
from diffusion._text import short_repr
from diffusion.calibration.priors import CalibrationConfig
from diffusion.errors import DiffusionError
from diffusion.network import MAX_AGENTS, Network, network_bytes
from diffusion.params import MAX_STEPS, Date, Params, Probability
from diffusion.population import Population
from diffusion.population.config import PopulationConfig
from diffusion.sensitivity.config import SensitivityConfig
from diffusion.strategy.config import StrategyConfig

MAX_REPLICATES = 10**6
"""Most replicates of a run or of a sweep point."""
MAX_POINTS = 10**6
"""Most points of a sweep design."""
POPULATION_BYTES_PER_AGENT = 190
"""Memory of a synthetic population per agent at the defaults (see ``diffusion.population``)."""

PositiveInt = Annotated[int, Field(ge=1)]
NonNegativeInt = Annotated[int, Field(ge=0)]
Seed = Annotated[int, Field(ge=0, lt=2**63)]
"""A random seed: stored as a 64-bit signed integer in the result files."""
AgentCount = Annotated[int, Field(ge=1, le=MAX_AGENTS)]
AgentId = Annotated[int, Field(ge=0, lt=MAX_AGENTS)]
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]
Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.@+-]{1,64}$")]
"""A queue or account name: goes into a batch script, so no spaces, quotes or newlines."""


class ConfigError(DiffusionError, ValueError):
    """A config that cannot be used; ``lines`` holds one ``section.field: problem`` per mistake."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        super().__init__("\n".join(lines))


class _Section(BaseModel):
    """Base of every config section: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


# ---------------------------------------------------------------------------------- [network]
class ErdosRenyiNetwork(_Section):
    """G(n, m) random graph with mean degree ``mean_degree`` (trust 1 on every tie)."""

    type: Literal["erdos_renyi"]
    n: AgentCount
    """Number of agents."""
    mean_degree: Annotated[float, Field(ge=0.0, allow_inf_nan=False)]
    """Mean ties per agent (at most ``n - 1``)."""
    seed: Seed = 0
    """Seed of the graph's random draws."""

    @model_validator(mode="after")
    def _degree_fits(self) -> ErdosRenyiNetwork:
        if self.mean_degree > self.n - 1:
            raise ValueError(f"mean_degree: {self.mean_degree} is not in [0, {self.n - 1}]")
        return self

    def size(self) -> int:
        return self.n

    def memory_bytes(self) -> int:
        return network_bytes(self.n, round(self.n * self.mean_degree / 2))

    def build(self) -> Network:
        return Network.erdos_renyi(self.n, self.mean_degree, seed=self.seed)


class BarabasiAlbertNetwork(_Section):
    """Preferential attachment graph: each new agent brings ``m`` ties."""

    type: Literal["barabasi_albert"]
    n: AgentCount
    """Number of agents."""
    m: AgentCount
    """Ties each new agent brings (mean degree about ``2 m``)."""
    seed: Seed = 0
    """Seed of the graph's random draws."""

    def size(self) -> int:
        return self.n

    def memory_bytes(self) -> int:
        return network_bytes(self.n, self.n * self.m)

    def build(self) -> Network:
        return Network.barabasi_albert(self.n, self.m, seed=self.seed)


class SBMNetwork(_Section):
    """Stochastic block model: blocks of ``block_sizes`` agents, tie odds ``pref_matrix``."""

    type: Literal["sbm"]
    block_sizes: Annotated[list[AgentCount], Field(min_length=1, max_length=10_000)]
    """Agents in each block."""
    pref_matrix: list[list[Probability]]
    """Probability of a tie between two agents of blocks ``i`` and ``j`` (square, symmetric)."""
    seed: Seed = 0
    """Seed of the graph's random draws."""

    @model_validator(mode="after")
    def _square_symmetric(self) -> SBMNetwork:
        if self.size() > MAX_AGENTS:
            raise ValueError(f"block_sizes: {self.size()} agents in all is more than {MAX_AGENTS}")
        k = len(self.block_sizes)
        matrix = np.asarray(self.pref_matrix, dtype=object)
        if matrix.shape != (k, k):
            raise ValueError(f"pref_matrix: must be {k} x {k} (one row and column per block)")
        if not np.array_equal(matrix, matrix.T):
            raise ValueError("pref_matrix: must be symmetric (ties are mutual)")
        return self

    def size(self) -> int:
        return sum(self.block_sizes)

    def memory_bytes(self) -> int:
        sizes = np.asarray(self.block_sizes, dtype=float)
        pairs = np.outer(sizes, sizes) * np.asarray(self.pref_matrix, dtype=float)
        return network_bytes(self.size(), int(pairs.sum() / 2))

    def build(self) -> Network:
        return Network.stochastic_block_model(self.block_sizes, self.pref_matrix, seed=self.seed)


class FileNetwork(_Section):
    """A network read from a file: a saved population (``.npz``, from ``diffusion network
    build``), GraphML (``.graphml``) or an edge list ``u v [trust]``.

    A relative ``path`` is taken relative to the folder of the config file.
    """

    type: Literal["file"]
    path: Path
    """The file (``.npz``, ``.graphml`` or an edge list); relative: from the config's folder."""

    @field_validator("path")
    @classmethod
    def _exists(cls, path: Path, info: ValidationInfo) -> Path:
        return existing_file(path, info)

    def size(self) -> int | None:
        return None

    def memory_bytes(self) -> int:
        return 0  # known once the file is read, which checks its sizes itself

    def build(self) -> Network | Population:
        try:
            return read_network(self.path)
        except (ValueError, OSError) as exc:
            reason = str(exc).removeprefix(f"{self.path}: ")
            raise ConfigError([f"network.path: cannot read {self.path}: {reason}"]) from None

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

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)
    type: Literal["population"]
    seed: Seed = 0
    """Seed of the population's random draws (the same seed builds the same country)."""

    def size(self) -> int:
        return self.n_agents

    def memory_bytes(self) -> int:
        return POPULATION_BYTES_PER_AGENT * self.n_agents

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

    steps: Annotated[int, Field(ge=1, le=MAX_STEPS)] | None = None
    """Steps per run; by default a run goes on until no holder remains."""
    end: Date | None = None
    """Last day of a run, instead of ``steps`` (needs the calendar: ``model.start``)."""
    replicates: Annotated[int, Field(ge=1, le=MAX_REPLICATES)] = 1
    """Independent runs of the scenario (each with its own random draws)."""
    seed: Seed = 0
    """Root seed: replicate ``i`` draws from ``SeedSequence(seed).spawn(replicates)[i]``."""
    seeds: Annotated[int, Field(ge=0, le=MAX_AGENTS)] | list[AgentId] = 1
    """Initial holders: a number drawn at random, or a list of distinct agent ids."""
    seeds_per_agents: Annotated[int, Field(ge=1, le=MAX_AGENTS)] | None = None
    """Unit of a number of ``seeds``: unset, initial holders in the whole network; a number,
    initial holders per that many agents (rounded to whole holders), so that a country built
    smaller or larger starts with the same share informed (as ``model.entry_per_agents``)."""

    @field_validator("seeds")
    @classmethod
    def _distinct(cls, seeds: int | list[int]) -> int | list[int]:
        if isinstance(seeds, list) and len(set(seeds)) != len(seeds):
            repeated = next(s for i, s in enumerate(seeds) if s in seeds[:i])
            raise ValueError(f"agent id {repeated} is listed twice (initial holders are distinct)")
        return seeds

    @model_validator(mode="after")
    def _counted(self) -> RunConfig:
        if self.seeds_per_agents is not None and isinstance(self.seeds, list):
            raise ValueError("seeds_per_agents: only for a number of seeds, not a list of agents")
        return self

    def holders(self, n_agents: int) -> int | list[int]:
        """The initial holders of a run on ``n_agents`` agents (``seeds`` resolved per agents)."""
        if self.seeds_per_agents is None or isinstance(self.seeds, list):
            return self.seeds
        return round(self.seeds * n_agents / self.seeds_per_agents)


# ---------------------------------------------------------------------------------- [sweep]
class Range(_Section):
    """A swept interval ``low``..``high``: a grid takes ``num`` evenly spaced values, random and
    Latin-hypercube designs draw inside it (see ``diffusion.sweep.designs``)."""

    low: FiniteFloat
    """Lowest value."""
    high: FiniteFloat
    """Highest value (at least ``low``)."""
    num: Annotated[int, Field(ge=1, le=MAX_POINTS)] | None = None
    """Grid designs: values from ``low`` to ``high`` inclusive, evenly spaced."""

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.high < self.low:
            raise ValueError(f"high ({self.high}) must be >= low ({self.low})")
        return self


class SweepConfig(_Section):
    """A parameter sweep: a design over dotted parameter paths, times replicates."""

    design: Literal["grid", "random", "lhs", "points"] = "grid"
    """``grid``: every combination; ``random``, ``lhs``: ``points`` draws; ``points``: the points
    listed, point ``i`` taking the ``i``-th value of every parameter's list."""
    points: Annotated[int, Field(ge=1, le=MAX_POINTS)] | None = None
    """Number of points of a random or Latin-hypercube design."""
    seed: Seed = 0
    """Seed of a random or Latin-hypercube design's draws (runs take theirs from ``run.seed``)."""
    replicates: Annotated[int, Field(ge=1, le=MAX_REPLICATES)]
    """Replicates per point (defaults to ``run.replicates``)."""
    time_series: bool = False
    """Also store the state counts per step of every run."""
    parameters: Annotated[
        dict[
            str,
            Annotated[
                list[bool | int | FiniteFloat | str], Field(min_length=1, max_length=MAX_POINTS)
            ]
            | Range,
        ],
        Field(min_length=1),
    ]
    """Dotted path -> a list of values, or a range (random/lhs draw lists by equal strata)."""

    @model_validator(mode="after")
    def _design_fits(self) -> SweepConfig:
        grid = self.design == "grid"
        drawn = self.design in ("random", "lhs")
        if not drawn and self.points is not None:
            raise ValueError(
                f"points: only for random and lhs designs (a {self.design} design has one point "
                f"per {'combination of values' if grid else 'listed value'})"
            )
        if drawn and self.points is None:
            raise ValueError(f"points: required for a {self.design} design")
        if grid:
            count = 1
            for spec in self.parameters.values():
                count *= (spec.num or 1) if isinstance(spec, Range) else len(spec)
            if count > MAX_POINTS:
                raise ValueError(f"parameters: the grid has {count} points, more than {MAX_POINTS}")
        lengths = {len(spec) for spec in self.parameters.values() if not isinstance(spec, Range)}
        for path, spec in self.parameters.items():
            if isinstance(spec, Range) and grid and spec.num is None:
                raise ValueError(f"parameters.{path}.num: required for a grid design")
            if isinstance(spec, Range) and drawn and spec.num is not None:
                raise ValueError(f"parameters.{path}.num: only for grid designs (use points)")
            if isinstance(spec, Range) and self.design == "points":
                raise ValueError(
                    f"parameters.{path}: a points design takes a list of values (one per point)"
                )
            if self.design == "points" and len(lengths) > 1:
                raise ValueError(
                    f"parameters.{path}: {len(spec)} values; a points design takes one value per "
                    "point from every list (all lists of one length)"
                )
        return self

    def checked_values(self, path: str) -> list[bool | int | float | str]:
        """The values of ``path`` that are checked against the scenario: a range's ends, every
        listed value, but for a points design only a numeric list's least and greatest (its
        points are each validated when the sweep is planned)."""
        spec = self.parameters[path]
        if isinstance(spec, Range):
            return [spec.low, spec.high]
        numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in spec)
        if self.design == "points" and numeric:
            return [min(spec), max(spec)]
        return list(spec)


# ---------------------------------------------------------------------------------- [cluster]
_WALLTIME = re.compile(r"^(\d+-)?\d{1,3}:\d{2}(:\d{2})?$")
TLS_FILES = ("tls_ca_file", "tls_cert", "tls_key")
"""The ``[cluster]`` fields that name the files of a ``--scheduler tls://`` connection."""


class ClusterConfig(_Section):
    """Where a sweep runs: local cores, or batch jobs on SLURM or PBS (dask-jobqueue)."""

    type: Literal["local", "slurm", "pbs"] = "local"
    """``local``: worker processes on this machine; ``slurm``, ``pbs``: batch jobs."""
    workers: Annotated[int, Field(ge=1, le=1024)] | None = None
    """Local workers (default: one per core)."""
    queue: Name | None = None
    """Batch jobs: the queue (partition) to submit to; default: the scheduler's."""
    cores: Annotated[int, Field(ge=1, le=1024)] = 1
    """Cores per batch job."""
    memory: Annotated[str, Field(max_length=32)] | None = None
    """Memory per batch job, e.g. ``"4GB"``."""
    walltime: Annotated[str, Field(max_length=32)] = "01:00:00"
    """Batch jobs: longest run time of a job, ``HH:MM:SS`` or ``D-HH:MM:SS``."""
    jobs: Annotated[int, Field(ge=1, le=10_000)] = 1
    """Batch jobs to start."""
    account: Name | None = None
    """Batch jobs: the account charged; default: the scheduler's."""
    security: bool = True
    """Batch jobs: TLS with mutual authentication between the sweep, its scheduler and the jobs'
    workers, with credentials made for each sweep. ``false`` lets anyone who can reach the
    scheduler's port run code as you: only on a network nobody else can reach."""
    shared_temp_directory: Path | None = None
    """Batch jobs with ``security``: a folder that the jobs' nodes see too, where each sweep writes
    its credentials (owner-only) and removes them at its end. Default: the home folder."""
    tls_ca_file: Path | None = None
    """``--scheduler tls://``: the CA certificate (PEM) that the scheduler's certificate is checked
    against."""
    tls_cert: Path | None = None
    """``--scheduler tls://``: this client's certificate (PEM), shown to the scheduler."""
    tls_key: Path | None = None
    """``--scheduler tls://``: the private key (PEM, unencrypted) of ``tls_cert``; readable by its
    owner only."""

    @field_validator("shared_temp_directory", "tls_ca_file", "tls_cert", "tls_key")
    @classmethod
    def _from_config_folder(cls, path: Path | None, info: ValidationInfo) -> Path | None:
        """A relative path is taken from the config's folder, ``~`` is the home folder. The files
        are checked when a sweep uses them (``diffusion.sweep.security``), on the machine that
        runs it, not here: a config is also validated again where it is not used."""
        if path is None:
            return None
        try:
            path = path.expanduser()
        except RuntimeError:  # ~name of no known user
            raise ValueError(f"{short_repr(str(path))}: no such user's home folder") from None
        base = (info.context or {}).get("base_dir")
        return path if path.is_absolute() or base is None else (Path(base) / path).resolve()

    @field_validator("memory")
    @classmethod
    def _memory(cls, memory: str | None) -> str | None:
        from dask.utils import parse_bytes

        if memory is not None:
            try:
                size = parse_bytes(memory)
            except (ValueError, TypeError) as exc:
                raise ValueError(f"{short_repr(memory)} is not a memory size like '4GB'") from exc
            if not 2**20 <= size < 2**60:
                raise ValueError(f"{short_repr(memory)} is not a memory size from 1MB to 1EB")
        return memory

    @field_validator("walltime")
    @classmethod
    def _walltime(cls, walltime: str) -> str:
        if not _WALLTIME.match(walltime):
            raise ValueError(
                f"{short_repr(walltime)} is not a walltime like '01:30:00' or '1-00:00:00'"
            )
        return walltime

    @model_validator(mode="after")
    def _consistent(self) -> ClusterConfig:
        """A batch cluster has a memory size; the TLS files are named all three or none."""
        if self.type != "local" and self.memory is None:
            raise ValueError(f"memory: required for a {self.type} cluster")
        given = [name for name in TLS_FILES if getattr(self, name) is not None]
        if given and len(given) < len(TLS_FILES):
            missing = next(name for name in TLS_FILES if name not in given)
            raise ValueError(
                f"{missing}: required with {given[0]} (a tls:// scheduler needs "
                f"{', '.join(TLS_FILES[:-1])} and {TLS_FILES[-1]})"
            )
        return self


# ---------------------------------------------------------------------------------- whole file
class ExperimentConfig(_Section):
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


# ---------------------------------------------------------------------------------- loading
def load_config(path: str | Path) -> ExperimentConfig:
    """Read and validate a TOML experiment config; raise ``ConfigError`` on any mistake."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise ConfigError([f"{path}: more than {MAX_CONFIG_BYTES} bytes (not a config)"])
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read ({exc.strerror})"]) from None
    except UnicodeDecodeError:
        raise ConfigError([f"{path}: not a text file (not valid UTF-8)"]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: not valid TOML: {_toml_reason(exc)}"]) from None
    except RecursionError:
        raise ConfigError([f"{path}: not valid TOML: tables or arrays nested too deeply"]) from None
    return validate_config(data, base_dir=path.parent, toml=True)


MAX_CONFIG_BYTES = 1 << 20
"""Largest config file read (a config is a few kilobytes)."""


def _toml_reason(exc: tomllib.TOMLDecodeError) -> str:
    """tomllib's message ("Invalid value (at line 3, column 8)"): it quotes no content."""
    return short_repr(str(exc), 200).strip("'\"")


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
        raise ConfigError(error_lines(exc)) from None
    mismatches = type_mismatches(data, config, dates=toml)
    if mismatches:
        raise ConfigError(mismatches)
    return config


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
    if kind == "extra_forbidden":
        return "unknown key" + _did_you_mean(error["loc"])
    if kind in simple:
        return simple[kind].format(_Quoted(value))
    if kind == "too_short":
        return f"must have at least {ctx['min_length']} item(s)"
    if kind == "literal_error":
        return f"{short_repr(value)} is not one of {ctx['expected']}"
    if kind == "union_tag_invalid":
        loc.append("type")
        return f"{short_repr(ctx['tag'])} is not one of {ctx['expected_tags']}"
    if kind == "union_tag_not_found":
        loc.append("type")
        return f"required, one of {', '.join(repr(t) for t in NETWORK_TYPES)}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return _range_problem(error["loc"], value, ctx)
    if kind == "value_error":  # from a validator; "field: problem" names a sub-field
        problem = short_repr(str(ctx.get("error", error["msg"])), 300)[1:-1]
        field, sep, rest = problem.partition(": ")
        if sep and re.fullmatch(r"[\w.]+", field):
            loc.append(field)
            return rest
        return problem
    return f"{short_repr(value)}: {short_repr(error['msg'], 200)[1:-1]}"


class _Quoted:
    """Formats as ``short_repr`` of the value, for the ``{!r}`` templates above."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        return short_repr(self.value)


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
        return f"{short_repr(value)} is not in {low[0]}{_num(low[1])}, {_num(high[1])}{high[0]}"
    op, bound = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}, next(iter(ctx.items()))
    return f"{short_repr(value)} must be {op[bound[0]]} {_num(bound[1])}"


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


def _did_you_mean(loc: tuple) -> str:
    """`` (did you mean 'gamma'?)`` for a misspelt key at ``loc``, when one known key is close."""
    annotation: Any = ExperimentConfig
    for part in loc[:-1]:
        if isinstance(part, int):
            args = typing.get_args(_strip_annotated(annotation))
            annotation = args[0] if args else None
            continue
        if typing.get_origin(_strip_annotated(annotation)) is dict:
            annotation = typing.get_args(_strip_annotated(annotation))[1]
            continue
        members = _union_members(annotation)
        tagged = [m for m in members if part in typing.get_args(_type_field(m))]
        owners = tagged or [m for m in members if part in m.model_fields]
        if not owners:
            return ""
        annotation = owners[0] if tagged else owners[0].model_fields[part].annotation
    known = sorted({name for m in _union_members(annotation) for name in m.model_fields})
    close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


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
