"""A calibration's files beside its pyabc history: what fit it holds, and whether it can resume.

``<db>.json`` (``fit.db`` -> ``fit.json``) records the fit's identity: the resolved scenario (less
where it runs), the targets as validated, the observed values and the particles per generation.
A call into a history of another fit (another ``calibration.seed``, scenario, prior or target
file) is refused in one line, as a sweep, strategy or sensitivity folder is: appending its
generations would mix two fits.

Before a history is resumed it is checked with SQLite itself: a file that is not a database, or
fails ``PRAGMA quick_check``, is refused in one line; one that holds no finished generation (a
fit stopped before its first, or a file left half-created by a full disk, which pyabc then
refuses forever) is removed, so the same command starts the fit again.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

from diffusion._io import atomic_write
from diffusion._json import changed_identity
from diffusion.calibration.targets import TargetFile
from diffusion.config import ExperimentConfig, network_content_hash

FORMAT = 1
"""Version of the identity file's layout."""


class CalibrationError(ValueError):
    """A history the call cannot continue: another fit's, or a damaged file (one line)."""


def identity_path(db: str | Path) -> Path:
    """The identity file of the history ``db``."""
    return Path(db).with_suffix(".json")


def fit_identity(
    config: ExperimentConfig,
    targets: TargetFile,
    observed: dict[str, float],
    population_size: int,
    variants: list[str] | None = None,
    kernel_scale: float = 1.0,
) -> dict[str, Any]:
    """What must match for a history to be continued: everything that changes its generations
    (the variants fitted or compared and the proposal's scale among them)."""
    resolved = config.resolved()
    for section in ("cluster", "sweep", "sensitivity", "strategy"):
        resolved.pop(section, None)
    return {
        "format": FORMAT,
        "config": resolved,
        "network_hash": network_content_hash(config.network),
        "targets": targets.model_dump(mode="json"),
        "observed": observed,
        "particles": population_size,
        "variants": variants,
        "kernel_scale": kernel_scale,
    }


def resumable(db: str | Path) -> bool:
    """True if ``db`` holds finished generations to resume; False if there is nothing to resume
    (no file, or none finished: such a file is removed). A damaged file raises
    ``CalibrationError`` and is left as it is."""
    db = Path(db)
    if not db.exists():
        return False
    damaged = f"{db}: the history is damaged"
    advice = "move it away to start the fit again"
    try:
        with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as connection:
            check = connection.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise CalibrationError(f"{damaged} ({check}); {advice}")
            tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
            finished = 0
            if "populations" in tables:
                finished = connection.execute(
                    "SELECT count(*) FROM populations WHERE t >= 0"
                ).fetchone()[0]
            versioned = (
                "version" in tables
                and connection.execute("SELECT count(*) FROM version").fetchone()[0]
            )
            if finished and not versioned:  # generations pyabc would refuse ("version 0")
                raise CalibrationError(f"{damaged} (no database version); {advice}")
    except sqlite3.DatabaseError as exc:
        raise CalibrationError(f"{damaged} ({exc}); {advice}") from None
    if finished == 0:
        db.unlink()
        return False
    return True


def claim(db: str | Path, identity: dict[str, Any], resuming: bool) -> None:
    """Record ``identity`` beside a new history, or check it against a resumed one's."""
    path = identity_path(db)
    if resuming and path.is_file():
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CalibrationError(f"{path}: cannot be read ({exc}); move it away") from None
        changed = changed_identity(old, identity)
        if changed:
            raise CalibrationError(
                f"--out: {Path(db).parent} holds a different fit (differs in {changed}); "
                "use a new folder, or delete it to start again"
            )
        return
    atomic_write(path, json.dumps(identity, indent=1).encode())
