"""Comparing JSON-like trees: a canonical text, and the dotted paths where two trees differ.

Used to tell whether an output folder holds the same experiment (a run) or sweep as the one
about to be written into it, and to say where they differ.
"""

from __future__ import annotations

import json
from typing import Any


def canonical(data: Any) -> str:
    """One text per JSON value: keys sorted."""
    return json.dumps(data, sort_keys=True)


def differences(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Dotted paths where two JSON trees differ."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(set(old) | set(new)):
            out += differences(old.get(key), new.get(key), f"{prefix}{key}.")
        return out
    return [] if canonical(old) == canonical(new) else [prefix.rstrip(".") or "the manifest"]


def changed_identity(stored: dict[str, Any], identity: dict[str, Any]) -> str:
    """The first few dotted paths where a folder's stored identity differs from ``identity``
    (keys it does not know of compare as missing), or ``""`` when it is the same."""
    old = {key: stored.get(key) for key in identity}
    if canonical(old) == canonical(identity):
        return ""
    return ", ".join(differences(old, identity)[:5])
