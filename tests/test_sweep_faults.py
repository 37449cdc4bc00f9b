"""Sweep faults (issue 11, items 3 and 6), with a real scheduler and real worker processes: a
sweep whose workers all die stops with a resume hint; a second sweep into a running sweep's
folder is refused and the first one finishes intact."""

from __future__ import annotations

import pandas as pd
from click.testing import CliRunner
from test_sweep import (
    dask_processes,
    finished_points,
    read,
    serial_summaries,
    slow_config,
    sweep_cli,
    wait_for,
)

from diffusion._lock import lock_path
from diffusion.cli import main


def test_a_sweep_whose_workers_all_die_stops_with_a_resume_hint(tmp_path) -> None:
    config = slow_config(tmp_path)
    out = tmp_path / "out"
    with dask_processes(tmp_path) as (address, workers):
        process = sweep_cli(config, "--out", out, "--scheduler", address, "--worker-timeout", "3")
        wait_for(lambda: finished_points(out), what="the first point file")
        for worker in workers.values():
            worker.kill()
            worker.wait()
        stdout, stderr = process.communicate(timeout=120)  # seconds when idle; CI may be busy
    assert process.returncode == 1, stderr
    assert "no worker has been connected for" in stderr
    assert "run the same command again to resume" in stderr and "Traceback" not in stderr
    done = finished_points(out)
    assert 1 <= len(done) < 24 and not lock_path(out).exists()
    partial = read(out)  # only whole points were written
    assert set(partial["point"]) == done and partial.groupby("point").size().eq(150).all()


def test_a_second_sweep_into_a_running_sweeps_folder_is_refused(tmp_path) -> None:
    config = slow_config(tmp_path)
    out = tmp_path / "out"
    with dask_processes(tmp_path) as (address, _):
        first = sweep_cli(config, "--out", out, "--scheduler", address)
        wait_for(lambda: finished_points(out), what="the first point file")
        second = CliRunner().invoke(
            main, ["sweep", str(config), "--out", str(out), "--scheduler", address]
        )
        assert second.exit_code == 2
        assert f"in use by process {first.pid}" in second.stderr
        stdout, stderr = first.communicate(timeout=180)
    assert first.returncode == 0, stderr
    assert finished_points(out) == set(range(24)) and not lock_path(out).exists()
    pd.testing.assert_frame_equal(read(out), serial_summaries(config))
