"""The config reference, written from the pydantic schema so that it never drifts from the code.

``reference_markdown`` renders every section and field of an experiment config (type, allowed
range, default, unit, meaning), and of the calibration targets file, as Markdown;
``python -m diffusion.config_reference`` (``make config-reference``) writes it to
``docs/config-reference.md``, and a test fails when that file differs from what the schema gives.
A field's meaning is its pydantic ``description`` (``Field(description=...)`` or an attribute
docstring read with ``use_attribute_docstrings``) and its unit the ``unit`` key of
``json_schema_extra``: whatever the schema holds shows up here. ``field_label`` gives the same
words for one dotted path, for axis labels of sweep figures.
"""

from __future__ import annotations

import datetime as dt
import types
import typing
from pathlib import Path
from typing import Annotated, Any, Literal

from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from diffusion._io import atomic_write
from diffusion.calibration.priors import CalibrationConfig
from diffusion.calibration.targets import TargetFile
from diffusion.config import ExperimentConfig, RunConfig
from diffusion.sensitivity.config import SensitivityConfig
from diffusion.strategy.config import StrategyConfig
from diffusion.sweep.config import ClusterConfig, SweepConfig

SECTIONS: tuple[tuple[str, Any], ...] = (
    ("network", ExperimentConfig.model_fields["network"].annotation),
    ("model", ExperimentConfig.model_fields["model"].annotation),
    ("run", RunConfig),
    ("sweep", SweepConfig),
    ("cluster", ClusterConfig),
    ("calibration", CalibrationConfig),
    ("sensitivity", SensitivityConfig),
    ("strategy", StrategyConfig),
)
"""The sections of a config file, in the order a config is written."""
FILES: tuple[tuple[str, type[BaseModel]], ...] = (("targets", TargetFile),)
"""Files a config names, documented like its sections: the calibration targets file."""
PAGE = Path(__file__).resolve().parent.parent / "docs" / "config-reference.md"
"""The generated page of the documentation site."""

"""Meanings of the fields whose modules (``diffusion.params``, ``diffusion.calibration``) are
being changed by others right now, keyed ``Model.field``: used only where the schema has no
description, and to be moved into the schema as attribute docstrings (a test checks that each
is still needed)."""

_SCALARS = {
    int: "integer",
    float: "number",
    bool: "true or false",
    str: "string",
    Path: "path",
    dt.date: "date",
}


INTRO = """\
# Config reference

<!-- Generated from the schema by `make config-reference` (diffusion/config_reference.py): do
not edit by hand; a test fails when this file is stale. -->

An experiment is a TOML file with the sections `[network]`, `[model]` and `[run]`; parameter
sweeps add `[sweep]` and `[cluster]`, `diffusion calibrate` needs `[calibration]` (and the
targets file it names), `diffusion sensitivity` reads `[sensitivity]` and `diffusion strategy`
reads `[strategy]`. This page is generated from the code's schema, so it lists exactly what the
commands accept: every field with its type, allowed range, default, unit and meaning. A field
marked *required* must be given; any other may be left out. Unknown keys are errors. Citations
[S0]-[S4] and [C1] refer to the [sources](sources.md).

Check a config without running it with `diffusion check CONFIG`, and change a field from the
command line with `--set`, e.g. `diffusion run CONFIG --out DIR --set model.beta=0.02`. A mistake
stops before any work, with one line per problem naming the field (`model.beta: 1.7 is not in
[0, 1]`). The shipped configs (`diffusion experiments` lists them with the command each is for)
are worked examples of every section: `experiments/sweep-crackdown.toml` (`[sweep]`),
`experiments/calibration/dprk-2000-2020.toml` (`[calibration]`, `[sensitivity]`) with
`experiments/calibration/targets.toml` (the targets file), and
`experiments/strategy-usb-budget.toml` (`[strategy]`).

Rules across fields, checked when a config is loaded:

- `run.steps` is required when holders never stop (`gamma = 0` and `delta = 0`) or copies keep
  entering (`entry_rate > 0`); `run.end` (a date) replaces it once `model.start` sets the
  calendar;
- `run.seeds` cannot exceed the number of agents; listed agent ids must exist;
- crackdown campaigns must not overlap, and each ends at or after its start;
- in `[network]` type = "population", `border_regions` defaults to 8% of `n_regions` (16 of 200)
  and cannot exceed it; the mean `household_size` lies between `household_size_min` and
  `household_size_max`; `n_agents` is at least `n_regions * household_size_max`;
- a sweep parameter is a dotted path into `[model]` or `[network]` (a number indexes a list:
  `model.campaigns.0.delta`), and its extreme values must themselves be valid;
- `[cluster]` `memory` is required for a SLURM or PBS cluster;
- `[calibration]` needs the calendar (`model.start` and `run.end`), its targets must lie inside
  it and name media of the model, and both ends of every prior must be valid values of the
  parameter; `[sensitivity]` ranges follow the same rule, and default to the priors.
"""
"""The page's opening: what a config is, how it is checked, the rules across fields."""


def reference_markdown() -> str:
    """The whole reference page: ``INTRO``, then every section's tables, then the files."""
    parts: list[str] = [INTRO]
    for name, annotation in SECTIONS:
        members = _models(annotation)
        if len(members) > 1:  # [network]: one table per type
            parts.append(f"## `[{name}]`\n\nOne of the types below, chosen by `type`.\n")
            for model in members:
                tag = typing.get_args(model.model_fields["type"].annotation)[0]
                parts.extend(_model_tables(model, name, f'`[{name}]` type = "{tag}"', level=3))
        else:
            parts.extend(_model_tables(members[0], name, f"`[{name}]`", level=2))
    for name, model in FILES:
        title = f"The {name} file (`calibration.{name}`)"
        parts.extend(_model_tables(model, name, title, level=2))
    return "\n".join(parts)


def missing_meanings() -> list[str]:
    """``section.field`` of every field without a description (the reference would show it
    without a meaning)."""
    return [path for path, _model, info in all_fields() if not _meaning(_model, path, info)]


def all_fields() -> list[tuple[str, type[BaseModel], FieldInfo]]:
    """(dotted path, owning model, field) of every field of the sections and files, nested
    models included (the ``[network]`` type tag left out)."""
    found: list[tuple[str, type[BaseModel], FieldInfo]] = []

    def walk(model: type[BaseModel], path: str) -> None:
        for name, info in model.model_fields.items():
            if name == "type" and len(typing.get_args(info.annotation)) == 1:
                continue
            found.append((f"{path}.{name}", model, info))
            for sub in _models(info.annotation):
                walk(sub, f"{path}.{name}")

    for section, annotation in (*SECTIONS, *FILES):
        for model in _models(annotation):
            walk(model, section)
    return found


def write_page(path: Path = PAGE) -> Path:
    """Write the reference page (atomically)."""
    return atomic_write(path, reference_markdown().encode())


def field_label(path: str) -> str:
    """``path`` with its unit, e.g. ``model.delta (per step)``, for axis labels.

    The unit comes from the schema; a path the schema does not know, or a field without a unit,
    is returned as it is.
    """
    info = find_field(path)
    unit = _unit(info) if info is not None else None
    return f"{path} ({unit})" if unit else path


def find_field(path: str) -> FieldInfo | None:
    """The schema's field for a dotted config path (``model.campaigns.0.delta``), or None."""
    annotation: Any = ExperimentConfig
    info = None
    for part in path.split("."):
        if part.isdigit():
            continue  # an index into a list of tables
        owners = [m for m in _models(annotation) if part in m.model_fields]
        if not owners:
            return None
        info = owners[0].model_fields[part]
        annotation = info.annotation
    return info


# ----------------------------------------------------------------------------- tables
def _model_tables(model: type[BaseModel], prefix: str, title: str, level: int) -> list[str]:
    """The table of ``model``'s fields, then one table per nested model (``[model.usb]``)."""
    doc = " ".join((model.__doc__ or "").split())
    rows = [
        f"{'#' * level} {title}\n",
        *([f"{doc}\n"] if doc else []),
        "| field | type | range | default | unit | meaning |",
        "|---|---|---|---|---|---|",
    ]
    nested = []
    for name, info in model.model_fields.items():
        if name == "type" and len(typing.get_args(info.annotation)) == 1:
            continue  # the [network] type tag, given in the heading
        rows.append(
            f"| `{name}` | {_type(info.annotation)} | {_range(info.metadata)} | "
            f"{_default(info)} | {_unit(info) or ''} | {_cell(_meaning(model, name, info))} |"
        )
        for sub in _models(info.annotation):
            nested.extend(_model_tables(sub, f"{prefix}.{name}", f"`{prefix}.{name}`", level + 1))
    return ["\n".join(rows) + "\n", *nested]


def _meaning(model: type[BaseModel], name: str, info: FieldInfo) -> str:
    """A field's description (its attribute docstring), else empty."""
    return info.description or ""


def _type(annotation: Any) -> str:
    """A type in the words of a TOML file: ``number``, ``list of integer``, ``table``."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Annotated:
        constraints = [m for extra in args[1:] for m in getattr(extra, "metadata", [extra])]
        bounds = _range(constraints)
        if bounds.startswith(("[", "(")):
            return f"{_type(args[0])} in {bounds}"
        return f"{_type(args[0])} {bounds}".rstrip()
    if origin is Literal:
        return " or ".join(f'"{a}"' if isinstance(a, str) else str(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        kinds = [_type(a) for a in args if a is not type(None)]
        optional = ", optional" if type(None) in args else ""
        return " or ".join(kinds) + optional
    if origin in (list, tuple) and (origin is list or (len(args) == 2 and args[1] is Ellipsis)):
        return f"list of {_type(args[0])}"
    if origin is tuple:
        return "[" + ", ".join(_type(a) for a in args) + "]"
    if origin is dict:
        return f"table of {_type(args[0])} to {_type(args[1])}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "table"
    return _SCALARS.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _range(metadata: list[Any]) -> str:
    """``[0, 1]``, ``(0, 1]``, ``>= 1`` from annotated-types bounds; empty when unbounded."""
    low = next((("[", m.ge) for m in metadata if isinstance(m, Ge)), None) or next(
        (("(", m.gt) for m in metadata if isinstance(m, Gt)), None
    )
    high = next(((m.le, "]") for m in metadata if isinstance(m, Le)), None) or next(
        ((m.lt, ")") for m in metadata if isinstance(m, Lt)), None
    )
    if low and high:
        return f"{low[0]}{_num(low[1])}, {_num(high[0])}{high[1]}"
    if low:
        return f"{'>=' if low[0] == '[' else '>'} {_num(low[1])}"
    if high:
        return f"{'<=' if high[1] == ']' else '<'} {_num(high[0])}"
    return ""


def _default(info: FieldInfo) -> str:
    if info.is_required():
        return "required"
    value = info.get_default(call_default_factory=True)
    if isinstance(value, BaseModel):
        return "see below"
    return f"`{_toml(value)}`"


def _toml(value: Any) -> str:
    """A default as it would be written in TOML."""
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, BaseModel):
        return _toml(value.model_dump())
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + "}"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, int) and abs(value) >= 10_000:
        return f"{value:_}"
    return str(value)


def _unit(info: FieldInfo) -> str | None:
    extra = info.json_schema_extra
    return extra.get("unit") if isinstance(extra, dict) else None  # type: ignore[return-value]


def _models(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models in an annotation: itself, union members, list, tuple or dict items."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Annotated:
        return _models(args[0])
    if origin is dict:
        return _models(args[1])
    if origin in (typing.Union, types.UnionType, list, tuple):
        return [m for arg in args for m in _models(arg)]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return []


def _num(x: Any) -> Any:
    """A bound as written: whole floats as integers, the integer limits as powers of 2."""
    x = int(x) if isinstance(x, float) and x.is_integer() else x
    if isinstance(x, int) and x >= 2**20:
        for offset, text in ((0, ""), (1, " - 1")):
            if (x + offset) & (x + offset - 1) == 0:
                return f"2^{(x + offset).bit_length() - 1}{text}"
    return x


def _cell(text: str) -> str:
    """Text that fits in one Markdown table cell."""
    return " ".join(text.split()).replace("|", "\\|")


if __name__ == "__main__":
    print(write_page())
