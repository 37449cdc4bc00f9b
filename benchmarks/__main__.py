"""``python -m benchmarks [--quick] [--json FILE]``: run the suite, print the table, save JSON.

Timing never fails the command: it exits non-zero only when the harness itself breaks.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import calibration_run, extras, report
from benchmarks.harness import machine
from benchmarks.suite import Plan, run_kernels
from benchmarks.workloads import barabasi_albert, erdos_renyi

QUICK = Plan(
    graphs=(erdos_renyi(100_000), barabasi_albert(100_000)),
    kernel_repeats=11,
    numpy_repeats=5,
    cynetdiff_repeats=3,
    slow_peer_repeats=1,
    slow_peer_graphs=("ER 1e+05",),
)
FULL = Plan(
    graphs=(
        erdos_renyi(100_000),
        erdos_renyi(300_000),
        erdos_renyi(1_000_000),
        barabasi_albert(100_000),
    ),
    kernel_repeats=11,
    numpy_repeats=5,
    cynetdiff_repeats=5,
    slow_peer_repeats=3,
    slow_peer_graphs=("ER 1e+05", "BA 1e+05"),
)
POPULATION_SIZES = {"quick": [100_000], "full": [100_000, 1_000_000, 10_000_000, 25_000_000]}
TWENTY_YEAR_SIZES = {"quick": [100_000], "full": [100_000, 1_000_000, 25_000_000]}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small graphs, few repeats (CI)")
    parser.add_argument("--json", type=Path, help="write the results to this JSON file")
    args = parser.parse_args(argv)
    mode = "quick" if args.quick else "full"
    start = time.perf_counter()
    skip_full_model = extras.not_available("full mode only")
    results = {
        "mode": mode,
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "kernels": run_kernels(QUICK if args.quick else FULL, log),
        "population": extras.population(POPULATION_SIZES[mode], log),
        "full_model_ratio": extras.full_model_ratio(
            100_000 if args.quick else 1_000_000, 3 if args.quick else 5, log
        ),
        "full_model": skip_full_model if args.quick else extras.full_model(log),
        "twenty_years": extras.twenty_years(TWENTY_YEAR_SIZES[mode], log),
        "sweep": extras.sweep(args.quick, log),
        "common_random_numbers": extras.common_random_numbers(args.quick, log),
        "calibration_run": extras.guarded(lambda: calibration_run.measure(args.quick)),
    }
    results["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    results["seconds_total"] = time.perf_counter() - start
    print(report.render(results))
    if args.json:
        report.write_json(args.json, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
