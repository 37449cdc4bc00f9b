"""Parameter sweeps on real Dask schedulers and workers on 127.0.0.1, real Parquet files.

Covers: designs, the seed scheme, the per-worker network cache, bit-identical results whatever
the workers, a worker killed mid-sweep, Ctrl-C and resume, a folder holding another sweep, and
the SLURM/PBS job scripts (no batch system is installed here, so only the scripts are checked).
"""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from distributed import Client

from diffusion import simulate
from diffusion.cli import main
from diffusion.config import load_config, validate_config
from diffusion.runner import run_scenario
from diffusion.sweep.clusters import jobqueue_cluster
from diffusion.sweep.config import ClusterConfig
from diffusion.sweep.designs import make_design
from diffusion.sweep.run import (
    MANIFEST,
    NetworkCache,
    Sweep,
    finished_points,
    network_builds,
    point_path,
    run_point,
    run_sweep,
)

CONFIG = """
[network]
type = "erdos_renyi"
n = 4000
mean_degree = 6
seed = 3

[model]
beta = 0.06
gamma = 0.2
delta = 0.01

[run]
seeds = 5

[sweep]
design = "grid"
seed = 11
replicates = {replicates}
time_series = {series}

[sweep.parameters]
"model.delta" = {deltas}
"network.mean_degree" = {degrees}
"""


def write_config(
    folder: Path,
    name: str = "sweep.toml",
    replicates: int = 4,
    series: bool = True,
    deltas: tuple[float, ...] = (0.0, 0.01, 0.02, 0.05),
    degrees: tuple[int, ...] = (4, 8),
) -> Path:
    """A tiny grid sweep over detection and the network's mean degree (so networks differ)."""
    path = folder / name
    path.write_text(
        CONFIG.format(
            replicates=replicates,
            series=str(series).lower(),
            deltas=list(deltas),
            degrees=list(degrees),
        )
    )
    return path


def slow_config(folder: Path, name: str = "slow.toml", replicates: int = 150) -> Path:
    """24 points of ``replicates`` short runs each: seconds on two workers, long enough to
    disturb."""
    deltas = tuple(np.round(np.linspace(0.0, 0.03, 12), 4).tolist())
    return write_config(
        folder, name, replicates=replicates, series=False, deltas=deltas, degrees=(8, 9)
    )


def read(out: Path, kind: str = "points") -> pd.DataFrame:
    """A sweep's dataset, in point / replicate (/ step) order."""
    frame = pd.read_parquet(out / kind)
    keys = ["point", "replicate"] + (["step"] if "step" in frame else [])
    return frame.sort_values(keys).reset_index(drop=True)


@functools.cache
def _serial(text: str) -> pd.DataFrame:
    config = validate_config(tomllib.loads(text))
    sweep = Sweep.from_config(config)
    rows = []
    for p, values in enumerate(sweep.design.points):
        point = config.with_overrides(values)
        network = point.network.build()
        for r in range(config.sweep.replicates):
            rng = np.random.SeedSequence(config.sweep.seed, spawn_key=(r,))
            result = simulate(network, point.model, seeds=point.run.seeds, rng=rng)
            rows.append({"point": p, "replicate": r, **values, **result.summary()})
    return pd.DataFrame(rows)


def serial_summaries(config_path: Path) -> pd.DataFrame:
    """The sweep computed here without Dask, from the documented seed scheme."""
    return _serial(config_path.read_text()).copy()


def sweep_cli(*args: str | Path) -> subprocess.Popen:
    """``diffusion sweep ...`` as a real process (stdout and stderr piped)."""
    code = "from diffusion.cli import main; main()"
    return subprocess.Popen(
        [sys.executable, "-c", code, "sweep", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(condition, timeout: float = 60.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.02)


@contextmanager
def dask_processes(folder: Path, n_workers: int = 2) -> Iterator[tuple[str, dict[int, int]]]:
    """A ``dask scheduler`` and ``n_workers`` single-threaded ``dask worker`` processes.

    Yields the scheduler address and a map from worker pid to its process (index in ``procs``);
    the scheduler picks a free port and reports it in a scheduler file.
    """
    scheduler_file = folder / "scheduler.json"
    log = open(folder / "dask.log", "w")  # noqa: SIM115 - closed in the finaliser
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
             "--port", "0", "--no-dashboard", "--scheduler-file", str(scheduler_file)],
            stdout=log, stderr=subprocess.STDOUT,
        )
    ]  # fmt: skip
    try:
        wait_for(scheduler_file.exists, what="the scheduler file")
        wait_for(lambda: "address" in scheduler_file.read_text(), what="the scheduler address")
        address = json.loads(scheduler_file.read_text())["address"]
        for i in range(n_workers):
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "distributed.cli.dask_worker", address,
                     "--nthreads", "1", "--no-nanny", "--no-dashboard", "--host", "127.0.0.1",
                     "--name", f"worker-{i}"],
                    stdout=log, stderr=subprocess.STDOUT,
                )
            )  # fmt: skip
        with Client(address) as client:
            client.wait_for_workers(n_workers, timeout=60)
        yield address, {p.pid: p for p in procs[1:]}
    finally:  # workers first, so that they can say goodbye to the scheduler
        for group in (procs[1:], procs[:1]):
            for proc in group:
                proc.terminate()
            for proc in group:
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        log.close()


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory) -> Iterator[str]:
    """The address of a real scheduler with two real worker processes, for the whole module."""
    with dask_processes(tmp_path_factory.mktemp("dask")) as (address, _):
        yield address


# ---------------------------------------------------------------------------------- designs
def test_grid_design_takes_every_combination_last_parameter_fastest() -> None:
    design = make_design(
        "grid", {"model.delta": [0, 0.5], "network.travel": {"low": 0, "high": 1, "num": 3}}
    )
    assert [tuple(p.values()) for p in design.points] == [
        (0.0, 0.0), (0.0, 0.5), (0.0, 1.0), (0.5, 0.0), (0.5, 0.5), (0.5, 1.0),
    ]  # fmt: skip
    assert all(isinstance(p["model.delta"], float) for p in design.points)  # 0 joined 0.5


def test_latin_hypercube_uses_every_stratum_once_and_is_reproducible() -> None:
    parameters = {"model.delta": {"low": 0.0, "high": 0.1}, "model.mode": ["edge", "group"]}
    design = make_design("lhs", parameters, points=10, seed=5)
    delta = np.array([p["model.delta"] for p in design.points])
    assert sorted(np.floor(delta / 0.01).astype(int)) == list(range(10))
    assert [p["model.mode"] for p in design.points].count("edge") == 5
    assert make_design("lhs", parameters, points=10, seed=5) == design
    assert make_design("lhs", parameters, points=10, seed=6) != design


def test_random_design_draws_inside_ranges_from_its_seed() -> None:
    parameters = {"model.beta": {"low": 0.02, "high": 0.04}, "run.seeds": [1, 5, 10]}
    design = make_design("random", parameters, points=200, seed=1)
    beta = np.array([p["model.beta"] for p in design.points])
    assert beta.min() >= 0.02 and beta.max() <= 0.04
    assert {p["run.seeds"] for p in design.points} == {1, 5, 10}
    assert make_design("random", parameters, points=200, seed=1) == design


@pytest.mark.parametrize(
    ("kind", "parameters", "points", "message"),
    [
        ("grid", {"model.delta": {"low": 0, "high": 1}}, None, "model.delta.num: required"),
        ("grid", {"model.delta": [0.1]}, 3, "sweep.points: only for random and lhs"),
        ("lhs", {"model.delta": {"low": 0, "high": 1}}, None, "sweep.points: None must be"),
        ("random", {"model.delta": {"low": 1, "high": 0}}, 4, "model.delta.high: 0.0 must be"),
        ("grid", {"model.mode": ["edge", 1]}, None, "model.mode: values must be all numbers"),
        ("sobol", {"model.delta": [0.1]}, None, "sweep.design: 'sobol' is not one of"),
    ],
)
def test_design_errors_name_the_field(kind, parameters, points, message) -> None:
    with pytest.raises(ValueError, match=message):
        make_design(kind, parameters, points=points, seed=1)


# ---------------------------------------------------------------------------------- pieces
def test_points_share_their_replicates_seeds_with_diffusion_run(tmp_path) -> None:
    """Replicate r of every point runs under the seed of replicate r of ``diffusion run`` with
    ``run.seed = sweep.seed``: common random numbers across the design."""
    config = load_config(write_config(tmp_path))
    sweep = Sweep.from_config(config)
    values = sweep.design.points[1]
    assert sweep.engine == "event"  # every point is the SIR reduction: run_scenario's kernel
    point = run_point(
        sweep.task_payload(), sweep.network_keys[1], 1, values, 11, 2, False, sweep.engine
    )
    scenario = config.with_overrides({**values, "run.seed": 11, "run.replicates": 2})
    expected = run_scenario(scenario)
    assert point.summaries == [r.summary() for r in expected.results]


@pytest.mark.parametrize(
    ("path", "ends"),
    [("model.p_implicate", [0.0, 1e-9]), ("model.informant_risk", [1.0, 3.0])],
)
def test_a_design_runs_on_one_kernel_at_the_ends_of_a_range(tmp_path, path, ends) -> None:
    """A point exactly at the SIR reduction and its neighbour run on the same kernel, so a
    parameter that cannot matter here (no informants; an implication never drawn) changes no
    replicate: the ends of its range give identical runs (issue 20, A1)."""
    text = write_config(tmp_path).read_text().split("[sweep.parameters]")[0]
    config = tmp_path / "ends.toml"
    config.write_text(f'{text}[sweep.parameters]\n"{path}" = {ends}\n')
    sweep = Sweep.from_config(load_config(config))
    assert sweep.engine == "calendar"
    first, second = (
        run_point(sweep.task_payload(), sweep.network_keys[k], k, sweep.design.points[k], 11, 3,
                  False, sweep.engine)
        for k in range(2)
    )  # fmt: skip
    assert first.summaries == second.summaries
    assert first.summaries[0]["reach"] > 5  # the runs spread: the comparison is not vacuous


def test_network_cache_builds_once_per_hash_and_keeps_within_budget(tmp_path) -> None:
    config = load_config(write_config(tmp_path))
    other = config.with_overrides({"network.mean_degree": 4})
    cache = NetworkCache(budget_bytes=1)  # room for the network in use only
    first = cache.get("a", config)
    assert cache.get("a", config) is first and cache.builds == 1
    cache.get("b", other)
    assert cache.builds == 2
    assert cache.get("a", config) is not first and cache.builds == 3  # "a" was evicted
    roomy = NetworkCache()
    for key, cfg in [("a", config), ("b", other), ("a", config), ("b", other)]:
        roomy.get(key, cfg)
    assert roomy.builds == 2


# ---------------------------------------------------------------------------------- on Dask
def test_scheduler_sweep_equals_local_single_worker_bit_for_bit(tmp_path, scheduler) -> None:
    config = write_config(tmp_path)
    with Client(scheduler) as client:
        builds_before = client.run(network_builds)
        on_scheduler = CliRunner().invoke(
            main, ["sweep", str(config), "--out", str(tmp_path / "a"), "--scheduler", scheduler,
                   "--quiet"],
        )  # fmt: skip
        assert on_scheduler.exit_code == 0, on_scheduler.output
        assert on_scheduler.output == ""  # --quiet
        builds = client.run(network_builds)
    # 8 tasks over 2 networks: each worker built each network at most once, never per task
    assert all(0 <= builds[w] - builds_before[w] <= 2 for w in builds)
    assert sum(builds[w] - builds_before[w] for w in builds) >= 2

    local = CliRunner().invoke(
        main, ["sweep", str(config), "--out", str(tmp_path / "b"), "--workers", "1"]
    )
    assert local.exit_code == 0, local.output
    assert "sweep: 8/8 points done" in local.stderr  # plain progress lines off a terminal
    assert "8 points x 4 replicates" in local.stdout

    for kind in ("points", "series"):
        pd.testing.assert_frame_equal(read(tmp_path / "a", kind), read(tmp_path / "b", kind))
    summaries = read(tmp_path / "a")
    pd.testing.assert_frame_equal(summaries, serial_summaries(config))
    assert set(summaries.columns) >= {"point", "replicate", "model.delta", "network.mean_degree"}
    series = read(tmp_path / "a", "series")
    assert list(series.columns[-6:]) == ["S", "W", "I", "R", "D", "new_detections"]
    last = series.groupby(["point", "replicate"]).tail(1).reset_index(drop=True)
    assert np.array_equal(last["D"], summaries["detected"])

    with_dask = dd.read_parquet(str(tmp_path / "a" / "points")).compute()
    keys = ["point", "replicate"]
    pd.testing.assert_frame_equal(
        with_dask.sort_values(keys).reset_index(drop=True), summaries, check_index_type=False
    )
    manifest = json.loads((tmp_path / "a" / MANIFEST).read_text())
    assert manifest["design"]["kind"] == "grid" and len(manifest["design"]["points"]) == 8
    assert manifest["config"]["sweep"]["seed"] == 11


def test_killed_worker_loses_no_point(tmp_path) -> None:
    config = slow_config(tmp_path)
    sweep = Sweep.from_config(load_config(config))
    out = tmp_path / "out"
    with dask_processes(tmp_path) as (address, workers), Client(address) as client:
        outcome: dict = {}
        runner = threading.Thread(
            target=lambda: outcome.update(result=run_sweep(sweep, out, client)), daemon=True
        )
        runner.start()
        wait_for(lambda: finished_points(out), what="the first point file")
        busy = [w for w, tasks in client.processing().items() if tasks]
        victim = client.run(os.getpid, workers=busy[:1])[busy[0]]
        workers[victim].kill()  # SIGKILL while it runs a point
        workers[victim].wait()
        runner.join(timeout=120)
        assert not runner.is_alive()
        assert len(client.nthreads()) == 1
    assert outcome["result"].ran == len(sweep.design) == 24
    assert finished_points(out) == set(range(24))
    summaries = read(out)
    assert not summaries.duplicated(["point", "replicate"]).any()
    assert summaries.groupby("point").size().eq(150).all()
    pd.testing.assert_frame_equal(summaries, serial_summaries(config))


def test_interrupted_sweep_resumes_without_redoing_points(tmp_path, scheduler) -> None:
    config = slow_config(tmp_path)
    out = tmp_path / "out"
    process = sweep_cli(config, "--out", out, "--scheduler", scheduler)
    wait_for(lambda: len(finished_points(out)) >= 3, what="three point files")
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "interrupted with" in stderr and "run the same command again to resume" in stderr

    done = finished_points(out)
    assert 3 <= len(done) < 24
    partial = read(out)  # a valid dataset of whole points
    assert set(partial["point"]) == done and partial.groupby("point").size().eq(150).all()
    assert not [p.name for p in (out / "points").iterdir() if not p.name.startswith("part-")]
    mtimes = {p: point_path(out, p).stat().st_mtime_ns for p in done}

    resumed = CliRunner().invoke(main, ["sweep", str(config), "--out", str(out),
                                        "--scheduler", scheduler])  # fmt: skip
    assert resumed.exit_code == 0, resumed.output
    assert f"{len(done)} of 24 points already done" in resumed.stdout
    assert f"{24 - len(done)} run now, {len(done)} found done" in resumed.stdout
    assert {p: point_path(out, p).stat().st_mtime_ns for p in done} == mtimes
    pd.testing.assert_frame_equal(read(out), serial_summaries(config))


def test_folder_with_another_sweep_is_refused(tmp_path, scheduler) -> None:
    out = tmp_path / "out"
    first = write_config(tmp_path, "first.toml", replicates=2, deltas=(0.0, 0.02), degrees=(4,))
    args = ["--out", str(out), "--scheduler", scheduler, "--quiet"]
    assert CliRunner().invoke(main, ["sweep", str(first), *args]).exit_code == 0
    before = sorted(p.stat().st_mtime_ns for p in (out / "points").iterdir())

    other = write_config(tmp_path, "other.toml", replicates=3, deltas=(0.0, 0.02), degrees=(4,))
    refused = CliRunner().invoke(main, ["sweep", str(other), *args])
    assert refused.exit_code == 2
    assert "holds a different sweep (differs in config.sweep.replicates" in refused.stderr
    assert sorted(p.stat().st_mtime_ns for p in (out / "points").iterdir()) == before

    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    busy = CliRunner().invoke(main, ["sweep", str(first), "--out", str(tmp_path / "busy")])
    assert busy.exit_code == 2 and "is not empty and holds no sweep.json" in busy.stderr


# ---------------------------------------------------------------------------------- batch jobs
BATCH = {"queue": "short", "cores": 4, "memory": "8GB", "walltime": "02:30:00", "account": "p1"}


def test_slurm_job_script_requests_the_cluster_section() -> None:
    with jobqueue_cluster(ClusterConfig(type="slurm", jobs=3, **BATCH)) as cluster:
        script = cluster.job_script()
    assert "#SBATCH -p short" in script
    assert "#SBATCH -A p1" in script
    assert "#SBATCH --cpus-per-task=4" in script
    assert "#SBATCH --mem=8G" in script
    assert "#SBATCH -t 02:30:00" in script
    # one single-threaded worker process per core, sharing the job's memory
    assert "--nthreads 1 --memory-limit 1.86GiB --nworkers 4" in script
    # workers retire at 90% of the walltime, before SLURM kills the job
    assert "--lifetime 8100s --lifetime-stagger 180s" in script
    assert """PRE_SPAWN_ENVIRON='{"MALLOC_TRIM_THRESHOLD_": None}'""" in script


def test_pbs_job_script_requests_the_cluster_section() -> None:
    with jobqueue_cluster(ClusterConfig(type="pbs", **BATCH)) as cluster:
        script = cluster.job_script()
    assert "#PBS -q short" in script
    assert "#PBS -A p1" in script
    assert "#PBS -l select=1:ncpus=4:mem=7630MB" in script  # 8 GB in MiB
    assert "#PBS -l walltime=02:30:00" in script


FAKE_SBATCH = """#!/bin/sh
# Stands in for SLURM's sbatch: runs the job script in the background on this machine.
id=$$
cp "$1" "$FAKE_SLURM/job-$id.sh"
setsid sh "$FAKE_SLURM/job-$id.sh" > "$FAKE_SLURM/job-$id.log" 2>&1 < /dev/null &
echo $! > "$FAKE_SLURM/job-$id.pid"
echo "Submitted batch job $id"
"""
FAKE_SCANCEL = """#!/bin/sh
kill -TERM -- -"$(cat "$FAKE_SLURM/job-$1.pid")"
"""


def test_cluster_slurm_runs_the_sweep_in_batch_jobs(tmp_path, monkeypatch) -> None:
    """``--cluster slurm`` end to end, with sbatch/scancel stand-ins that run jobs locally."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in (("sbatch", FAKE_SBATCH), ("scancel", FAKE_SCANCEL)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_SLURM", str(tmp_path))
    config = write_config(tmp_path, replicates=3, series=False)
    with open(config, "a") as handle:
        handle.write('\n[cluster]\ncores = 1\nmemory = "1GB"\nwalltime = "00:10:00"\njobs = 2\n')
    out = tmp_path / "out"
    try:
        result = CliRunner().invoke(
            main, ["sweep", str(config), "--out", str(out), "--cluster", "slurm", "--quiet"]
        )
    finally:
        for pid_file in tmp_path.glob("job-*.pid"):  # in case scancel was never called
            try:
                os.killpg(int(pid_file.read_text()), signal.SIGKILL)
            except ProcessLookupError:
                pass
    assert result.exit_code == 0, result.output
    jobs = sorted(tmp_path.glob("job-*.sh"))
    assert len(jobs) >= 2  # adaptive scaling with minimum = maximum = 2 jobs
    assert "#SBATCH --mem=954M" in jobs[0].read_text()
    pd.testing.assert_frame_equal(read(out), serial_summaries(config))


def test_cluster_option_without_a_batch_system_is_a_clear_error(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no sbatch here, even where SLURM is installed
    config = write_config(tmp_path)
    with open(config, "a") as handle:
        handle.write('\n[cluster]\nmemory = "8GB"\n')
    result = CliRunner().invoke(
        main, ["sweep", str(config), "--out", str(tmp_path / "o"), "--cluster", "slurm"]
    )
    assert result.exit_code == 2
    assert "--cluster slurm: sbatch is not on PATH" in result.stderr
    assert not (tmp_path / "o").exists()
    args = ["--out", str(tmp_path / "o"), "--scheduler", "tcp://127.0.0.1:1", "--workers", "2"]
    bad = CliRunner().invoke(main, ["sweep", str(config), *args])
    assert bad.exit_code == 2 and "--workers: only for a local cluster" in bad.stderr
