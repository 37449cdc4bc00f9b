"""The human table (Markdown, so BENCHMARKS.md can quote it) and the atomic JSON file."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

HEADER = (
    "| graph | model | implementation | runs | median s | M ties/s | x numpy | ours faster by "
    "| reach | theory | z vs kernel | fair |"
)


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _yes(flag: bool) -> str:
    return "yes" if flag else "NO"


def kernel_table(rows: list[dict]) -> str:
    """One line per implementation and workload; speed as ratios measured in this run."""
    lines = [HEADER, "|" + "---|" * (HEADER.count("|") - 1)]
    for r in rows:
        if "skipped" in r:
            lines.append(f"| {r['graph']} | {r['model']} | {r['impl']} | skipped: {r['skipped']} |")
            continue
        throughput = None if r["edges_per_s"] is None else r["edges_per_s"] / 1e6
        fair = r["agrees_with_kernel"] and r["agrees_with_theory"]
        lines.append(
            f"| {r['graph']} | {r['model']} | {r['impl']} | {r['repeats']} "
            f"| {r['median_s']:.4f} | {_fmt(throughput, '.1f')} | {r['speed_vs_numpy']:.2f} "
            f"| {r['kernel_speedup']:.1f} | {r['reach_mean']:.4f} | {r['theory_reach']:.4f} "
            f"| {r['z_vs_kernel']:+.1f} | {_yes(fair)} |"
        )
    return "\n".join(lines)


def scaling_table(scaling: list[dict] | None) -> str:
    if not scaling:
        return "(the scaling fit needs at least two Erdős–Rényi sizes: full mode)"
    lines = [
        "| implementation | model | fastest s at N = "
        + ", ".join(f"{n:.0e}" for n in scaling[0]["nodes"])
        + " | exponent vs N (fastest) | (median) | exponent vs ties examined |",
        "|---" * 6 + "|",
    ]
    for fit in scaling:
        secs = ", ".join(f"{s:.4f}" for s in fit["fastest_s"])
        lines.append(
            f"| {fit['impl']} | {fit['model']} | {secs} | {fit['exponent_vs_nodes']:.2f} "
            f"| {fit['exponent_vs_nodes_median']:.2f} "
            f"| {_fmt(fit['exponent_vs_ties_examined'], '.2f')} |"
        )
    return "\n".join(lines)


POPULATION_COLUMNS = (
    ("agents", "agents", ",d"),
    ("edges", "edges", ",d"),
    ("build_s", "build s", ".1f"),
    ("build_peak_gib", "build peak GiB", ".2f"),
    ("network_bytes_per_edge", "network B/edge", ".1f"),
    ("population_bytes_per_edge", "population B/edge", ".1f"),
    ("save_s", "save s", ".1f"),
    ("load_s", "load s", ".1f"),
    ("load_average", "load avg", ".1f"),
)


def population_table(data: dict[str, Any]) -> str:
    """Build figures per size, from ``benchmarks/population_scale.measure``."""
    if data.get("status") != "ok":
        return json.dumps(data)
    lines = [
        "| " + " | ".join(title for _, title, _ in POPULATION_COLUMNS) + " |",
        "|---" * len(POPULATION_COLUMNS) + "|",
    ]
    for size, figures in data["sizes"].items():
        if figures.get("status") != "ok":
            lines.append(f"| {size} | {figures.get('status')}: {figures.get('reason')} |")
            continue
        cells = (_fmt(figures.get(key), spec) for key, _, spec in POPULATION_COLUMNS)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def full_model_table(data: dict[str, Any]) -> str:
    """Seconds, reach and detections of one year on the country, full model and edge-wise."""
    if data.get("status") != "ok":
        return json.dumps(data)
    lines = [
        f"{data['agents']:,} agents, {data['edges']:,} ties, built in {data['build_s']:.0f} s; "
        f"{data['steps']} steps; process peak RSS {data['process_peak_rss_gib']:.1f} GiB",
        "| run | CPU s | wall s | full model / this (CPU) | load average before, after | "
        "reach share | detected | peak holders |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label in ("full_model", "full_model_step", "edge_wise_event"):
        run = data[label]
        ratio = data["full_model"]["cpu_seconds"] / run["cpu_seconds"]
        lines.append(
            f"| {label} | {run['cpu_seconds']:.1f} | {run['seconds']:.1f} | {ratio:.2f} | "
            f"{run['load_average_before']:.1f}, {run['load_average_after']:.1f} | "
            f"{run['reach_share']:.3f} | {run['detected']:,} | {run['peak_holders']:,} |"
        )
    return "\n".join(lines)


def full_model_ratio_summary(data: dict[str, Any]) -> str:
    """CPU medians of the full model's kernels and the edge-wise event kernel, one process."""
    if data.get("status") != "ok":
        return json.dumps(data)
    m = data["cpu_medians"]
    return (
        f"{data['agents']:,} agents, one year, CPU medians of {data['repeats']} interleaved runs: "
        f"calendar {m['calendar']:.3f} s, step {m['step']:.3f} s, edge-wise event "
        f"{m['edge_wise_event']:.3f} s; calendar / edge-wise {data['calendar_vs_edge_wise']:.2f}, "
        f"step / edge-wise {data['step_vs_edge_wise']:.2f}, step / calendar "
        f"{data['step_vs_calendar']:.2f}; load average {data['load_average_before']:.1f} before, "
        f"{data['load_average_after']:.1f} after"
    )


def twenty_years_table(data: dict[str, Any]) -> str:
    """Seconds of one 2000-2020 run of the media-eras scenario per size."""
    if data.get("status") != "ok":
        return json.dumps(data)
    lines = [
        "| agents | build s | run s | s per simulated year | steps | reach share | peak holders |",
        "|---|---|---|---|---|---|---|",
    ]
    for size, f in data["sizes"].items():
        if f.get("status") != "ok":
            lines.append(f"| {size} | {f.get('status')}: {f.get('reason')} |")
            continue
        lines.append(
            f"| {int(size):,} | {f['build_s']:.1f} | {f['seconds']:.1f} | "
            f"{f['seconds_per_year']:.2f} | {f['steps']} | {f['reach_share']:.3f} | "
            f"{f['peak_holders']:,} |"
        )
    return "\n".join(lines)


def calibration_run_summary(data: dict[str, Any]) -> str:
    """Seconds per run of the calibration scenario (benchmarks/calibration_run.py)."""
    if data.get("status") != "ok":
        return json.dumps(data)
    return (
        f"{data['agents']:,} agents in {data['regions']} regions, {data['steps']:,} steps: "
        f"median {data['median_s']:.2f} s per run over {len(data['seconds'])} "
        f"({data['seconds_per_year']:.3f} s per simulated year), country built in "
        f"{data['build_s']:.1f} s; load average {data['load_average']:.1f}"
    )


def sweep_summary(data: dict[str, Any]) -> str:
    if data.get("status") != "ok":
        return json.dumps(data)
    return (
        f"{data['runs']} runs ({data['points']} tasks, baseline on {data['agents']:,} agents): "
        f"serial {data['serial_s']:.2f} s, 1 worker {data['median_wall_1_s']:.2f} s, "
        f"2 workers {data['median_wall_2_s']:.2f} s; speed-up {data['speedup_2_vs_1']:.2f}x; "
        f"overhead {data['overhead_per_task_ms']:.1f} ms per task"
    )


def crn_summary(data: dict[str, Any]) -> str:
    if data.get("status") != "ok":
        return json.dumps(data)
    return (
        f"reach after {data['steps']} days on {data['agents']:,} agents, {data['replicates']} "
        f"replicates per strategy, copies {data['delay_days']} days later: difference "
        f"{data['difference_common']:+.4f} ± {data['se_common']:.4f} with common random numbers, "
        f"{data['difference_independent']:+.4f} ± {data['se_independent']:.4f} without; "
        f"variance ratio {data['variance_ratio']:.1f} (replicates saved by pairing)"
    )


def render(results: dict[str, Any]) -> str:
    """The whole report as text."""
    m = results["machine"]
    parts = [
        f"diffusion benchmarks ({results['mode']} mode), {results['finished']}, "
        f"{results['seconds_total']:.0f} s",
        f"machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, "
        f"Python {m['python']}, numpy {m['numpy']}, load average at start {m['load_average_1min']}",
        "packages: "
        + ", ".join(f"{k} {v}" for k, v in m.get("packages", {}).items() if v is not None),
        "",
        "Kernel vs numpy baseline vs peers (x numpy = numpy median / this median; ours faster "
        "by = this median / event-kernel median; reach = mean final reach share; theory = "
        "configuration model for the graph's degrees; fair = same reach as the event kernel "
        "(|z| <= 4) and as theory (4 SE + 0.01)):",
        kernel_table(results["kernels"]["rows"]),
        "",
        "Graph build seconds: "
        + ", ".join(f"{k} {v:.1f}" for k, v in results["kernels"]["graph_build_s"].items()),
        "",
        "Growth of the kernel's cost (ER, log-log least squares):",
        scaling_table(results["kernels"]["scaling"]),
        "",
        "Population build (benchmarks/population_scale.py, each size in fresh processes):",
        population_table(results["population"]),
        "",
        "Full model against the edge-wise model, same process (benchmarks/extras.py):",
        full_model_ratio_summary(results.get("full_model_ratio", {})),
        "",
        "Full model, 25 M country, one year:",
        full_model_table(results["full_model"]),
        "",
        "Twenty years, 2000-2020 (experiments/media-eras.toml, one run per size):",
        twenty_years_table(results.get("twenty_years", {})),
        "",
        "Sweep scaling, 1 vs 2 workers (benchmarks/sweep_scaling.py):",
        sweep_summary(results["sweep"]),
        "",
        "Common random numbers (benchmarks/common_random_numbers.py):",
        crn_summary(results.get("common_random_numbers", {})),
        "",
        "Calibration scenario, one run (benchmarks/calibration_run.py; quick: the first year):",
        calibration_run_summary(results.get("calibration_run", {})),
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
