"""The ``[sweep]`` and ``[cluster]`` sections: a design over parameter paths, and where it runs.

``[cluster]`` says where the runs of a sweep, a calibration, a sensitivity analysis or a strategy
comparison go: local worker processes, or batch jobs on SLURM or PBS (dask-jobqueue), with the
TLS files of a ``--scheduler tls://`` connection.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from diffusion._fields import (
    MAX_POINTS,
    MAX_REPLICATES,
    FiniteFloat,
    Name,
    Section,
    Seed,
)
from diffusion._text import short_repr


class Range(Section):
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


class SweepConfig(Section):
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


_WALLTIME = re.compile(r"^(\d+-)?\d{1,3}:\d{2}(:\d{2})?$")
TLS_FILES = ("tls_ca_file", "tls_cert", "tls_key")
"""The ``[cluster]`` fields that name the files of a ``--scheduler tls://`` connection."""


class ClusterConfig(Section):
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
