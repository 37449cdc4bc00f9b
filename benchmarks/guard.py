"""``python -m benchmarks.guard [--floors FILE]``: fail CI on a marked slowdown of a kernel.

CI runs this after the tests (``.ci/run``). Each guard times two implementations on one
workload in this process, interleaved (repeat 0 of each, then repeat 1, ...), in CPU seconds
(``time.process_time``), and compares the ratio of their medians with a floor kept in
``benchmarks/floors.toml``. A ratio taken in one process does not depend on how fast the
machine is or how loaded, so the floors hold on any machine; they sit well below the ratios
measured (recorded beside them), so only a marked slowdown of a kernel fails. Exits 1 if a
ratio is below its floor, 0 otherwise.
"""

from __future__ import annotations

import argparse
import sys
import time
import tomllib
from collections.abc import Callable
from pathlib import Path

import numpy as np

import diffusion
from benchmarks import implementations
from benchmarks.extras import EDGE_WISE, FULL_MODEL, YEAR
from benchmarks.workloads import SIR, seed_sets

FLOORS = Path(__file__).resolve().parent / "floors.toml"
AGENTS = 100_000


def median_cpu(runs: dict[str, Callable[[int], object]], repeats: int) -> dict[str, float]:
    """Median CPU seconds of each run over ``repeats``, interleaved; run ``i`` gets repeat ``i``
    (its seeds and random stream). One untimed warm-up of each first (imports, caches)."""
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    for run in runs.values():
        run(repeats)
    for i in range(repeats):
        for name, run in runs.items():
            start = time.process_time()
            run(i)
            seconds[name].append(time.process_time() - start)
    return {name: float(np.median(s)) for name, s in seconds.items()}


def event_vs_numpy(repeats: int) -> tuple[float, dict[str, float]]:
    """The event kernel (``simulate``, as a user calls it) against the numpy SIR reference on
    ER 10^5, mean degree 10, SIR (beta 0.05, gamma 0.2), 10 seeds, to extinction."""
    net = diffusion.Network.erdos_renyi(AGENTS, 10, seed=1)
    seeds = seed_sets(AGENTS, repeats + 1)
    medians = median_cpu(
        {
            "event": lambda i: implementations.kernel(net, SIR, seeds[i], i)(),
            "numpy": lambda i: implementations.numpy_baseline(net, SIR, seeds[i], i)(),
        },
        repeats,
    )
    return medians["numpy"] / medians["event"], medians


def full_vs_edge_wise(repeats: int) -> tuple[float, dict[str, float]]:
    """The full model (``benchmarks.extras.FULL_MODEL``, calendar kernel) on a 10^5 census
    country for one year, against the edge-wise model on its network (event kernel): the full
    model's speed as a share of the event kernel's (edge-wise seconds / full-model seconds)."""
    country = diffusion.build_population(AGENTS, seed=1)
    medians = median_cpu(
        {
            "full_model": lambda i: diffusion.simulate(
                country, FULL_MODEL, seeds=10, rng=i, steps=YEAR, engine="calendar"
            ),
            "edge_wise_event": lambda i: diffusion.simulate(
                country.network, EDGE_WISE, seeds=10, rng=i, steps=YEAR
            ),
        },
        repeats,
    )
    return medians["edge_wise_event"] / medians["full_model"], medians


GUARDS: dict[str, Callable[[int], tuple[float, dict[str, float]]]] = {
    "event_vs_numpy": event_vs_numpy,
    "full_vs_edge_wise": full_vs_edge_wise,
}


def load_floors(path: Path) -> dict[str, dict]:
    """The guards of ``path``: each a table with ``floor`` (> 0), ``repeats`` (>= 1) and
    ``measured``, for a name of ``GUARDS``; a bad entry is a one-line ValueError."""
    with path.open("rb") as handle:
        floors = tomllib.load(handle)
    for name, guard in floors.items():
        if name not in GUARDS:
            raise ValueError(f"{path.name}: [{name}] is not one of {', '.join(GUARDS)}")
        floor, repeats = guard.get("floor"), guard.get("repeats")
        if not isinstance(floor, int | float) or not floor > 0:
            raise ValueError(f"{path.name}: [{name}] floor: {floor!r} is not a number > 0")
        if not isinstance(repeats, int) or repeats < 1:
            raise ValueError(f"{path.name}: [{name}] repeats: {repeats!r} is not an integer >= 1")
        if floor >= guard.get("measured", float("inf")):
            raise ValueError(f"{path.name}: [{name}] floor {floor} is not below measured")
    return floors


def check(name: str, ratio: float, floor: float) -> str | None:
    """Why guard ``name`` fails (its ratio below its floor), or None when it passes."""
    if ratio < floor:
        return f"{name}: ratio {ratio:.3f} is below its floor {floor} (a marked slowdown)"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.guard", description=__doc__)
    parser.add_argument("--floors", type=Path, default=FLOORS)
    args = parser.parse_args(argv)
    floors = load_floors(args.floors)
    failures = []
    print("| guard | ratio | floor | measured when set | CPU medians (s) |\n|---|---|---|---|---|")
    for name, guard in floors.items():
        ratio, medians = GUARDS[name](guard["repeats"])
        times = ", ".join(f"{k} {v:.4f}" for k, v in medians.items())
        print(f"| {name} | {ratio:.3f} | {guard['floor']} | {guard['measured']} | {times} |")
        problem = check(name, ratio, guard["floor"])
        if problem:
            failures.append(problem)
    for problem in failures:
        print(problem, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
