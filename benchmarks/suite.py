"""The kernel comparisons: every implementation on every graph and model, ratios in one run."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from benchmarks import implementations
from benchmarks.harness import Timing, time_runs
from benchmarks.peers import PEERS, Graphs
from benchmarks.workloads import MODELS, GraphSpec, ModelSpec, seed_sets, theory_reach

KERNEL, STEP, NUMPY = "diffusion event kernel", "diffusion step kernel", "numpy baseline"


@dataclass(frozen=True)
class Plan:
    """Which graphs to run and how many repeats each kind of implementation gets."""

    graphs: tuple[GraphSpec, ...]
    kernel_repeats: int
    numpy_repeats: int
    cynetdiff_repeats: int
    slow_peer_repeats: int
    slow_peer_graphs: tuple[str, ...]
    """Labels of the graphs EoN and NDlib run on (pure Python: slow)."""


def reach_tolerance(timing: Timing, kernel: Timing) -> float:
    """Allowed gap between a mean final reach and theory: 4 standard errors plus 0.01.

    The 0.01 covers what sampling does not: finite-size corrections and, on Barabási–Albert
    graphs, the degree correlations the configuration-model theory ignores. A single run borrows
    the kernel's spread.
    """
    sd = timing.reach_sd if timing.reach_sd is not None else kernel.reach_sd or 0.0
    return 0.01 + 4 * sd / np.sqrt(len(timing.seconds))


def row(graph: GraphSpec, net, model: ModelSpec, impl: str, timing: Timing, note: str = "") -> dict:
    """One implementation on one workload, as stored in the JSON output."""
    return {
        "graph": graph.label,
        "nodes": net.n_nodes,
        "edges": net.n_edges,
        "model": model.label,
        "beta": model.beta,
        "gamma": model.gamma,
        "delta": model.delta,
        "impl": impl,
        "note": note,
        "repeats": len(timing.seconds),
        "seconds": timing.seconds,
        "median_s": timing.median,
        "ties_examined": timing.examined,
        "edges_per_s": timing.throughput,
        "reach_mean": timing.reach_mean,
        "reach_sd": timing.reach_sd,
    }


def run_workload(graph: GraphSpec, net, graphs: Graphs, model: ModelSpec, plan: Plan) -> list[dict]:
    """Kernel, numpy baseline and the installed peers on one graph and model."""
    timings = {
        KERNEL: time_runs(
            lambda s, r: implementations.kernel(net, model, s, r),
            seed_sets(net.n_nodes, plan.kernel_repeats),
        ),
        STEP: time_runs(
            lambda s, r: implementations.kernel(net, model, s, r, engine="step"),
            seed_sets(net.n_nodes, plan.kernel_repeats),
        ),
        NUMPY: time_runs(
            lambda s, r: implementations.numpy_baseline(net, model, s, r),
            seed_sets(net.n_nodes, plan.numpy_repeats),
        ),
    }
    notes = {
        KERNEL: "diffusion.simulate (engine auto = event)",
        STEP: "diffusion.simulate(engine='step'), the full model's kernel",
        NUMPY: "benchmarks/numpy_sir.py",
    }
    skipped = []
    for peer in PEERS:
        if model.label not in peer.models:
            continue
        slow = peer.max_nodes is not None
        if slow and (graph.label not in plan.slow_peer_graphs or net.n_nodes > peer.max_nodes):
            continue
        reason = peer.unavailable()
        if reason:
            skipped.append(
                {"graph": graph.label, "model": model.label, "impl": peer.name, "skipped": reason}
            )
            continue
        repeats = plan.slow_peer_repeats if slow else plan.cynetdiff_repeats
        timings[peer.name] = time_runs(
            lambda s, r, peer=peer: peer.prepare(graphs, model, s, r),
            seed_sets(net.n_nodes, repeats),
        )
        notes[peer.name] = peer.how
    theory = theory_reach(net.degree(), model.params.transmissibility())
    kernel, numpy_ = timings[KERNEL], timings[NUMPY]
    rows = []
    for impl, timing in timings.items():
        entry = row(graph, net, model, impl, timing, notes[impl])
        tolerance = reach_tolerance(timing, kernel)
        entry |= {
            "theory_reach": theory,
            "reach_agrees": bool(abs(timing.reach_mean - theory) <= tolerance),
            "reach_tolerance": tolerance,
            "speed_vs_numpy": numpy_.median / timing.median,
            "kernel_speedup": timing.median / kernel.median,
        }
        rows.append(entry)
    return rows + skipped


def run_kernels(plan: Plan, log) -> dict:
    """All workloads of the plan; each graph is built once and dropped after use."""
    rows, builds = [], {}
    for graph in plan.graphs:
        start = time.perf_counter()
        net = graph.build()
        builds[graph.label] = time.perf_counter() - start
        graphs = Graphs(net)
        for model in MODELS:
            log(f"{graph.label} {model.label}")
            rows.extend(run_workload(graph, net, graphs, model, plan))
        del net, graphs
    return {"rows": rows, "graph_build_s": builds, "scaling": scaling(rows)}


def scaling(rows: list[dict]) -> dict | None:
    """Growth of the kernel's cost on ER graphs: exponents of seconds vs N and vs ties examined.

    Fitted by least squares on log-log over the ER sizes run (needs at least two sizes).
    """
    out = {}
    for model in MODELS:
        pts = sorted(
            (r["nodes"], r["median_s"], r["ties_examined"])
            for r in rows
            if r["impl"] == KERNEL and r["model"] == model.label and r["graph"].startswith("ER")
        )
        if len(pts) < 2:
            return None
        n, seconds, examined = (
            np.log(np.array(col, dtype=float)) for col in zip(*pts, strict=True)
        )
        out[model.label] = {
            "nodes": [int(p[0]) for p in pts],
            "median_s": [p[1] for p in pts],
            "exponent_vs_nodes": float(np.polyfit(n, seconds, 1)[0]),
            "exponent_vs_ties_examined": float(np.polyfit(examined, seconds, 1)[0]),
        }
    return out
