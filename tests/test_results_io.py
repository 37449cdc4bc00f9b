"""Parquet results: tables, columns and metadata of a run, determinism, atomic writes."""

import json
import os
import signal
import subprocess
import sys
import textwrap
from datetime import datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import diffusion
from diffusion import Network, simulate
from diffusion.config import validate_config
from diffusion.results import Result
from diffusion.results.io import read_run, write_parquet
from diffusion.runner import ScenarioRun, replicate_seeds, run_scenario, write_run

CONFIG = {
    "network": {"type": "erdos_renyi", "n": 2000, "mean_degree": 6, "seed": 4},
    "model": {"beta": 0.12, "gamma": 0.2, "delta": 0.03},
    "run": {"replicates": 4, "seed": 11, "seeds": 5},
}


@pytest.fixture(scope="module")
def scenario() -> ScenarioRun:
    return run_scenario(validate_config(CONFIG))


def test_runner_uses_one_spawned_stream_per_replicate(scenario):
    config = scenario.config
    network = config.network.build()
    for result, stream in zip(scenario.results, replicate_seeds(11, 4), strict=True):
        again = simulate(network, config.model, seeds=5, rng=stream)
        assert np.array_equal(result.counts, again.counts)
    assert len({r.counts.tobytes() for r in scenario.results}) == 4  # independent streams


def test_a_run_writes_its_tables_with_the_expected_columns(scenario, tmp_path):
    paths = write_run(scenario, tmp_path)
    assert set(paths) == {"timeseries", "channels", "summary"}  # no regions in the reduction
    series = pq.read_table(paths["timeseries"])
    assert series.column_names == ["replicate", "step", "S", "W", "I", "R", "D", "new_detections"]
    assert series.num_rows == sum(len(r.counts) for r in scenario.results)
    first = series.filter(pc.equal(series["replicate"], 2))
    assert np.array_equal(first["I"].to_numpy(), scenario.results[2].counts[:, 2])
    assert np.array_equal(first["step"].to_numpy(), np.arange(len(scenario.results[2].counts)))
    summary = pq.read_table(paths["summary"]).to_pylist()
    assert [row["replicate"] for row in summary] == [0, 1, 2, 3]
    assert all(row["seed"] == 11 for row in summary)
    for row, result in zip(summary, scenario.results, strict=True):
        assert {k: row[k] for k in result.summary()} == result.summary()


def test_every_file_describes_the_run(scenario, tmp_path):
    write_run(scenario, tmp_path)
    data = read_run(tmp_path)
    meta = data.metadata
    assert meta["config"] == scenario.config.resolved()
    assert meta["config"]["model"]["beta"] == 0.12
    assert meta["seed"] == 11 and meta["replicates"] == 4
    assert meta["version"] == diffusion.__version__
    assert meta["run_seconds"] == scenario.run_seconds >= 0
    assert datetime.fromisoformat(meta["created"]).tzinfo is not None
    assert meta["network_hash"] == scenario.config.content_hash()
    for name in ("timeseries", "summary"):
        raw = pq.read_schema(tmp_path / f"{name}.parquet").metadata[b"diffusion"]
        assert json.loads(raw) == meta


def test_same_config_and_seed_give_identical_tables(tmp_path):
    config = validate_config(CONFIG)
    write_run(run_scenario(config), tmp_path / "a")
    write_run(run_scenario(config), tmp_path / "b")
    for name in ("timeseries", "summary"):
        a = pq.read_table(tmp_path / "a" / f"{name}.parquet").replace_schema_metadata(None)
        b = pq.read_table(tmp_path / "b" / f"{name}.parquet").replace_schema_metadata(None)
        assert a.equals(b)
    other = validate_config({**CONFIG, "run": {**CONFIG["run"], "seed": 12}})
    write_run(run_scenario(other), tmp_path / "c")
    a, c = (pq.read_table(tmp_path / d / "timeseries.parquet") for d in "ac")
    assert not c.replace_schema_metadata(None).equals(a.replace_schema_metadata(None))


def two_region_run(config_data: dict, steps: int = 40) -> ScenarioRun:
    """A country of two sealed regions (two separate ER graphs), run by the real kernel.

    Every copy is a USB drive in the reduced model, so the USB holders are the I agents.
    """
    config = validate_config({**config_data, "run": {**config_data["run"], "steps": steps}})
    regions = [Network.erdos_renyi(600, 6, seed=s) for s in (1, 2)]
    results = []
    for stream in replicate_seeds(config.run.seed, config.run.replicates):
        a, b = (
            simulate(net, config.model, seeds=3, rng=s, steps=steps)
            for net, s in zip(regions, stream.spawn(2), strict=True)
        )
        by_medium = np.zeros((steps + 1, 2, 5), dtype=np.int64)
        by_medium[:, 0, 1:] = a.counts[:, 1:] + b.counts[:, 1:]  # all informed by USB
        results.append(
            Result(
                counts=a.counts + b.counts,
                new_detections=a.new_detections + b.new_detections,
                region_counts=np.stack([a.counts, b.counts], axis=1),
                media=("usb", "dvd"),
                medium_counts=by_medium,
                lent_copies=np.zeros((steps + 1, 2), dtype=np.int64),
            )
        )
    return ScenarioRun(config, results, 0.0, 0.0)


def test_regions_and_media_tables_when_recorded(tmp_path):
    run = two_region_run(CONFIG)
    paths = write_run(run, tmp_path)
    assert list(paths) == ["timeseries", "regions", "media", "summary"]
    regions = pq.read_table(paths["regions"])
    # two bare networks pieced together: no world, so no province column
    assert regions.column_names == ["replicate", "step", "region", "S", "W", "I", "R", "D"]
    assert regions.num_rows == 4 * 41 * 2
    mask = pc.and_(pc.equal(regions["region"], 1), pc.equal(regions["replicate"], 3))
    rows = regions.filter(mask)
    assert np.array_equal(rows["R"].to_numpy(), run.results[3].region_counts[:, 1, 3])
    media = pq.read_table(paths["media"])
    assert media.column_names == ["replicate", "step"] + [
        f"{m}_{s}" for m in ("usb", "dvd") for s in "WIRD"
    ] + ["dvd_copies"]
    assert np.array_equal(media["usb_I"].to_numpy()[:41], run.results[0].counts[:, 2])
    assert np.array_equal(media["usb_D"].to_numpy()[:41], run.results[0].counts[:, 4])
    # replacing the folder with a run that has no regions leaves none of the old tables
    write_run(run_scenario(validate_config(CONFIG)), tmp_path, replace=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "channels.parquet",
        "summary.parquet",
        "timeseries.parquet",
    ]


def test_a_write_that_fails_midway_leaves_no_file(tmp_path, monkeypatch):
    table = pa.table({"x": np.arange(100_000)})

    def failing_write(table, where, **kwargs):
        where.write(b"PAR1" + b"\0" * 1000)
        raise OSError("disk full")

    monkeypatch.setattr(pq, "write_table", failing_write)
    with pytest.raises(OSError, match="disk full"):
        write_parquet(table, tmp_path / "t.parquet")
    assert list(tmp_path.iterdir()) == []


def test_a_killed_writer_leaves_no_file_that_looks_complete(tmp_path):
    """SIGKILL in the middle of a write: the old file is intact, the new one never appears."""
    old = pa.table({"x": np.arange(10)})
    write_parquet(old, tmp_path / "old.parquet")
    child = textwrap.dedent(
        """
        import sys, time
        import numpy as np, pyarrow as pa, pyarrow.parquet as pq
        from diffusion.results.io import write_parquet

        real = pq.write_table
        def slow_write(table, where, **kwargs):
            where.write(b"PAR1" + b"\\0" * 4096)   # the first part of the file
            where.flush()
            print("writing", flush=True)
            time.sleep(60)
        pq.write_table = slow_write
        target = sys.argv[1]
        write_parquet(pa.table({"x": np.arange(10**6)}), target)
        """
    )
    for target in ("new.parquet", "old.parquet"):
        proc = subprocess.Popen(
            [sys.executable, "-c", child, str(tmp_path / target)], stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout.readline().strip() == "writing"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names[-1] == "old.parquet" and "new.parquet" not in names
    assert all(n.startswith(".") and n.endswith(".tmp") for n in names[:-1]) and len(names) == 3
    assert pq.read_table(tmp_path / "old.parquet").equals(old)
    assert pq.read_table(tmp_path).num_rows == 10  # Parquet readers skip hidden temp files


def test_reading_a_folder_without_a_finished_run(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a finished run"):
        read_run(tmp_path)
