"""``python -m benchmarks.ab_event TREE [--repeats N] [--json FILE]``: the event kernel's
``simulate`` of another checkout (before) against this one's (after), in one process.

``TREE`` is a checkout with its kernels built in place (``python setup.py build_ext
--inplace``). Its ``diffusion`` package is copied to a temporary folder as
``diffusion_before`` (imports renamed), so the whole call of each tree runs in this process:
argument checks, conversions, kernel, per-person records and results. Both are timed beside the
numpy SIR reference and, when installed, cynetdiff, interleaved, in CPU seconds
(``time.process_time``) on ER 10^6 with mean degree 10 and 10 seeds: SIR (beta 0.05, gamma 0.2)
and the independent cascade (gamma 1, beta = T = 0.2083). Prints the medians and ratios as
Markdown; ``--json`` writes every repeat, with the two commits (BENCHMARKS.md's before-and-after
table is generated from that file).
"""

from __future__ import annotations

import argparse
import importlib
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import diffusion
from benchmarks import implementations, report
from benchmarks.harness import machine
from benchmarks.peers import PEERS, Graphs
from benchmarks.workloads import CASCADE, SIR, erdos_renyi, seed_sets


def load_before(tree: Path, into: Path):
    """``TREE/diffusion`` as the package ``diffusion_before`` (a copy under ``into``)."""
    package = into / "diffusion_before"
    shutil.copytree(tree / "diffusion", package)
    for source in package.rglob("*.py"):
        text = source.read_text()
        text = re.sub(r"\bfrom diffusion\b", "from diffusion_before", text)
        text = re.sub(r"^(\s*)import diffusion\b", r"\1import diffusion_before", text, flags=re.M)
        source.write_text(text)
    sys.path.insert(0, str(into))
    return importlib.import_module("diffusion_before")


def commit_of(tree: Path) -> str:
    """The short hash of the commit checked out in ``tree`` ("unknown" outside git)."""
    done = subprocess.run(
        ["git", "-C", str(tree), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    return done.stdout.strip() or "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ab_event", description=__doc__)
    parser.add_argument("tree", type=Path, help="the other checkout, built in place")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        before = load_before(args.tree.resolve(), Path(tmp))
        net = erdos_renyi(1_000_000).build()
        net_before = before.Network.from_csr(net.offsets, net.neighbours, net.trust, net.kind)
        graphs = Graphs(net)
        cynetdiff = next(p for p in PEERS if p.name == "cynetdiff IC")
        runs = {}
        for model in (SIR, CASCADE):
            params = before.Params(beta=model.beta, gamma=model.gamma, delta=model.delta)
            runs[f"{model.label} before"] = lambda s, r, p=params: before.simulate(
                net_before, p, seeds=s, rng=r
            )
            runs[f"{model.label} after"] = lambda s, r, m=model: diffusion.simulate(
                net, m.params, seeds=s, rng=r
            )
        runs["SIR numpy"] = lambda s, r: implementations.numpy_baseline(net, SIR, s, r)()
        if cynetdiff.unavailable() is None:
            runs["IC cynetdiff"] = lambda s, r: cynetdiff.prepare(graphs, CASCADE, s, r)()
        seeds = seed_sets(net.n_nodes, args.repeats)
        seconds: dict[str, list[float]] = {name: [] for name in runs}
        for i in range(args.repeats):
            names = list(runs) if i % 2 else list(runs)[::-1]
            for name in names:
                start = time.process_time()
                runs[name](seeds[i], i)
                seconds[name].append(time.process_time() - start)
    med = {name: float(np.median(s)) for name, s in seconds.items()}
    print(f"CPU seconds, medians of {args.repeats} interleaved repeats, ER 10^6 mean degree 10\n")
    print(
        "| workload | before | after | after / before | reference | before: x ref | after: x ref |"
    )
    print("|---|---|---|---|---|---|---|")
    for model, ref in (("SIR", "SIR numpy"), ("IC", "IC cynetdiff")):
        b, a = med[f"{model} before"], med[f"{model} after"]
        r = med.get(ref)
        refs = f"{ref} {r:.3f} | {r / b:.2f} | {r / a:.2f}" if r else "- | - | -"
        print(f"| {model} | {b:.4f} | {a:.4f} | {a / b:.3f} | {refs} |")
    if args.json:
        record = {
            "machine": machine(),
            "before_commit": commit_of(args.tree.resolve()),
            "after_commit": commit_of(Path(__file__).resolve().parent),
            "repeats": args.repeats,
            "seconds": seconds,
        }
        report.write_json(args.json, record | {"median": med})
    return 0


if __name__ == "__main__":
    sys.exit(main())
