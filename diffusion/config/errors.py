"""Pydantic's validation errors in the words a user needs: one ``dotted.field: problem`` line each.

``1.7 is not in [0, 1]`` with the field's bounds, ``unknown key (did you mean 'gamma'?)``, a
quoted value shortened and its control characters escaped (``diffusion._text``), union members
dropped from the location. ``ConfigError`` carries the lines to the command line.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from typing import Annotated, Any

from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel, ValidationError

from diffusion._text import short_repr
from diffusion.errors import DiffusionError


class ConfigError(DiffusionError, ValueError):
    """A config that cannot be used; ``lines`` holds one ``section.field: problem`` per mistake."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        super().__init__("\n".join(lines))


def error_lines(exc: ValidationError, root: type[BaseModel]) -> list[str]:
    """One ``dotted.field: problem`` line per pydantic error, in the words a user needs.

    Union members show up in pydantic's locations (``run.seeds.int``); they are dropped, and of
    the errors a union gives for one field the most specific one is kept. ``root`` is the model
    validated: its fields' bounds and names complete the messages.
    """
    found: dict[tuple[str, ...], list[tuple[str, bool]]] = {}
    for error in exc.errors():
        loc = [str(part) for part in error["loc"] if not _is_union_tag(part)]
        if len(loc) >= 2 and loc[1] in _tags(root, loc[0]):
            loc.pop(1)  # the union tag: the user wrote [network] type = ..., not a subsection
        problem = _problem(error, loc, root)
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


def _problem(error: dict[str, Any], loc: list[str], root: type[BaseModel]) -> str:
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
        return "unknown key" + _did_you_mean(error["loc"], root)
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
        return f"required, one of {', '.join(repr(t) for t in _tags(root, loc[0]))}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return _range_problem(error["loc"], value, ctx, root)
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


def _range_problem(loc: tuple, value: Any, ctx: dict[str, Any], root: type[BaseModel]) -> str:
    """``1.7 is not in [0, 1]`` when the field has two bounds, else ``-3 must be >= 1``."""
    bounds = dict(ctx)
    for constraint in _constraints(loc, root):
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


def _constraints(loc: tuple, root: type[BaseModel]) -> list[Any]:
    """The annotated-types constraints of the value at an error location (models, lists, unions)."""
    annotation: Any = root
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


def _did_you_mean(loc: tuple, root: type[BaseModel]) -> str:
    """`` (did you mean 'gamma'?)`` for a misspelt key at ``loc``, when one known key is close."""
    annotation: Any = root
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


def _tags(root: type[BaseModel], section: str) -> tuple[str, ...]:
    """The ``type`` values of a section that is a union of tagged models (``[network]``)."""
    field = root.model_fields.get(section)
    if field is None:
        return ()
    members = _union_members(field.annotation)
    return tuple(tag for m in members for tag in typing.get_args(_type_field(m)))
