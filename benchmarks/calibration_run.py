"""Seconds per run of the calibration scenario at the calibration scale: what a fit costs.

A calibration is thousands of runs of ``experiments/calibration/dprk-2000-2020.toml`` (100,000
agents in 20 regions, 2000-2020 in daily steps), each with other rates, so the seconds of one
run decide how many particles and generations fit in an hour (docs/calibration.md). Measured
at the scenario's starting values, the country built once (as a calibration worker does) and
each run timed alone; the full mode runs the 21 years a ``diffusion run`` of it runs (7,671
steps), the quick mode (CI) the first year only.

``python -m benchmarks.calibration_run [--quick]`` prints the figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

SCENARIO = (
    Path(__file__).resolve().parent.parent / "experiments" / "calibration" / "dprk-2000-2020.toml"
)
QUICK_STEPS = 366
"""Steps of a quick run: 2000, a leap year."""


def measure(quick: bool, repeats: int = 3) -> dict[str, Any]:
    """Build the scenario's country once, then time ``repeats`` runs (1 in quick mode)."""
    from diffusion.config import load_config
    from diffusion.simulate import simulate
    from diffusion.world import World

    config = load_config(SCENARIO)
    start = time.perf_counter()
    world = World.of(config.network.build())
    built = time.perf_counter() - start
    params, holders = config.for_agents(world.n_agents)
    steps = QUICK_STEPS if quick else config.steps()
    seconds = []
    for seed in range(1 if quick else repeats):
        start = time.perf_counter()
        simulate(world, params, seeds=holders, rng=seed, steps=steps)
        seconds.append(time.perf_counter() - start)
    median = statistics.median(seconds)
    return {
        "agents": world.n_agents,
        "regions": config.network.n_regions,
        "steps": steps,
        "build_s": built,
        "seconds": seconds,
        "median_s": median,
        "seconds_per_year": median / (steps / 365.25),
        "load_average": os.getloadavg()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one run of the first year only")
    print(json.dumps(measure(parser.parse_args().quick)))


if __name__ == "__main__":
    main()
