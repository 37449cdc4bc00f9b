"""``python -m benchmarks.ab_kernels TREE [--repeats N]``: CPU time of this tree's kernels against
another tree's, interleaved in one process (the other tree's compiled ``_sir``/``_media`` loaded
under another module name), so that a loaded machine slows both alike.

``TREE`` is a checkout built in place (``python setup.py build_ext --inplace``) whose kernels take
a numpy bit generator as their last argument: the single-stream kernels before common random
numbers (commit de15743), called behind this tree's signatures (the event kernel's parameter
record unpacked into its arguments, its event table named). Prints, per workload, the median
CPU seconds of each and their ratio.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np
from diffusion._sir import EVENT_COLUMNS

from diffusion import Network, Params, simulate
from diffusion.config import load_config

SIMULATE = sys.modules["diffusion.simulate"]
BASELINE = Path(__file__).resolve().parent.parent / "experiments" / "baseline.toml"


def _load(name: str, tree: Path) -> ModuleType:
    """The compiled kernel ``name`` of another tree, as a module of its own."""
    path = next((tree / "diffusion").glob(f"{name}.*.so"))
    spec = importlib.util.spec_from_file_location(f"baseline_tree.{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _single_stream(tree: Path) -> tuple[Callable, Callable]:
    """The other tree's kernels behind this tree's signatures (key -> a PCG64 bit generator)."""
    sir, media = _load("_sir", tree), _load("_media", tree)

    def run_sir(offsets, neighbours, trust, kind, record, starts, deltas, seeds, *records):
        reached, channel, _tie_detected, key = records
        p = record[0]
        events, examined = sir.run_sir(
            offsets, neighbours, trust, bool(p["uniform_trust"]), kind, bool(p["track_kinds"]),
            seeds, float(p["beta"]), float(p["gamma"]), float(p["p_copy"]), starts, deltas,
            int(p["horizon"]), reached, channel, np.random.PCG64(int(key[0])),
        )  # fmt: skip
        out = {name: events[:, i].copy() for i, name in enumerate(EVENT_COLUMNS)}
        return out | {"ties_examined": examined}

    def run_media(*args):
        *head, reached, key = args
        reached = {k: v for k, v in reached.items() if k != "tie_detected"}
        return media.run_media(*head, reached, np.random.PCG64(int(key[0])))

    return run_sir, run_media


def workloads() -> dict[str, Callable[[int], object]]:
    net = Network.erdos_renyi(1_000_000, 10, seed=1)
    config = load_config(BASELINE)
    country = config.network.model_copy(update={"n_agents": 100_000}).build()
    sir, det = Params(beta=0.05, gamma=0.2), Params(beta=0.05, gamma=0.2, delta=0.01)
    return {
        "ER 1e6 SIR, event": lambda i: simulate(net, sir, seeds=10, rng=i, engine="event"),
        "ER 1e6 SIR+detect, event": lambda i: simulate(net, det, seeds=10, rng=i, engine="event"),
        "ER 1e6 SIR+detect, step": lambda i: simulate(net, det, seeds=10, rng=i, engine="step"),
        "baseline 1e5 one year, step": lambda i: simulate(
            country, config.model, seeds=0, rng=i, steps=config.steps()
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ab_kernels", description=__doc__)
    parser.add_argument("tree", type=Path, help="the other checkout, built in place")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    ours = (SIMULATE.run_sir, SIMULATE.run_media)
    theirs = _single_stream(args.tree)
    runs = workloads()
    seconds = {name: {"ours": [], "theirs": []} for name in runs}
    for i in range(args.repeats):
        for name, run in runs.items():
            order = ("theirs", "ours") if i % 2 == 0 else ("ours", "theirs")
            for which in order:
                SIMULATE.run_sir, SIMULATE.run_media = ours if which == "ours" else theirs
                start = time.process_time()
                run(i)
                seconds[name][which].append(time.process_time() - start)
    SIMULATE.run_sir, SIMULATE.run_media = ours
    print("| workload | theirs CPU s (median) | ours | ours / theirs |\n|---|---|---|---|")
    for name, s in seconds.items():
        theirs_s, ours_s = np.median(s["theirs"]), np.median(s["ours"])
        print(f"| {name} | {theirs_s:.3f} | {ours_s:.3f} | {ours_s / theirs_s:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
