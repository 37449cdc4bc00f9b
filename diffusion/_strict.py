"""Strict reading of TOML data: values are refused, not converted, and nesting is bounded.

Shared by the config (``diffusion.config``) and the calibration targets file
(``diffusion.calibration.targets``), which hold themselves to the same rules.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from diffusion._text import short_repr

MAX_DEPTH = 20
"""Deepest nesting of tables and arrays in a config or targets file (the schema needs 5)."""


def read_toml(
    path: Path, max_bytes: int, what: str, error: Callable[[list[str]], Exception]
) -> dict[str, Any]:
    """The TOML data of the file ``path`` (``what`` it should be: "a config"), or ``error`` with
    one line when the file is over ``max_bytes``, unreadable, not UTF-8 or not TOML."""
    try:
        if path.stat().st_size > max_bytes:
            raise error([f"{path}: more than {max_bytes} bytes (not {what})"])
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise error([f"{path}: cannot read ({exc.strerror})"]) from None
    except UnicodeDecodeError:
        raise error([f"{path}: not a text file (not valid UTF-8)"]) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message ("Invalid value (at line 3, column 8)") quotes no content
        reason = short_repr(str(exc), 200).strip("'\"")
        raise error([f"{path}: not valid TOML: {reason}"]) from None
    except RecursionError:
        raise error([f"{path}: not valid TOML: tables or arrays nested too deeply"]) from None


def nesting_depth(data: Any, level: int = 0) -> int:
    """Nesting depth of dicts and lists (stops counting past ``MAX_DEPTH``)."""
    if level > MAX_DEPTH or not isinstance(data, dict | list):
        return level
    items = data.values() if isinstance(data, dict) else data
    return max((nesting_depth(item, level + 1) for item in items), default=level + 1)


def type_mismatches(
    data: Any, model: Any, loc: tuple[str, ...] = (), dates: bool = False
) -> list[str]:
    """Lines naming every value pydantic would have converted to another type.

    Pydantic's lax mode turns ``"0.1"`` into 0.1 and ``true`` into 1; strict mode would also
    refuse the TOML array given for a tuple field. So the config is validated in lax mode and
    then compared with what was written: a number field given a string or a boolean, or a
    boolean field given anything but a boolean, is reported as ``field: 'x' is not a number``.
    (A whole float such as ``10.0`` for an integer field is accepted: a swept range yields them.)
    With ``dates``, a date field given text (``"2000-01-01"``, quoted) is reported too.
    """
    where = ".".join(loc) or "config"
    if isinstance(model, BaseModel) and isinstance(data, dict):
        lines = []
        for key, value in data.items():
            if isinstance(key, str) and key in type(model).model_fields:
                lines += type_mismatches(value, getattr(model, key), (*loc, key), dates)
        return lines
    if isinstance(model, list | tuple) and isinstance(data, list) and len(model) == len(data):
        return [
            line
            for i, (value, item) in enumerate(zip(data, model, strict=True))
            for line in type_mismatches(value, item, (*loc, str(i)), dates)
        ]
    if isinstance(model, dict) and isinstance(data, dict):
        return [
            line
            for key, value in data.items()
            if key in model
            for line in type_mismatches(value, model[key], (*loc, str(key)), dates)
        ]
    written = str(data).lower() if isinstance(data, bool) else short_repr(data)  # TOML spelling
    if isinstance(model, bool):
        return [] if isinstance(data, bool) else [f"{where}: {written} is not true or false"]
    if dates and isinstance(model, dt.date) and isinstance(data, str):
        return [f"{where}: {written} is not a date (TOML dates are unquoted: 2000-01-01)"]
    if isinstance(model, int) and isinstance(data, bool | str):
        return [f"{where}: {written} is not an integer"]
    if isinstance(model, float) and isinstance(data, bool | str):
        return [f"{where}: {written} is not a number"]
    return []
