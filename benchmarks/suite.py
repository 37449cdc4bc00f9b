"""The kernel comparisons: every implementation on every graph and model, ratios in one run."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from benchmarks import implementations
from benchmarks.harness import Series, Timing, time_interleaved
from benchmarks.peers import PEERS, Graphs
from benchmarks.workloads import MODELS, GraphSpec, ModelSpec, seed_sets, theory_reach

KERNEL, CALENDAR, STEP, NUMPY = (
    "diffusion event kernel",
    "diffusion calendar kernel",
    "diffusion step kernel",
    "numpy baseline",
)


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


def reach_checks(timing: Timing, kernel: Timing, theory: float) -> dict:
    """Is this the same model? Its mean final reach against the event kernel's and theory's.

    ``z_vs_kernel``: the difference of the two means in standard errors, using the kernel's
    run-to-run spread for both (11 runs estimate it better than a peer's 1-3); |z| <= 4 passes.
    Against theory the allowance is 4 standard errors plus 0.01, which covers what sampling does
    not: finite size and, on Barabási–Albert graphs, the degree correlations that the
    configuration-model formula ignores (it sits about 0.01 below every implementation there).
    """
    sd = kernel.reach_sd or 0.0
    se = sd * np.sqrt(1 / len(timing.seconds) + 1 / len(kernel.seconds))
    diff = timing.reach_mean - kernel.reach_mean
    z = diff / se if se > 0 else 0.0
    tolerance = 0.01 + 4 * sd / np.sqrt(len(timing.seconds))
    return {
        "theory_reach": theory,
        "z_vs_kernel": float(z),
        "agrees_with_kernel": bool(abs(z) <= 4),
        "agrees_with_theory": bool(abs(timing.reach_mean - theory) <= tolerance),
    }


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
        "fastest_s": timing.fastest,
        "ties_examined": timing.examined,
        "edges_per_s": timing.throughput,
        "reach_mean": timing.reach_mean,
        "reach_sd": timing.reach_sd,
    }


def run_workload(graph: GraphSpec, net, graphs: Graphs, model: ModelSpec, plan: Plan) -> list[dict]:
    """Kernel, numpy baseline and the installed peers on one graph and model."""
    series = {
        KERNEL: Series(
            lambda s, r: implementations.kernel(net, model, s, r),
            seed_sets(net.n_nodes, plan.kernel_repeats),
        ),
        CALENDAR: Series(
            lambda s, r: implementations.kernel(net, model, s, r, engine="calendar"),
            seed_sets(net.n_nodes, plan.kernel_repeats),
        ),
        STEP: Series(
            lambda s, r: implementations.kernel(net, model, s, r, engine="step"),
            seed_sets(net.n_nodes, plan.kernel_repeats),
        ),
        NUMPY: Series(
            lambda s, r: implementations.numpy_baseline(net, model, s, r),
            seed_sets(net.n_nodes, plan.numpy_repeats),
        ),
    }
    notes = {
        KERNEL: "diffusion.simulate (engine auto = event)",
        CALENDAR: "diffusion.simulate(engine='calendar'), the full model's kernel",
        STEP: "diffusion.simulate(engine='step'), the full model's day-by-day reference",
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
        series[peer.name] = Series(
            lambda s, r, peer=peer: peer.prepare(graphs, model, s, r),
            seed_sets(net.n_nodes, plan.slow_peer_repeats if slow else plan.cynetdiff_repeats),
        )
        notes[peer.name] = peer.how
    timings = time_interleaved(series)
    theory = theory_reach(net.degree(), model.params.transmissibility())
    kernel, numpy_ = timings[KERNEL], timings[NUMPY]
    rows = []
    for impl, timing in timings.items():
        entry = row(graph, net, model, impl, timing, notes[impl])
        entry |= reach_checks(timing, kernel, theory)
        entry |= {
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


def scaling(rows: list[dict]) -> list[dict] | None:
    """Growth of cost on the ER graphs (mean degree fixed, so edges grow like N).

    Least-squares slopes on log-log over the ER sizes run (at least two): of the fastest and of
    the median seconds against N, and of the fastest against the ties examined per run (the
    kernel's own measure of work; the baseline's pairs drawn). The fastest repeat is the least
    disturbed by other load on the machine.
    """
    fits = []
    for impl in (KERNEL, STEP, NUMPY):
        for model in MODELS:
            pts = sorted(
                (r["nodes"], r["fastest_s"], r["median_s"], r["ties_examined"])
                for r in rows
                if r["impl"] == impl and r["model"] == model.label and r["graph"].startswith("ER")
            )
            if len(pts) < 2:
                return None
            nodes, fastest, median, examined = zip(*pts, strict=True)
            log_n = np.log(nodes)
            fit = {
                "impl": impl,
                "model": model.label,
                "nodes": list(nodes),
                "fastest_s": list(fastest),
                "median_s": list(median),
                "exponent_vs_nodes": float(np.polyfit(log_n, np.log(fastest), 1)[0]),
                "exponent_vs_nodes_median": float(np.polyfit(log_n, np.log(median), 1)[0]),
                "exponent_vs_ties_examined": None,
            }
            if None not in examined:
                slope = np.polyfit(np.log(examined), np.log(fastest), 1)[0]
                fit["exponent_vs_ties_examined"] = float(slope)
            fits.append(fit)
    return fits
