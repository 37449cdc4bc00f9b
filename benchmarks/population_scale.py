"""Scale of the population builder: build time, peak memory, bytes per tie, save and load time.

``python -m benchmarks.population_scale [--quick]`` measures 1e5, 1e6, 1e7 and 2.5e7 agents
(``--quick``: 1e5 and 1e6). Each build and each load runs in a fresh Python process, so the peak
resident memory reported (``ru_maxrss``) is that of the build or load alone, imports included
(``import_gib`` says how much of it the imports take). Targets (issue 3): the 25 M country
builds in under 3 minutes with a peak under 12 GiB and loads in under 30 s.

Measured on the 2-core, 24 GiB development machine (load average about 2 from other jobs):

     agents        edges  build s  peak GiB  net B/e  pop B/e  pop GiB  save s  load s  load GiB
    100,000      734,440      0.1      0.15     19.1     25.4     0.02     0.0     0.0      0.12
  1,000,000    7,494,619      1.6      0.51     19.1     25.3     0.18     0.2     0.1      0.29
 10,000,000   75,107,611     17.5      2.55     19.1     25.3     1.77     4.0     1.6      1.96
 25,000,000  187,786,779     60.2      6.21     19.1     25.3     4.42     9.4     8.0      4.73

"net B/e" is the network's bytes per tie (18, plus the row offsets); "pop B/e" adds the groups
and per-agent arrays (about 190 bytes per agent).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SIZES = (100_000, 1_000_000, 10_000_000, 25_000_000)
QUICK_SIZES = SIZES[:2]
GIB = 2**30


def measure(n_agents: int, seed: int = 1) -> dict[str, Any]:
    """Build ``n_agents`` in one fresh process (and save it), load it in another; the figures."""
    with tempfile.TemporaryDirectory(prefix="population_scale_") as folder:
        path = Path(folder) / "population.npz"
        built = _run_child("build", str(n_agents), str(seed), str(path))
        loaded = _run_child("load", str(path))
    if loaded["edges"] != built["edges"]:
        raise RuntimeError(f"loaded {loaded['edges']} ties, built {built['edges']}")
    return {
        **built,
        "load_s": loaded["seconds"],
        "load_peak_gib": loaded["peak_gib"],
        "load_average": os.getloadavg()[0],
    }


def _run_child(*args: str) -> dict[str, Any]:
    """Run this module's ``--child`` mode in a new interpreter and parse its JSON line."""
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.population_scale", "--child", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"population_scale child {args} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _peak_gib() -> float:
    """Peak resident memory of this process so far (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / GIB


def _build(n_agents: int, seed: int, path: str) -> dict[str, Any]:
    """Child: build, then save; figures of the build alone, then of the save."""
    import diffusion

    imports = _peak_gib()
    start = time.perf_counter()
    pop = diffusion.build_population(n_agents, seed=seed)
    seconds = time.perf_counter() - start
    peak = _peak_gib()
    start = time.perf_counter()
    pop.save(path)
    saved = time.perf_counter() - start
    net = pop.network
    return {
        "agents": n_agents,
        "edges": net.n_edges,
        "groups": pop.groups.n_groups,
        "build_s": seconds,
        "build_peak_gib": peak,
        "import_gib": imports,
        "network_gib": net.nbytes / GIB,
        "network_bytes_per_edge": net.nbytes / max(net.n_edges, 1),
        "population_gib": pop.nbytes / GIB,
        "population_bytes_per_edge": pop.nbytes / max(net.n_edges, 1),
        "population_bytes_per_agent": pop.nbytes / n_agents,
        "save_s": saved,
        "file_gib": os.path.getsize(path) / GIB,
    }


def _load(path: str) -> dict[str, Any]:
    """Child: load a saved population."""
    from diffusion import Population

    start = time.perf_counter()
    pop = Population.load(path)
    seconds = time.perf_counter() - start
    return {"edges": pop.network.n_edges, "seconds": seconds, "peak_gib": _peak_gib()}


COLUMNS = (
    ("agents", "{:>11,}"),
    ("edges", "{:>12,}"),
    ("build_s", "{:>8.1f}"),
    ("build_peak_gib", "{:>9.2f}"),
    ("network_bytes_per_edge", "{:>8.1f}"),
    ("population_bytes_per_edge", "{:>8.1f}"),
    ("population_gib", "{:>8.2f}"),
    ("save_s", "{:>7.1f}"),
    ("load_s", "{:>7.1f}"),
    ("load_peak_gib", "{:>9.2f}"),
    ("load_average", "{:>6.1f}"),
)
HEADER = (
    "     agents        edges  build s  peak GiB  net B/e  pop B/e  pop GiB  save s  load s"
    "  load GiB  load"
)


def main(argv: list[str] | None = None) -> None:
    """Print one line of figures per size."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only 1e5 and 1e6 agents")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        mode, *rest = args.child
        out = _build(int(rest[0]), int(rest[1]), rest[2]) if mode == "build" else _load(rest[0])
        print(json.dumps(out))
        return
    print(HEADER, flush=True)
    for n in QUICK_SIZES if args.quick else SIZES:
        row = measure(n)
        print(" ".join(fmt.format(row[key]) for key, fmt in COLUMNS), flush=True)


if __name__ == "__main__":
    main()
