"""``diffusion sweep --cluster slurm`` on a real single-node SLURM (``.ci/slurm-up``): real
``sbatch`` jobs running Dask workers. Skipped, with the reason shown, where SLURM is not running.

Small on purpose (tiny networks, short points): the three tests take two to three minutes."""

from __future__ import annotations

import re
import subprocess
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from test_sweep import (
    finished_points,
    read,
    serial_summaries,
    slow_config,
    sweep_cli,
    wait_for,
    write_config,
)

from diffusion.cli import main


def add_cluster(config: Path, walltime: str = "00:10:00", jobs: int = 2) -> Path:
    with open(config, "a") as handle:
        handle.write(
            f'\n[cluster]\ncores = 1\nmemory = "1GB"\nwalltime = "{walltime}"\njobs = {jobs}\n'
        )
    return config


class JobWatch:
    """Polls ``squeue`` in a thread and records every job id seen and its last state."""

    def __init__(self) -> None:
        self.states: dict[int, str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.is_set():
            out = subprocess.run(
                ["squeue", "-h", "-o", "%i %T"], capture_output=True, text=True
            ).stdout
            for line in out.splitlines():
                job, state = line.split()
                self.states[int(job)] = state
            time.sleep(0.5)

    def running(self) -> list[int]:
        return sorted(j for j, s in self.states.items() if s == "RUNNING")

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def final_state(job: int) -> tuple[str, str]:
    """A finished job's state and run time (``scontrol``: accounting is off on the CI cluster)."""
    text = subprocess.run(
        ["scontrol", "show", "job", str(job)], capture_output=True, text=True
    ).stdout
    state = re.search(r"JobState=(\S+)", text)
    runtime = re.search(r"RunTime=(\S+)", text)
    return (state[1] if state else "UNKNOWN", runtime[1] if runtime else "?")


@pytest.fixture
def in_tmp(tmp_path, monkeypatch) -> Path:
    """Run in ``tmp_path``: sbatch writes each job's ``slurm-ID.out`` in the current folder."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_slurm_sweep_is_bit_identical_to_a_local_run(slurm, in_tmp) -> None:
    config = add_cluster(write_config(in_tmp, replicates=3, series=True, degrees=(4,)))
    batch, local = in_tmp / "batch", in_tmp / "local"
    result = CliRunner().invoke(
        main, ["sweep", str(config), "--out", str(batch), "--cluster", "slurm", "--quiet"]
    )
    assert result.exit_code == 0, result.output
    assert list(in_tmp.glob("slurm-*.out")), "no job ran through sbatch"
    ran = CliRunner().invoke(
        main, ["sweep", str(config), "--out", str(local), "--workers", "1", "--quiet"]
    )
    assert ran.exit_code == 0, ran.output
    for kind in ("points", "series"):
        pd.testing.assert_frame_equal(read(batch, kind), read(local, kind))


def test_a_job_cancelled_mid_sweep_is_replaced_and_loses_no_point(slurm, in_tmp) -> None:
    # 600 runs a point: the job left after the cancel needs far longer than a replacement takes
    # to be submitted and start (seconds), so the sweep cannot end before it is replaced
    config = add_cluster(slow_config(in_tmp, replicates=600))
    out = in_tmp / "out"
    jobs = JobWatch()
    try:
        process = sweep_cli(config, "--out", out, "--cluster", "slurm", "--quiet")
        wait_for(lambda: finished_points(out), timeout=120, what="the first point file")
        first = jobs.running()
        assert first, "no running job"
        subprocess.run(["scancel", str(first[0])], check=True)
        stdout, stderr = process.communicate(timeout=300)
    finally:
        jobs.stop()
    assert process.returncode == 0, stderr
    assert max(jobs.states) > max(first), "the cancelled job was not replaced"
    assert final_state(first[0])[0] == "CANCELLED"
    assert finished_points(out) == set(range(24))
    pd.testing.assert_frame_equal(read(out), serial_summaries(config))


def test_workers_reaching_their_walltime_retire_cleanly(slurm, in_tmp) -> None:
    """Walltime 15 s (SLURM rounds it up to a minute): workers retire at 13 s (90%), the
    cluster ends their jobs and submits new ones, and the sweep finishes with every point
    whole; no job runs into SLURM's limit (TIMEOUT).

    A worker's lifetime must exceed its longest task (a task cut short by retirement runs again
    elsewhere), so the 48 points take about a second each: enough to keep the sweep running
    past the first retirements. The results are checked whole here (the first test checks them
    bit for bit against a local run)."""
    deltas = tuple(round(0.002 * i, 3) for i in range(24))
    config = write_config(in_tmp, replicates=1000, series=False, deltas=deltas, degrees=(8, 9))
    config = add_cluster(config, walltime="00:00:15")
    out = in_tmp / "out"
    jobs = JobWatch()
    try:
        result = CliRunner().invoke(
            main, ["sweep", str(config), "--out", str(out), "--cluster", "slurm", "--quiet"]
        )
    finally:
        jobs.stop()
    assert result.exit_code == 0, result.output
    assert finished_points(out) == set(range(48))
    summaries = read(out)
    assert not summaries.duplicated(["point", "replicate"]).any()
    assert summaries.groupby("point").size().eq(1000).all()
    ended = {job: final_state(job) for job in jobs.states}
    assert len(ended) > 2, f"no job was replaced after its workers retired: {ended}"
    assert all(state in ("COMPLETED", "CANCELLED") for state, _ in ended.values()), ended
