"""Safe text for error messages: values shortened, control characters escaped, no file bytes.

A message may quote what a user wrote (a config value) but must stay one readable line: a 100 MB
string is cut to a short prefix, and newlines, escape sequences and other control or invisible
characters are shown escaped (``\\x1b``, ``\\u202e``) instead of acting on the terminal. Text
read from data files is never quoted at all (see ``diffusion.network`` and
``diffusion.population.io``): those files may be anything a path points at.
"""

from __future__ import annotations

import unicodedata
from typing import Any

LIMIT = 80
"""Longest quoted value, in characters, before it is cut."""


def short_repr(value: Any, limit: int = LIMIT) -> str:
    """``repr(value)`` with control characters escaped, cut to ``limit`` characters plus ``...``.

    Large containers are not rendered in full first: only their first items are looked at.
    """
    text = _bounded_repr(value, limit)
    text = escape_controls(text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def escape_controls(text: str) -> str:
    """``text`` with every control, format or separator character but a space escaped."""
    return "".join(
        ch
        if ch == " " or unicodedata.category(ch)[0] not in "CZ"
        else (f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")
        for ch in text
    )


def _bounded_repr(value: Any, limit: int) -> str:
    """A repr of at most a little over ``limit`` characters, without rendering huge values."""
    if isinstance(value, str | bytes) and len(value) > limit:
        return repr(value[:limit]) + "..."
    if isinstance(value, list | tuple) and len(value) > 8:
        head = ", ".join(_bounded_repr(item, limit) for item in value[:8])
        return f"[{head}, ... ({len(value)} items)]"
    if isinstance(value, dict) and len(value) > 8:
        return f"{{... ({len(value)} keys)}}"
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 256:
        return f"<an integer of {value.bit_length()} bits>"
    return repr(value)
