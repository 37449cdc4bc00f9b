"""Sweep scaling: one sweep of short runs on 1 and on 2 local Dask workers, and the cost of a task.

``python -m benchmarks.sweep_scaling [--quick] [--json FILE]``. The sweep (40 points of a grid
over ``model.delta`` times replicates of the baseline scenario, each point one task) runs through
``diffusion.sweep.run.run_sweep`` on a ``LocalCluster`` opened by
``diffusion.sweep.clusters.open_client``,
exactly as ``diffusion sweep --workers N`` does, writing its Parquet files into a temporary folder.
Timed: from the first submission to the last point file written. Not timed: starting the
cluster and importing the package on the workers (``client.run``), which a long sweep pays once.

Per-task overhead = (1-worker wall time - the tasks' own compute time, timed inside them) / tasks:
what the worker spends not computing (scheduling, serialisation, transfer; the point files are
written by a client thread meanwhile). Both figures come from the same run, so load from other
processes changes them little. ``parallel_slowdown`` = the tasks' compute time on 2 workers /
on 1: above 1 when the two workers compete for CPU (other processes) or memory bandwidth.
Target (issue 6): a speed-up of at least 1.8 on 2 workers on a 2-core machine.
"""

from __future__ import annotations

import argparse
import importlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.report import write_json
from diffusion.config import ExperimentConfig, load_config, validate_config
from diffusion.sweep.clusters import open_client
from diffusion.sweep.config import ClusterConfig
from diffusion.sweep.run import Sweep, run_point, run_sweep

POINTS = 40
BASELINE = Path(__file__).resolve().parents[1] / "experiments" / "baseline.toml"


def sweep_config(quick: bool) -> ExperimentConfig:
    """40 detection rates x replicates of the baseline scenario, on a smaller country.

    ``experiments/baseline.toml`` (full model, group viewing, one year) on 20,000 agents (quick)
    or 50,000: runs of about 15 or 50 ms, the network built in a few hundredths of a second.
    """
    agents, replicates = (20_000, 5) if quick else (50_000, 10)
    data = load_config(BASELINE).resolved()
    data["network"]["n_agents"] = agents
    data["sweep"] = {
        "seed": 1,
        "replicates": replicates,
        "parameters": {"model.delta": np.round(np.linspace(0.0, 0.02, POINTS), 6).tolist()},
    }
    return validate_config(data)


def serial_seconds(sweep: Sweep) -> float:
    """The sweep's tasks run one after another in this process (network built beforehand)."""
    spec, payload = sweep.config.sweep, sweep.task_payload()
    tasks = [
        (payload, key, point, values, spec.seed, spec.replicates, spec.time_series)
        for point, (values, key) in enumerate(
            zip(sweep.design.points, sweep.network_keys, strict=True)
        )
    ]
    run_point(*tasks[0])  # builds and caches the network, as a worker's first task would
    start = time.perf_counter()
    for task in tasks:
        run_point(*task)
    return time.perf_counter() - start


def dask_seconds(sweep: Sweep, workers: int) -> tuple[float, float]:
    """Wall time of the sweep on ``workers`` local workers, and the tasks' own compute time."""
    with (
        tempfile.TemporaryDirectory(prefix="sweep_scaling_") as folder,
        open_client(ClusterConfig(), workers=workers) as client,
    ):
        client.wait_for_workers(workers)
        client.run(importlib.import_module, "diffusion.sweep.run")
        start = time.perf_counter()
        outcome = run_sweep(sweep, Path(folder) / "sweep", client)
        return time.perf_counter() - start, outcome.task_seconds


def measure(quick: bool) -> dict[str, Any]:
    """Median wall times on 1 and 2 workers (alternating repeats), speed-up, per-task overhead."""
    config = sweep_config(quick)
    sweep = Sweep.from_config(config)
    repeats = 1 if quick else 3
    load_before = os.getloadavg()[0]
    serial = serial_seconds(sweep)
    walls: dict[int, list[float]] = {1: [], 2: []}
    compute: dict[int, list[float]] = {1: [], 2: []}
    for _ in range(repeats):
        for workers in (1, 2):
            wall, task_seconds = dask_seconds(sweep, workers)
            walls[workers].append(wall)
            compute[workers].append(task_seconds)
    one, two = statistics.median(walls[1]), statistics.median(walls[2])
    busy_one, busy_two = statistics.median(compute[1]), statistics.median(compute[2])
    tasks = len(sweep.design)
    return {
        "agents": config.network.n_agents,
        "points": tasks,
        "replicates": config.sweep.replicates,
        "runs": tasks * config.sweep.replicates,
        "serial_s": serial,
        "workers": {str(w): {"wall_s": walls[w], "task_compute_s": compute[w]} for w in (1, 2)},
        "median_wall_1_s": one,
        "median_wall_2_s": two,
        "speedup_2_vs_1": one / two,
        "overhead_per_task_ms": 1000 * (one - busy_one) / tasks,
        "task_s_mean": busy_one / tasks,
        "parallel_slowdown": busy_two / busy_one,
        "cores": os.cpu_count(),
        "load_average_before": load_before,
        "load_average_after": os.getloadavg()[0],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sweep_scaling", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a smaller graph, one repeat")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    result = measure(args.quick)
    print(
        f"sweep of {result['runs']} runs ({result['points']} tasks of {result['replicates']} "
        f"replicates, baseline scenario on {result['agents']} agents) on {result['cores']} cores\n"
        f"  serial in-process  {result['serial_s']:7.2f} s\n"
        f"  1 worker           {result['median_wall_1_s']:7.2f} s  "
        f"({result['task_s_mean'] * 1000:.0f} ms per task)\n"
        f"  2 workers          {result['median_wall_2_s']:7.2f} s\n"
        f"  speed-up 2 vs 1    {result['speedup_2_vs_1']:7.2f} x   (target >= 1.8)\n"
        f"  overhead per task  {result['overhead_per_task_ms']:7.1f} ms\n"
        f"  parallel slowdown  {result['parallel_slowdown']:7.2f} x   (task time, 2 vs 1 worker)\n"
        f"  load average       {result['load_average_before']:.2f} before, "
        f"{result['load_average_after']:.2f} after"
    )
    if args.json:
        write_json(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
