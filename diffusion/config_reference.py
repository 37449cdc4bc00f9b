"""The config reference, written from the pydantic schema so that it never drifts from the code.

``reference_markdown`` renders every section and field of an experiment config (type, allowed
range, default, unit, meaning) as Markdown; the documentation site calls it at build time
(``docs/hooks.py``). A field's meaning is its pydantic ``description`` (``Field(description=...)``
or an attribute docstring read with ``use_attribute_docstrings``) and its unit the ``unit`` key of
``json_schema_extra``: whatever the schema holds shows up here, and nothing else.
``field_label`` gives the same words for one dotted path, for axis labels of sweep figures.
"""

from __future__ import annotations

import types
import typing
from pathlib import Path
from typing import Annotated, Any, Literal

from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from diffusion.config import ClusterConfig, ExperimentConfig, RunConfig, SweepConfig
from diffusion.sensitivity.config import SensitivityConfig
from diffusion.strategy.config import StrategyConfig

SECTIONS: tuple[tuple[str, Any], ...] = (
    ("network", ExperimentConfig.model_fields["network"].annotation),
    ("model", ExperimentConfig.model_fields["model"].annotation),
    ("run", RunConfig),
    ("sweep", SweepConfig),
    ("cluster", ClusterConfig),
    ("sensitivity", SensitivityConfig),
    ("strategy", StrategyConfig),
)
"""The sections of a config file, in the order a config is written."""

_SCALARS = {int: "integer", float: "number", bool: "true or false", str: "string", Path: "path"}


def reference_markdown() -> str:
    """Markdown tables of every config field: one heading per section and nested table."""
    parts: list[str] = []
    for name, annotation in SECTIONS:
        members = _models(annotation)
        if len(members) > 1:  # [network]: one table per type
            parts.append(f"## `[{name}]`\n\nOne of the types below, chosen by `type`.\n")
            for model in members:
                tag = typing.get_args(model.model_fields["type"].annotation)[0]
                parts.extend(_model_tables(model, name, f'`[{name}]` type = "{tag}"', level=3))
        else:
            parts.extend(_model_tables(members[0], name, f"`[{name}]`", level=2))
    return "\n".join(parts)


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
            f"{_default(info)} | {_unit(info) or ''} | {_cell(info.description or '')} |"
        )
        for sub in _models(info.annotation):
            nested.extend(_model_tables(sub, f"{prefix}.{name}", f"`{prefix}.{name}`", level + 1))
    return ["\n".join(rows) + "\n", *nested]


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
    if isinstance(value, float):
        return f"{value:g}"
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
    return int(x) if isinstance(x, float) and x.is_integer() else x


def _cell(text: str) -> str:
    """Text that fits in one Markdown table cell."""
    return " ".join(text.split()).replace("|", "\\|")
