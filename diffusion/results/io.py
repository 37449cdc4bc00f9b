"""A run's results as Parquet files that describe themselves, each written atomically.

A result folder holds ``timeseries.parquet`` (state counts per replicate and step, with dates
when the model has a calendar), ``summary.parquet`` (one row per replicate) and, when the model
records them, ``regions.parquet`` (counts per region), ``media.parquet`` (informed agents per
medium and state) and ``channels.parquet`` (people first reached per step, by province, channel
and medium). Every file carries the same JSON metadata under the key ``diffusion``: the resolved
config, the seed, the package version, the run time and when it was written.
The folder is written as a unit (``diffusion.results.folder``): built under a temporary name and
renamed into place, so it holds one whole run or the previous content, never a mixture.

This module knows results, not configs or runners: the caller (``diffusion.runner``) passes in
the seed, the lent media and the metadata it records.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from diffusion._io import atomic_write
from diffusion._lazy import lazy_module
from diffusion.results import STATES, Result
from diffusion.ties import CHANNELS
from diffusion.world import World

pa = lazy_module("pyarrow")
pq = lazy_module("pyarrow.parquet")

METADATA_KEY = b"diffusion"
TABLES: tuple[str, ...] = ("timeseries", "regions", "media", "channels", "summary")
"""The tables of a run folder, in the order they are written (``summary`` last)."""


@dataclass(frozen=True)
class RunData:
    """A run folder read back: its tables (absent ones omitted) and its metadata."""

    tables: dict[str, pa.Table]
    metadata: dict[str, Any]


def write_parquet(table: pa.Table, path: str | Path) -> Path:
    """Write ``table`` to the Parquet file ``path`` atomically (``diffusion._io.atomic_write``)."""
    return atomic_write(path, lambda handle: pq.write_table(table, handle))


def run_tables(
    results: list[Result], world: World | None, lent: tuple[str, ...], seed: int
) -> dict[str, pa.Table]:
    """The tables of a run's replicates (without metadata); regions and media only when
    recorded. ``lent``: the media that are lent (their copies in circulation are counted);
    ``seed``: the run's root seed, a column of the summary."""
    tables = {"timeseries": _timeseries(results)}
    if all(r.region_counts is not None for r in results):
        tables["regions"] = _regions(results, world)
    if all(r.medium_counts is not None for r in results):
        tables["media"] = _media(results, lent)
    if world is not None and all(r.reached is not None for r in results):
        tables["channels"] = _channels(results, world)
    rows = [{"replicate": i, "seed": seed, **r.summary()} for i, r in enumerate(results)]
    tables["summary"] = pa.Table.from_pylist(rows)
    return tables


def write_tables(
    tables: dict[str, pa.Table], metadata: dict[str, Any], folder: Path
) -> dict[str, Path]:
    """Write a run's tables into the new, empty ``folder``, each carrying ``metadata`` (JSON
    under ``METADATA_KEY``); returns the paths by table."""
    meta = {METADATA_KEY: json.dumps(metadata).encode()}
    return {
        name: write_parquet(tables[name].replace_schema_metadata(meta), folder / f"{name}.parquet")
        for name in TABLES
        if name in tables
    }


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


def _dates(results: list[Result]) -> dict[str, np.ndarray]:
    """A ``date`` column (each row's day) when the runs have a calendar."""
    if results[0].start is None:
        return {}
    return {"date": np.concatenate([r.dates() for r in results])}


def _timeseries(results: list[Result]) -> pa.Table:
    replicate, step = _steps_and_replicates(results)
    counts = np.concatenate([r.counts for r in results])
    columns = {"replicate": replicate, "step": step, **_dates(results)}
    columns.update({s: counts[:, k].astype(np.int64) for k, s in enumerate(STATES)})
    columns["new_detections"] = np.concatenate([r.new_detections for r in results]).astype(np.int64)
    if all(r.entered is not None for r in results):
        columns["entered"] = np.concatenate([r.entered for r in results])
    return pa.table(columns)


def _regions(results: list[Result], world: World | None) -> pa.Table:
    """State counts per replicate, step and region, with the region's province (dictionary-
    encoded names; a bare network is one region in the province ``all``) and whether it is a
    border region."""
    replicate, step = _steps_and_replicates(results)
    n_regions = results[0].region_counts.shape[1]
    counts = np.concatenate([r.region_counts.reshape(-1, len(STATES)) for r in results])
    region = np.tile(np.arange(n_regions, dtype=np.int32), len(step))
    columns = {
        "replicate": np.repeat(replicate, n_regions),
        "step": np.repeat(step, n_regions),
        "region": region,
    }
    if world is not None:
        code = world.region_province.astype(np.int32)[region]
        columns["province"] = pa.DictionaryArray.from_arrays(code, list(world.province_names))
        columns["border"] = world.region_border[region]
    columns.update({s: counts[:, k].astype(np.int64) for k, s in enumerate(STATES)})
    return pa.table(columns)


def _media(results: list[Result], lent: tuple[str, ...]) -> pa.Table:
    """Columns ``<medium>_W`` ... ``<medium>_D`` per medium (agents in each state by the medium
    they last saw) and ``<medium>_copies`` for lent media (objects in circulation)."""
    replicate, step = _steps_and_replicates(results)
    counts = np.concatenate([r.medium_counts for r in results])
    copies = np.concatenate([r.lent_copies for r in results])
    columns = {"replicate": replicate, "step": step, **_dates(results)}
    for k, medium in enumerate(results[0].media):
        columns.update({f"{medium}_{s}": counts[:, k, j] for j, s in enumerate(STATES) if s != "S"})
        if medium in lent:
            columns[f"{medium}_copies"] = copies[:, k]
    return pa.table(columns)


def _channels(results: list[Result], world: World) -> pa.Table:
    """People first reached in each step, by province, channel and medium (non-zero rows)."""
    province_of_agent = world.region_province[world.agents["region"]]
    names = world.province_names
    parts = []
    for replicate, result in enumerate(results):
        counts = result.channel_counts(by=province_of_agent, groups=len(names))
        step, province, channel, medium = np.nonzero(counts)
        part = {
            "replicate": np.full(len(step), replicate, dtype=np.int32),
            "step": step.astype(np.int32),
        }
        if result.start is not None:
            part["date"] = result.dates()[step]
        part.update(
            province=np.asarray(names, dtype=object)[province],
            channel=np.asarray(CHANNELS, dtype=object)[channel],
            medium=np.asarray(result.media, dtype=object)[medium],
            reached=counts[step, province, channel, medium],
        )
        parts.append(pa.table(part))
    return pa.concat_tables(parts)
