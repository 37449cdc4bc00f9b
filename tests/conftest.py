"""Shared fixtures: a real SLURM cluster when one is running on this machine."""

from __future__ import annotations

import shutil
import subprocess

import pytest


@pytest.fixture(scope="session")
def slurm() -> str:
    """The name of an idle SLURM node on this machine (``.ci/slurm-up`` starts one), else skip.

    The reason of the skip is shown in pytest's summary (``-ra``), so a run without SLURM says
    that the batch-job tests did not run.
    """
    if shutil.which("sinfo") is None or shutil.which("sbatch") is None:
        pytest.skip("no SLURM on this machine (sinfo not on PATH); start one with .ci/slurm-up")
    try:
        nodes = subprocess.run(
            ["sinfo", "-h", "-N", "-o", "%N %t"], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"SLURM does not answer (sinfo: {exc})")
    idle = [line.split()[0] for line in nodes.stdout.splitlines() if line.endswith(" idle")]
    if nodes.returncode != 0 or not idle:
        reason = (nodes.stderr or nodes.stdout).strip().splitlines()[:1]
        pytest.skip(f"SLURM has no idle node (sinfo: {reason[0] if reason else 'no nodes'})")
    return idle[0]
