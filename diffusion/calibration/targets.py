"""Calibration targets: published survey figures, read from TOML and checked before any run.

A targets file (``experiments/calibration/targets.toml``) has ``[weightings.<name>]`` tables
(province weights of samples, ``diffusion.calibration.weights``) and ``[[targets]]`` rows: what
was measured, the period, the value in [0, 1], the sample size, the source, the model-side
statistic (``diffusion.calibration.statistics``) or, for a figure the model cannot compute,
why not (``unfitted``), and the weighting of the sample. ``load_targets`` rejects a bad file
with one line per problem naming the row, e.g. ``targets[3].value: 1.4 is not in [0, 1]``;
``check_calendar`` rejects fitted targets whose period lies outside a run.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from diffusion._strict import MAX_DEPTH, nesting_depth, read_toml, type_mismatches
from diffusion.calibration.statistics import (
    STATISTICS,
    knew_punished,
    seen,
    watched,
    witnessed_punished,
)
from diffusion.calibration.weights import Weighting, check_weighting, province_weights
from diffusion.errors import DiffusionError
from diffusion.results import Result
from diffusion.world import World

Year = Annotated[int, Field(ge=1900, le=2100)]


class TargetError(DiffusionError, ValueError):
    """A targets file that cannot be used; ``lines`` holds one ``where: problem`` per mistake."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        super().__init__("\n".join(lines))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class Period(_Strict):
    """When a figure holds: the fieldwork year(s), or the years the respondents left in
    (``first`` omitted: every year up to ``last``)."""

    kind: Literal["fieldwork", "defection"]
    """``fieldwork``: asked in the years first..last; ``defection``: respondents who left in
    first..last."""
    first: Year | None = None
    """First year (omitted for a defection period: every year up to ``last``)."""
    last: Year
    """Last year."""

    @model_validator(mode="after")
    def _ordered(self) -> Period:
        if self.first is None and self.kind == "fieldwork":
            raise ValueError("first: required for a fieldwork period")
        if self.first is not None and self.last < self.first:
            raise ValueError(f"last: {self.last} is before first ({self.first})")
        return self

    @property
    def begins(self) -> dt.date | None:
        """First day of the period (None when open)."""
        return None if self.first is None else dt.date(self.first, 1, 1)

    @property
    def ends(self) -> dt.date:
        """Last day of the period."""
        return dt.date(self.last, 12, 31)

    def date(self) -> dt.date:
        """The day the model evaluates the figure at: the middle of the period.

        For fieldwork, the middle of the fieldwork year(s); for years of defection, the middle of
        those years: respondents who left over a period are taken to report, on average, what
        was true at its middle (defections are spread over the years, and the model has no
        record of when each simulated person would leave).
        """
        if self.begins is None:
            raise ValueError("an open period has no middle")
        return self.begins + (self.ends - self.begins) / 2


class Target(_Strict):
    """One published figure and how the model computes it."""

    name: Annotated[str, Field(min_length=1)]
    """Short id of the target."""
    measure: Annotated[str, Field(min_length=1)]
    """What the survey measured, in its words."""
    period: Period
    """When the figure holds: ``{kind, first, last}`` (see below)."""
    value: float
    """The published share, in [0, 1]."""
    n: Annotated[int, Field(ge=1)] | None = None
    """Respondents the share is of, when the source gives it."""
    source: str
    """Authors, title, publisher and year."""
    statistic: str | None = None
    """The model-side statistic that computes the same quantity
    (``diffusion.calibration.statistics``); unset for a figure the model cannot compute."""
    media: tuple[str, ...] = ()
    """For ``first_medium``: the media that count; for ``seen``: the one medium."""
    unfitted: str | None = None
    """Why the model cannot compute this figure (instead of a statistic)."""
    weighting: str
    """The province weights of the sample: a name in ``[weightings]``."""

    @field_validator("name", "measure")
    @classmethod
    def _one_line(cls, text: str) -> str:
        if not text.isprintable():
            raise ValueError(f"{text!r} holds a control character (a newline, a tab, ...)")
        return text

    @field_validator("value")
    @classmethod
    def _share(cls, value: float) -> float:
        if not 0 <= value <= 1:
            raise ValueError(f"{value} is not in [0, 1]")
        return value

    @field_validator("source")
    @classmethod
    def _cited(cls, source: str) -> str:
        if not re.search(r"\b(19|20)\d\d\b", source) or len(source.split()) < 4:
            raise ValueError(f"{source!r} is not a full source (authors, title, publisher, year)")
        return " ".join(source.split())

    @field_validator("statistic")
    @classmethod
    def _known(cls, statistic: str | None) -> str | None:
        if statistic is not None and statistic not in STATISTICS:
            raise ValueError(f"{statistic!r} is not one of {', '.join(STATISTICS)}")
        return statistic

    @model_validator(mode="after")
    def _computable(self) -> Target:
        if (self.statistic is None) == (self.unfitted is None):
            raise ValueError("statistic: give a statistic, or say why not in unfitted (not both)")
        if self.statistic == "first_medium" and not self.media:
            raise ValueError("media: required for first_medium (the media that count)")
        if self.statistic == "seen" and len(self.media) != 1:
            raise ValueError("media: seen needs exactly one medium")
        if self.statistic not in ("first_medium", "seen") and self.media:
            raise ValueError(f"media: only for first_medium and seen, not {self.statistic}")
        if self.statistic is not None and self.period.first is None:
            raise ValueError("period.first: a fitted target needs a bounded period")
        return self

    @property
    def fitted(self) -> bool:
        return self.statistic is not None

    def simulated(self, result: Result, world: World, weighting: Weighting) -> float:
        """The model's value of this figure in one run on ``world``."""
        if self.statistic is None:
            raise ValueError(f"{self.name}: not computed by the model ({self.unfitted})")
        weights = province_weights(weighting, world)
        if self.statistic == "knew_punished":
            return knew_punished(result, world, weights, self.period.date())
        if self.statistic == "witnessed_punished":
            return witnessed_punished(result, world, weights, self.period.date())
        if self.statistic == "seen":
            return seen(result, world, weights, self.period.date(), self.media[0])
        return watched(result, world, weights, self.period.date(), self.media)


class TargetFile(_Strict):
    """The weightings of the samples and the targets."""

    weightings: dict[str, dict[str, float]] = {}
    """Province weights of the samples, by name: shares of named provinces and of ``border`` (the
    provinces on China not named); the rest goes to the other provinces, each group shared in
    proportion to population."""
    targets: Annotated[list[Target], Field(min_length=1)]
    """The published figures, one ``[[targets]]`` row each."""

    @field_validator("weightings")
    @classmethod
    def _weightings(cls, weightings: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        for name, weighting in weightings.items():
            try:
                check_weighting(weighting)
            except ValueError as exc:
                sep = "." if ": " in str(exc) else ": "
                raise ValueError(f"weightings.{name}{sep}{exc}") from None
        return weightings

    @model_validator(mode="after")
    def _consistent(self) -> TargetFile:
        seen: set[str] = set()
        for i, target in enumerate(self.targets):
            if target.weighting not in self.weightings:
                known = ", ".join(self.weightings) or "none"
                raise ValueError(
                    f"targets[{i}].weighting: {target.weighting!r} is not a [weightings] table "
                    f"({known})"
                )
            if target.name in seen:
                raise ValueError(f"targets[{i}].name: {target.name!r} is used twice")
            seen.add(target.name)
        return self

    def fitted(self) -> list[Target]:
        """The targets the model computes."""
        return [t for t in self.targets if t.fitted]

    def simulated(self, result: Result, world: World) -> dict[str, float]:
        """Each fitted target's value in one run, by name."""
        return {
            t.name: t.simulated(result, world, self.weightings[t.weighting]) for t in self.fitted()
        }


MAX_TARGETS_BYTES = 1 << 20
"""Largest targets file read (a targets file is a few kilobytes)."""


def load_targets(path: str | Path) -> TargetFile:
    """Read and validate a targets file; raise ``TargetError`` naming each bad row.

    As strict as a config (``diffusion.config.load_config``): a file over ``MAX_TARGETS_BYTES``,
    not UTF-8, or nested deeper than a config may be is refused in one line.
    """
    data = read_toml(Path(path), MAX_TARGETS_BYTES, "a targets file", TargetError)
    return validate_targets(data)


def validate_targets(data: dict[str, Any]) -> TargetFile:
    """Validate targets data (as read from TOML); raise ``TargetError`` naming each bad row.

    Values of the wrong type are refused, not converted, as in a config: ``value = "0.20"``,
    ``n = true`` or ``first = "2007"`` (``diffusion._strict.type_mismatches``).
    """
    if nesting_depth(data) > MAX_DEPTH:
        raise TargetError([f"targets file: tables or arrays nested more than {MAX_DEPTH} deep"])
    try:
        targets = TargetFile.model_validate(data)
    except ValidationError as exc:
        raise TargetError([_line(error) for error in exc.errors()]) from None
    mismatches = type_mismatches(data, targets)
    if mismatches:
        raise TargetError([re.sub(r"\.(\d+)(?=[.:])", r"[\1]", line) for line in mismatches])
    return targets


def check_calendar(
    targets: TargetFile, start: dt.date, end: dt.date, media: tuple[str, ...]
) -> None:
    """Raise ``TargetError`` for fitted targets outside a run from ``start`` to ``end``, or
    counting a medium the run does not have."""
    lines = []
    for i, target in enumerate(targets.targets):
        if not target.fitted:
            continue
        period = target.period
        if (period.begins is not None and period.begins < start) or period.ends > end:
            lines.append(
                f"targets[{i}].period: {period.first}-{period.last} is outside the run "
                f"({start} to {end})"
            )
        unknown = [m for m in target.media if m not in media]
        if unknown:
            lines.append(f"targets[{i}].media: {unknown[0]!r} is not a medium ({', '.join(media)})")
    if lines:
        raise TargetError(lines)


def _line(error: Any) -> str:
    """``targets[3].value: 1.4 is not in [0, 1]`` from a pydantic error."""
    where = ""
    for part in error["loc"]:
        where += f"[{part}]" if isinstance(part, int) else f"{'.' if where else ''}{part}"
    if error["type"] == "value_error":
        problem = str(error["ctx"]["error"])
    elif error["type"] == "missing":
        problem = "required but missing"
    elif error["type"] == "extra_forbidden":
        problem = "unknown key"
    else:
        problem = f"{error.get('input')!r}: {error['msg']}"
    field, sep, rest = problem.partition(": ")
    if sep and re.fullmatch(r"targets\[\d+\][\w.]*|weightings\.[\w. -]+", field):
        where, problem = field, rest  # a row named by a check of the whole file
    elif sep and re.fullmatch(r"[\w.]+", field):
        where, problem = f"{where}.{field}", rest  # a field named by a check of its row
    return f"{where}: {problem}" if where else problem
