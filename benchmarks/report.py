"""The human table (Markdown, so BENCHMARKS.md can quote it) and the atomic JSON file."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

HEADER = (
    "| graph | model | implementation | runs | median s | M ties/s | x numpy | ours faster by "
    "| reach | theory | fair |"
)


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def kernel_table(rows: list[dict]) -> str:
    """One line per implementation and workload; speed as ratios measured in this run."""
    lines = [HEADER, "|" + "---|" * (HEADER.count("|") - 1)]
    for r in rows:
        if "skipped" in r:
            lines.append(
                f"| {r['graph']} | {r['model']} | {r['impl']} | skipped: {r['skipped']} "
                "| | | | | | | |"
            )
            continue
        throughput = None if r["edges_per_s"] is None else r["edges_per_s"] / 1e6
        lines.append(
            f"| {r['graph']} | {r['model']} | {r['impl']} | {r['repeats']} "
            f"| {r['median_s']:.4f} | {_fmt(throughput, '.1f')} | {r['speed_vs_numpy']:.2f} "
            f"| {r['kernel_speedup']:.1f} | {r['reach_mean']:.4f} | {r['theory_reach']:.4f} "
            f"| {'yes' if r['reach_agrees'] else 'NO'} |"
        )
    return "\n".join(lines)


def scaling_table(scaling: dict | None) -> str:
    if not scaling:
        return "(scaling fit needs at least two Erdős–Rényi sizes: full mode)"
    lines = [
        "| model | N | median s | exponent vs N | exponent vs ties examined |",
        "|---" * 5 + "|",
    ]
    for model, fit in scaling.items():
        sizes = ", ".join(f"{n:.0e}" for n in fit["nodes"])
        secs = ", ".join(f"{s:.4f}" for s in fit["median_s"])
        lines.append(
            f"| {model} | {sizes} | {secs} | {fit['exponent_vs_nodes']:.3f} "
            f"| {fit['exponent_vs_ties_examined']:.3f} |"
        )
    return "\n".join(lines)


def section(title: str, data: dict[str, Any]) -> str:
    """An optional benchmark: its status, and its figures as indented JSON."""
    return f"{title}: {data.get('status')}\n" + json.dumps(data, indent=2, default=str)


def render(results: dict[str, Any]) -> str:
    """The whole report as text."""
    m = results["machine"]
    parts = [
        f"diffusion benchmarks ({results['mode']} mode), {results['finished']}, "
        f"{results['seconds_total']:.0f} s",
        f"machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, "
        f"Python {m['python']}, numpy {m['numpy']}, load average at start {m['load_average_1min']}",
        "",
        "Kernel vs numpy baseline vs peers (x numpy = numpy median / this median; ours faster "
        "by = this median / kernel median; reach = mean final reach share; fair = reach within "
        "tolerance of configuration-model theory):",
        kernel_table(results["kernels"]["rows"]),
        "",
        "Graph build seconds: "
        + ", ".join(f"{k} {v:.1f}" for k, v in results["kernels"]["graph_build_s"].items()),
        "",
        "Growth of the kernel's cost (ER, log-log least squares):",
        scaling_table(results["kernels"]["scaling"]),
        "",
        section("Population build", results["population"]),
        section("Full model, 25 M country, one year", results["full_model"]),
        section("Sweep scaling, 1 vs 2 workers", results["sweep"]),
    ]
    return "\n".join(parts)


def write_json(path: Path, results: dict[str, Any]) -> None:
    """Write atomically: a temporary file in the same folder, then rename."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent or ".", prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(results, handle, indent=1, default=str)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
