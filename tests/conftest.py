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


FULL_TIER = frozenset(
    {
        "test_calibration_abc",
        "test_calibration_cli",
        "test_calibration_scale",
        "test_cluster_security",
        "test_commands",
        "test_docs",
        "test_hostile_input",
        "test_kernel_memory",
        "test_population",
        "test_sensitivity",
        "test_slurm",
        "test_strategy",
        "test_sweep",
        "test_sweep_faults",
        "test_sweep_interrupt",
    }
)
"""Modules that start Dask clusters, SLURM jobs, child processes under memory limits or large
populations: the full tier only (``make test``). The rest is the fast tier (``make test-fast``):
unit and theory tests, what a developer runs after every change."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests of the ``FULL_TIER`` modules ``full`` (``-m "not full"`` leaves them)."""
    for item in items:
        if item.module is not None and item.module.__name__.rpartition(".")[2] in FULL_TIER:
            item.add_marker(pytest.mark.full)
