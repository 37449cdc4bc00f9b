"""A run's result folder, written as a unit: never two runs mixed, never half a run.

``run_output(out, identity, replace)`` is entered *before* a run is computed, so that an output
that cannot be written is reported at once rather than after every replicate has run. It

1. locks ``out`` (``diffusion._lock``: a second writer is refused, a dead one's lock recovered);
2. removes the temporary folders that a killed earlier writer of ``out`` left behind;
3. checks that ``out`` may be replaced: it is absent, empty, holds the results of the same
   experiment (same resolved config and network), or holds another run's results and
   ``replace`` is set. A folder with anything else in it is never replaced;
4. creates the hidden sibling folder ``.<out>.<pid>.<random>.tmp`` the run is written into,
   which proves that the place is writable.

When the block ends normally the new folder replaces ``out`` in two renames
(``diffusion._io.replace_folder``), so plots (PNG) of an earlier run never sit beside new data;
on an error or a kill ``out`` is left as it was.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from diffusion._io import remove_temporaries, replace_folder, temporary_name
from diffusion._json import canonical, differences
from diffusion._lock import claim, reason
from diffusion.errors import OutputError
from diffusion.results.io import TABLES, read_metadata


@contextmanager
def run_output(out: str | Path, identity: dict[str, Any], replace: bool = False) -> Iterator[Path]:
    """Yield an empty folder to write a run into; it becomes ``out`` when the block ends.

    ``identity`` is what makes two runs the same experiment (``diffusion.runner.identity``:
    the resolved config and the network's content hash), compared with what ``out`` records.
    """
    with claim(out) as out:
        remove_temporaries(out.parent, out.name)
        _check_replaceable(out, identity, replace)
        build = temporary_name(out)
        try:
            build.mkdir()
        except OSError as exc:
            raise OutputError(f"--out: cannot create {out} ({reason(exc)})") from None
        try:
            yield build
            replace_folder(build, out)
        finally:
            shutil.rmtree(build, ignore_errors=True)


def _check_replaceable(out: Path, new: dict[str, Any], replace: bool) -> None:
    if not out.is_dir():
        return
    entries = list(out.iterdir())
    if not entries:
        return
    foreign = [p.name for p in entries if not _is_result_file(p)]
    if foreign:
        raise OutputError(
            f"--out: {out} holds files that are not run results ({', '.join(sorted(foreign)[:3])}"
            f"{', ...' if len(foreign) > 3 else ''}); use a new folder"
        )
    old = _recorded_experiment(out)
    if old is not None and canonical(old) == canonical(new):
        return  # the same experiment again: its results are replaced
    if replace:
        return
    where = ", ".join(differences(old, new)[:5]) if old is not None else "an unfinished run"
    raise OutputError(
        f"--out: {out} holds the results of another experiment ({where}); "
        "use --replace to overwrite them, or a new folder"
    )


def _is_result_file(path: Path) -> bool:
    """A table of a run folder (``diffusion.results.io.TABLES``) or a plot beside them."""
    tables = {f"{name}.parquet" for name in TABLES}
    return path.is_file() and (path.name in tables or path.suffix.lower() == ".png")


def _recorded_experiment(out: Path) -> dict[str, Any] | None:
    """The config and network hash recorded in ``out/summary.parquet``, if it is readable."""
    try:
        meta = read_metadata(out / "summary.parquet")
    except (OSError, ValueError):
        return None
    return {"config": meta.get("config"), "network_hash": meta.get("network_hash")}
