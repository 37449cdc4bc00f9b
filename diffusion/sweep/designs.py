"""Sweep designs: the parameter points of a grid, a random, a Latin-hypercube or a listed design.

A design maps dotted parameter paths (``"model.delta"``, ``"network.travel"``) to values.
Each parameter is given either as a list of values or as a range ``{low, high, num}``:

* ``grid``: every combination; a range gives ``num`` evenly spaced values (``numpy.linspace``);
  the last parameter varies fastest.
* ``random``: ``points`` independent draws, uniform in each range, uniform over each list.
* ``lhs``: a Latin hypercube of ``points`` (``scipy.stats.qmc.LatinHypercube``): each range is cut
  into ``points`` equal strata and every stratum is used once; lists are split into equal strata.
* ``points``: the points listed, one value per point in each parameter's list (all lists of
  one length): point ``i`` takes the ``i``-th value of every list. Designs made elsewhere (e.g.
  the samples of a sensitivity analysis, ``diffusion.sensitivity``) run as sweeps this way.

Ranges always give floats; list a parameter's values to sweep an integer or a string. Values of a
parameter share one type (integers mixed with floats become floats), so every point file of a
sweep has the same Parquet schema. Random and LHS designs draw from ``SeedSequence(seed)``
itself; the runs draw from its children ``spawn_key=(replicate,)`` (see ``diffusion.sweep.run``).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

DesignKind = Literal["grid", "random", "lhs", "points"]
DESIGNS: tuple[str, ...] = ("grid", "random", "lhs", "points")
Value = bool | int | float | str


@dataclass(frozen=True)
class Design:
    """The points of a sweep: ``points[i]`` maps each parameter name to its value at point ``i``."""

    kind: str
    names: tuple[str, ...]
    points: tuple[dict[str, Value], ...]

    def __len__(self) -> int:
        return len(self.points)

    def to_json(self) -> dict:
        """A JSON-ready form for the sweep manifest."""
        return {"kind": self.kind, "names": list(self.names), "points": list(self.points)}


def make_design(
    kind: str,
    parameters: Mapping[str, Sequence[Value] | Mapping[str, float]],
    points: int | None = None,
    seed: int | None = None,
) -> Design:
    """The points of a ``grid``, ``random``, ``lhs`` or ``points`` design over ``parameters``."""
    if kind not in DESIGNS:
        raise ValueError(f"sweep.design: {kind!r} is not one of {', '.join(DESIGNS)}")
    if not parameters:
        raise ValueError("sweep.parameters: give at least one parameter to sweep")
    axes = {name: _axis(name, spec, kind) for name, spec in parameters.items()}
    names = tuple(axes)
    if kind in ("grid", "points"):
        if points is not None:
            raise ValueError(
                f"sweep.points: only for random and lhs designs (a {kind} design has one "
                f"point per {'combination of values' if kind == 'grid' else 'listed value'})"
            )
        if kind == "grid":
            rows = list(itertools.product(*(axes[name].grid() for name in names)))
        else:
            columns = [_listed(name, axes[name], names[0], axes) for name in names]
            rows = list(zip(*columns, strict=True))
    else:
        if points is None or int(points) != points or points < 1:
            raise ValueError(f"sweep.points: {points} must be an integer >= 1 for a {kind} design")
        if seed is None:
            raise ValueError(f"sweep.seed: required for a {kind} design")
        generator = np.random.default_rng(np.random.SeedSequence(seed))
        if kind == "random":
            unit = generator.random((int(points), len(names)))
        else:
            from scipy.stats import qmc  # here: scipy.stats takes 0.3 s to import

            unit = qmc.LatinHypercube(d=len(names), rng=generator).random(int(points))
        rows = [tuple(axes[name].at(u) for name, u in zip(names, row, strict=True)) for row in unit]
    return Design(
        kind=kind,
        names=names,
        points=tuple(dict(zip(names, row, strict=True)) for row in rows),
    )


@dataclass(frozen=True)
class _Axis:
    """One swept parameter: a list of values, or a float range ``[low, high]``."""

    values: tuple[Value, ...] | None = None
    low: float = 0.0
    high: float = 0.0
    num: int | None = None

    def grid(self) -> tuple[Value, ...]:
        if self.values is not None:
            return self.values
        return tuple(float(x) for x in np.linspace(self.low, self.high, self.num))

    def at(self, u: float) -> Value:
        """The value at the unit-interval coordinate ``u`` (a draw or an LHS coordinate)."""
        if self.values is not None:
            return self.values[min(int(u * len(self.values)), len(self.values) - 1)]
        return float(self.low + u * (self.high - self.low))


def _listed(name: str, axis: _Axis, first: str, axes: Mapping[str, _Axis]) -> tuple[Value, ...]:
    """The values of a ``points`` design's parameter: as many as the first parameter's."""
    expected = len(axes[first].values)
    if len(axis.values) != expected:
        raise ValueError(
            f"sweep.parameters.{name}: {len(axis.values)} values, but {first} has {expected} "
            "(a points design takes one value per point from every list)"
        )
    return axis.values


def _axis(name: str, spec: Sequence[Value] | Mapping[str, float], kind: str) -> _Axis:
    field = f"sweep.parameters.{name}"
    if isinstance(spec, Mapping):
        if kind == "points":
            raise ValueError(f"{field}: a points design takes a list of values (one per point)")
        return _range(field, spec, kind)
    if isinstance(spec, str | bytes) or not isinstance(spec, Sequence) or len(spec) == 0:
        raise ValueError(f"{field}: give a non-empty list of values or a table {{low, high, num}}")
    return _Axis(values=_same_type(field, spec))


def _range(field: str, spec: Mapping[str, float], kind: str) -> _Axis:
    unknown = set(spec) - {"low", "high", "num"}
    if unknown:
        raise ValueError(f"{field}: unknown key {sorted(unknown)[0]!r} (allowed: low, high, num)")
    for key in ("low", "high"):
        if key not in spec:
            raise ValueError(f"{field}.{key}: required in a range")
        if isinstance(spec[key], bool) or not isinstance(spec[key], int | float):
            raise ValueError(f"{field}.{key}: {spec[key]!r} is not a number")
    low, high = float(spec["low"]), float(spec["high"])
    if high < low:
        raise ValueError(f"{field}.high: {high} must be >= low ({low})")
    num = spec.get("num")
    if kind == "grid":
        if num is None:
            raise ValueError(f"{field}.num: required for a grid design (values in the range)")
        if isinstance(num, bool) or int(num) != num or num < 1:
            raise ValueError(f"{field}.num: {num} must be an integer >= 1")
        num = int(num)
    elif num is not None:
        raise ValueError(f"{field}.num: only for grid designs (use sweep.points for {kind})")
    return _Axis(low=low, high=high, num=num)


def _same_type(field: str, values: Sequence[Value]) -> tuple[Value, ...]:
    """The values with one shared type: bool, int, float (ints mixed with floats) or str."""
    if all(isinstance(v, bool) for v in values):
        return tuple(values)
    if all(isinstance(v, str) for v in values):
        return tuple(values)
    if not any(isinstance(v, bool) for v in values) and all(
        isinstance(v, int | float) for v in values
    ):
        if all(isinstance(v, int) for v in values):
            return tuple(int(v) for v in values)
        return tuple(float(v) for v in values)
    raise ValueError(f"{field}: values must be all numbers, all strings or all booleans")
