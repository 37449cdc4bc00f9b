"""``diffusion sweep --cluster slurm`` on a real single-node SLURM (``.ci/slurm-up``): real
``sbatch`` jobs running Dask workers, in TLS (``[cluster] security``, the default). Skipped, with
the reason shown, where SLURM is not running.

Small on purpose (tiny networks, short points): the four tests take two to four minutes."""

from __future__ import annotations

import os
import re
import subprocess
import threading
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest
from click.testing import CliRunner
from distributed import Client
from distributed.security import Security
from test_cluster_security import LOOPBACK, Authority, listening
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


def add_cluster(config: Path, walltime: str = "00:10:00", jobs: int = 2, extra: str = "") -> Path:
    with open(config, "a") as handle:
        handle.write(
            f'\n[cluster]\ncores = 1\nmemory = "1GB"\nwalltime = "{walltime}"\njobs = {jobs}\n'
            + extra
        )
    return config


def job_logs(folder: Path) -> str:
    """The output of every job that ran from ``folder`` (sbatch's ``slurm-ID.out``)."""
    return "".join(path.read_text() for path in sorted(folder.glob("slurm-*.out")))


class JobWatch:
    """Polls ``squeue`` in a thread and records every job id seen and its last state, and the
    final state of each job as soon as it leaves the queue (``ended``): ``scontrol`` forgets a
    job five minutes after its end, which a sweep on a busy machine can outlast."""

    def __init__(self) -> None:
        self.states: dict[int, str] = {}
        self.ended: dict[int, tuple[str, str]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.is_set():
            out = subprocess.run(
                ["squeue", "-h", "-o", "%i %T"], capture_output=True, text=True
            ).stdout
            queued = set()
            for line in out.splitlines():
                job, state = line.split()
                self.states[int(job)] = state
                queued.add(int(job))
            for job in set(self.states) - queued - set(self.ended):
                self.ended[job] = final_state(job)
            time.sleep(0.5)

    def running(self) -> list[int]:
        return sorted(j for j, s in self.states.items() if s == "RUNNING")

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        for job in set(self.states) - set(self.ended):
            self.ended[job] = final_state(job)


UNFINISHED = ("PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED")
"""Job states that are not yet the end: a job cancelled as a sweep closes its cluster passes
through COMPLETING for a moment after it leaves ``squeue``."""


def final_state(job: int, wait: float = 30.0) -> tuple[str, str]:
    """A finished job's state and run time (``scontrol``: accounting is off on the CI cluster),
    waiting up to ``wait`` seconds for a job still ending to reach its final state."""
    deadline = time.monotonic() + wait
    while True:
        text = subprocess.run(
            ["scontrol", "show", "job", str(job)], capture_output=True, text=True
        ).stdout
        state = re.search(r"JobState=(\S+)", text)
        runtime = re.search(r"RunTime=(\S+)", text)
        found = (state[1] if state else "UNKNOWN", runtime[1] if runtime else "?")
        if found[0] not in UNFINISHED or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


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
    assert "Registered to:      tls://" in job_logs(in_tmp)  # TLS by default
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
    assert jobs.ended[first[0]][0] == "CANCELLED"
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
    ended = jobs.ended
    assert len(ended) > 2, f"no job was replaced after its workers retired: {ended}"
    unclean = {job: end for job, end in ended.items() if end[0] not in ("COMPLETED", "CANCELLED")}
    assert not unclean, f"jobs that did not end cleanly: {unclean}"


def non_loopback_ports(processes: list[psutil.Process]) -> set[int]:
    """The ports that these processes and their descendants listen on beyond loopback."""
    found: set[tuple[str, int]] = set()
    for process in processes:
        found |= listening(process)
    return {port for ip, port in found if ip not in LOOPBACK}


def test_tls_scheduler_refuses_plain_tcp_and_strangers_credentials_owner_only(
    slurm, in_tmp
) -> None:
    """While a TLS sweep runs: its credentials are owner-only files in a private folder of
    ``shared_temp_directory``; beyond loopback only the scheduler and the jobs' TLS comms listen
    (dashboards and workers' HTTP endpoints are on loopback); a plain-TCP client and a client
    whose certificate the sweep did not make fail within seconds, while the sweep's own
    credentials connect. After it, the credentials are gone and no job log shows a key."""
    shared = in_tmp / "shared"
    shared.mkdir()
    extra = f'shared_temp_directory = "{shared}"\n'
    config = add_cluster(slow_config(in_tmp, replicates=600), extra=extra)
    out = in_tmp / "out"
    process = sweep_cli(config, "--out", out, "--cluster", "slurm", "--quiet")
    try:
        wait_for(lambda: finished_points(out), timeout=120, what="the first point file")
        (private,) = shared.iterdir()
        cert, key = private / "cert.pem", private / "key.pem"
        assert sorted(private.iterdir()) == [cert, key]
        assert (private.stat().st_mode & 0o777, private.stat().st_uid) == (0o700, os.getuid())
        for path in (cert, key):
            assert (path.stat().st_mode & 0o777, path.stat().st_uid) == (0o600, os.getuid())

        address = re.search(r"Registered to:\s+(tls://\S+)", job_logs(in_tmp))[1]
        port = int(address.rpartition(":")[2])
        assert non_loopback_ports([psutil.Process(process.pid)]) == {port}
        jobs = [
            p
            for p in psutil.process_iter(["cmdline"])
            if "distributed.cli.dask_worker" in (p.info["cmdline"] or [])
            and address in p.info["cmdline"]
        ]
        assert jobs and all(f"--tls-key {key}" in " ".join(p.cmdline()) for p in jobs)
        tls_comms = {
            int(p)
            for p in re.findall(
                r"(?:Nanny at: '|Listening to:\s+)tls://[^:]+:(\d+)", job_logs(in_tmp)
            )
        }
        beyond_loopback = non_loopback_ports(jobs)
        assert beyond_loopback and beyond_loopback <= tls_comms, (beyond_loopback, tls_comms)

        start = time.monotonic()
        with pytest.raises(OSError):
            Client(address.replace("tls://", "tcp://"), timeout="3s")
        stranger_cert, stranger_key = Authority(in_tmp, "stranger").issue("stranger")
        stranger = Security(
            require_encryption=True,
            tls_ca_file=str(cert),  # trusts the scheduler, but is not trusted by it
            tls_client_cert=str(stranger_cert),
            tls_client_key=str(stranger_key),
        )
        with pytest.raises(OSError):
            Client(address, security=stranger, timeout="3s")
        assert time.monotonic() - start < 30
        own = Security(
            require_encryption=True,
            tls_ca_file=str(cert),
            tls_client_cert=str(cert),
            tls_client_key=str(key),
        )
        with Client(address, security=own, timeout="10s") as client:
            assert client.scheduler_info()["workers"]
        stdout, stderr = process.communicate(timeout=300)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr
    assert finished_points(out) == set(range(24))
    assert list(shared.iterdir()) == []
    assert "PRIVATE KEY" not in job_logs(in_tmp) + stdout + stderr
