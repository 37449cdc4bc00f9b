"""A run's results as Parquet files that describe themselves, each written atomically.

A result folder holds ``timeseries.parquet`` (state counts per replicate and step),
``summary.parquet`` (one row per replicate) and, when the model records them,
``regions.parquet`` (counts per region) and ``media.parquet`` (informed agents per medium and
state). Every file carries the same JSON metadata under the key ``diffusion``: the resolved
config, the seed, the package version, the run time and when it was written.
``summary.parquet`` is written last, so a folder with it holds a finished run.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from diffusion.results import MEDIA, STATES, Result
from diffusion.runner import ScenarioRun

METADATA_KEY = b"diffusion"
TABLES: tuple[str, ...] = ("timeseries", "regions", "media", "summary")
"""The tables of a run folder, in the order they are written (``summary`` last)."""


@dataclass(frozen=True)
class RunData:
    """A run folder read back: its tables (absent ones omitted) and its metadata."""

    tables: dict[str, pa.Table]
    metadata: dict[str, Any]


def write_table_atomic(table: pa.Table, path: str | Path) -> Path:
    """Write ``table`` to ``path`` through a hidden temp file in the same folder and a rename.

    A reader never sees a partial file under ``path``: an interrupted write leaves at most a
    ``.<name>.*.tmp`` file (removed when the interruption is an exception).
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "xb") as handle:
            pq.write_table(table, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def run_tables(run: ScenarioRun) -> dict[str, pa.Table]:
    """The tables of a run (without metadata); regions and media only when recorded."""
    results = run.results
    tables = {"timeseries": _timeseries(results)}
    if all(r.region_counts is not None for r in results):
        tables["regions"] = _regions(results, run.region_provinces)
    if all(r.medium_counts is not None for r in results):
        tables["media"] = _media(results)
    rows = [
        {"replicate": i, "seed": run.config.run.seed, **r.summary()} for i, r in enumerate(results)
    ]
    tables["summary"] = pa.Table.from_pylist(rows)
    return tables


def run_metadata(run: ScenarioRun) -> dict[str, Any]:
    """What makes a result folder self-describing: config, seed, version, timings."""
    from diffusion import __version__

    return {
        "config": run.config.resolved(),
        "seed": run.config.run.seed,
        "replicates": len(run.results),
        "network_hash": run.config.content_hash(),
        "version": __version__,
        "build_seconds": run.build_seconds,
        "run_seconds": run.run_seconds,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def write_run(run: ScenarioRun, out_dir: str | Path) -> dict[str, Path]:
    """Write a run's tables into ``out_dir`` (created if needed); returns the paths by table.

    Tables of an earlier run in the folder that this run does not produce are removed first, so
    the folder never mixes two runs.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tables = run_tables(run)
    for name in TABLES:
        if name not in tables or name == "summary":
            (out_dir / f"{name}.parquet").unlink(missing_ok=True)
    meta = {METADATA_KEY: json.dumps(run_metadata(run)).encode()}
    written = {}
    for name in TABLES:
        if name in tables:
            table = tables[name].replace_schema_metadata(meta)
            written[name] = write_table_atomic(table, out_dir / f"{name}.parquet")
    return written


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The ``diffusion`` metadata of one Parquet file of a run."""
    raw = pq.read_schema(path).metadata or {}
    if METADATA_KEY not in raw:
        raise ValueError(f"{path}: not a diffusion result (no '{METADATA_KEY.decode()}' metadata)")
    return json.loads(raw[METADATA_KEY])


def read_run(folder: str | Path) -> RunData:
    """Read a run folder written by ``write_run``."""
    folder = Path(folder)
    summary = folder / "summary.parquet"
    if not summary.is_file():
        raise FileNotFoundError(f"{folder}: no summary.parquet (not a finished run)")
    tables = {
        name: pq.read_table(folder / f"{name}.parquet")
        for name in TABLES
        if (folder / f"{name}.parquet").is_file()
    }
    return RunData(tables, read_metadata(summary))


def _steps_and_replicates(results: list[Result]) -> tuple[np.ndarray, np.ndarray]:
    lengths = [len(r.counts) for r in results]
    replicate = np.repeat(np.arange(len(results), dtype=np.int32), lengths)
    step = np.concatenate([np.arange(n, dtype=np.int32) for n in lengths])
    return replicate, step


def _timeseries(results: list[Result]) -> pa.Table:
    replicate, step = _steps_and_replicates(results)
    counts = np.concatenate([r.counts for r in results])
    columns = {"replicate": replicate, "step": step}
    columns.update({s: counts[:, k].astype(np.int64) for k, s in enumerate(STATES)})
    columns["new_detections"] = np.concatenate([r.new_detections for r in results]).astype(np.int64)
    return pa.table(columns)


def _regions(results: list[Result], region_provinces: tuple[str, ...] | None) -> pa.Table:
    """State counts per replicate, step and region, with the region's province.

    ``province`` is dictionary-encoded (the names in order of first region); it is null for a
    world without provinces.
    """
    replicate, step = _steps_and_replicates(results)
    n_regions = results[0].region_counts.shape[1]
    counts = np.concatenate([r.region_counts.reshape(-1, len(STATES)) for r in results])
    region = np.tile(np.arange(n_regions, dtype=np.int32), len(step))
    columns = {
        "replicate": np.repeat(replicate, n_regions),
        "step": np.repeat(step, n_regions),
        "region": region,
        "province": _provinces(region, region_provinces),
    }
    columns.update({s: counts[:, k].astype(np.int64) for k, s in enumerate(STATES)})
    return pa.table(columns)


def _provinces(region: np.ndarray, region_provinces: tuple[str, ...] | None) -> pa.Array:
    """The province name of each row's region, as a dictionary array."""
    kind = pa.dictionary(pa.int32(), pa.string())
    if region_provinces is None:
        return pa.nulls(len(region), kind)
    names = list(dict.fromkeys(region_provinces))
    code = np.array([names.index(name) for name in region_provinces], dtype=np.int32)
    return pa.DictionaryArray.from_arrays(code[region], names)


def _media(results: list[Result]) -> pa.Table:
    """Columns ``usb_W`` ... ``dvd_D``: agents in each state by the medium they last saw."""
    replicate, step = _steps_and_replicates(results)
    counts = np.concatenate([r.medium_counts for r in results])
    columns = {"replicate": replicate, "step": step}
    for k, medium in enumerate(MEDIA):
        columns.update({f"{medium}_{s}": counts[:, k, j] for j, s in enumerate(STATES) if s != "S"})
    return pa.table(columns)
