"""Paths named in config files: taken relative to the config's folder, and checked to exist."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationInfo


def existing_file(path: Path, info: ValidationInfo) -> Path:
    """``path`` resolved against the config's folder (``context["base_dir"]``), or a
    ``ValueError`` naming it when no such file exists (a pydantic field validator's body)."""
    base = (info.context or {}).get("base_dir")
    resolved = path if path.is_absolute() or base is None else Path(base) / path
    if not resolved.is_file():
        raise ValueError(f"no such file: {path}")
    return resolved.resolve()
