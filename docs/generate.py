"""Tables the documentation quotes from runs, written from the runs' committed result files.

Every number a page quotes from a run comes from a file here: the pages include the Markdown
tables this writes (``--8<-- "docs/generated/NAME.md"``), and ``tests/test_docs_generated.py``
fails when a committed table differs from what its source file gives. ``make docs-tables``
rewrites them; ``make docs-data`` first reruns the documented commands that make the sources.

Sources: ``experiments/calibration/fit/`` (the model selection and the fit, committed as data)
``docs/data/strategy-usb-budget/`` (the strategy comparison on the fitted behaviour) and
``docs/data/fit-checks.parquet`` (the fitted statistics at other scales and without deterrence,
docs/fit_checks.py), ``docs/data/sensitivity/`` (Morris and Sobol indices, docs/sensitivity.md)
and ``benchmarks/results/full-run.json`` (the last full run of ``python -m benchmarks``, whose
tables BENCHMARKS.md holds between ``<!-- BEGIN generated NAME -->`` and ``<!-- END generated
NAME -->``).
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
FIT = ROOT / "experiments" / "calibration" / "fit"
STRATEGY = ROOT / "docs" / "data" / "strategy-usb-budget"
CHECKS = ROOT / "docs" / "data" / "fit-checks.parquet"
SENSITIVITY = ROOT / "docs" / "data" / "sensitivity"
BENCH_RUN = ROOT / "benchmarks" / "results" / "full-run.json"
EVENT_AB = ROOT / "benchmarks" / "event-before-after.json"
"""The event kernel of two commits timed in one process (``python -m benchmarks.ab_event``)."""
OUT = ROOT / "docs" / "generated"
BLOCK = re.compile(r"(<!-- BEGIN generated ([\w-]+) -->\n)(.*?)(<!-- END generated \2 -->)", re.S)
"""A generated table inside a Markdown file outside docs/ (BENCHMARKS.md)."""
BLOCK_FILES = (ROOT / "BENCHMARKS.md",)
BLOCK_TABLES = frozenset({"benchmarks-goals", "benchmarks-run", "benchmarks-event-ab"})
"""Tables that live in blocks of BLOCK_FILES rather than in docs/generated/."""


def _table(header: list[str], rows: list[list[str]], align: str | None = None) -> str:
    align = align or "l" * len(header)
    marks = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(marks) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _share(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def _yes(x: bool | None) -> str:
    return "n/a" if x is None else ("yes" if x else "**no**")


def _fit(path: Path) -> str:
    """Each fitted target: published value and sample interval beside the posterior predictive."""
    rows = []
    for r in pq.read_table(path).to_pylist():
        sample = (
            f" ({r['sample_low']:.3f}-{r['sample_high']:.3f})"
            if r["sample_low"] is not None
            else " (n not known)"
        )
        rows.append(
            [
                r["target"],
                r["measure"],
                str(r["date"]),
                f"{r['published']:.3f}{sample}",
                f"{r['model_median']:.3f} ({r['model_low']:.3f}-{r['model_high']:.3f})",
                _yes(r["inside_predictive_90"]),
                _yes(r["median_inside_sample_90"]),
            ]
        )
    header = [
        "target",
        "measure",
        "evaluated at",
        "published (sample's 90%)",
        "posterior predictive median (90%)",
        "published inside the predictive 90%?",
        "predictive median inside the sample's 90%?",
    ]
    return _table(header, rows)


def calibration_fit() -> str:
    """The fit's posterior predictive, target by target."""
    return _fit(FIT / "fit.parquet")


def selection_fit() -> str:
    """The posterior predictive of the model selection's most probable variant."""
    return _fit(FIT / "selection-fit.parquet")


def calibration_models() -> str:
    """The variants' posterior probabilities from the model selection."""
    rows = [
        [r["model"], f"{r['probability']:.3f} ± {r['standard_error']:.3f}", str(r["particles"])]
        for r in pq.read_table(FIT / "models.parquet").to_pylist()
    ]
    return _table(["variant", "posterior probability ± MC error", "particles"], rows, "lrr")


def _generations(path: Path) -> str:
    table = pq.read_table(path).to_pylist()
    rows = [
        [
            str(r["generation"]),
            str(r["particles"]),
            f"{r['ess']:.1f}",
            f"{r['epsilon']:.4g}",
            f"{r['acceptance_rate']:.3f}",
            f"{r['runs']:,}",
        ]
        for r in table
    ]
    rows.append(["all", "", "", "", "", f"**{sum(r['runs'] for r in table):,}**"])
    header = ["generation", "particles", "ESS", "epsilon", "acceptance rate", "runs"]
    return _table(header, rows, "rrrrrr")


def calibration_generations() -> str:
    """The fit, generation by generation."""
    return _generations(FIT / "generations.parquet")


def selection_generations() -> str:
    """The model selection, generation by generation."""
    return _generations(FIT / "selection-generations.parquet")


def calibration_posterior() -> str:
    """Each fitted parameter's posterior median and 90% interval."""
    from diffusion.calibration.report import posterior_summary

    summary = posterior_summary(pq.read_table(FIT / "posterior.parquet"))
    rows = [
        [f"`{r['parameter']}`", f"{r['median']:.4g}", f"{r['low']:.4g} - {r['high']:.4g}"]
        for r in summary.to_pylist()
    ]
    return _table(["parameter", "median", "90% interval"], rows, "lrl")


def _by(table: Path, metric: str) -> dict[str, dict]:
    """Rows of a strategy summary or differences table for one figure, by strategy."""
    return {r["strategy"]: r for r in pq.read_table(table).to_pylist() if r["metric"] == metric}


def _interval(r: dict, spec: str) -> str:
    return f"{r['mean']:{spec}} [{r['low']:{spec}}, {r['high']:{spec}}]"


def strategy_ranking() -> str:
    """The strategies by mean reach, with the paired differences from the reference and the
    precision common random numbers bought: the standard error of independent replicates,
    ``sqrt(se_strategy^2 + se_reference^2)``, over that of the paired difference."""
    reach = _by(STRATEGY / "summary.parquet", "reach")
    detected = _by(STRATEGY / "summary.parquet", "detected")
    spread = _by(STRATEGY / "summary.parquet", "province_reach_sd")
    reach_diff = _by(STRATEGY / "differences.parquet", "reach")
    detected_diff = _by(STRATEGY / "differences.parquet", "detected")
    reference = next(iter(reach_diff.values()))["reference"]
    rows = []
    for name in sorted(reach, key=lambda n: -reach[n]["mean"]):
        paired = reach_diff[name]
        unpaired = (reach[name]["se"] ** 2 + reach[reference]["se"] ** 2) ** 0.5
        gain = "" if name == reference else f"{unpaired / paired['se']:.1f}x"
        rows.append(
            [
                name,
                _interval(reach[name], ",.0f"),
                "0" if name == reference else _interval(paired, "+,.0f"),
                f"{detected[name]['mean']:,.0f}",
                "0" if name == reference else _interval(detected_diff[name], "+,.0f"),
                f"{100 * spread[name]['mean']:.1f}",
                gain,
            ]
        )
    header = [
        "strategy",
        "reach (95%)",
        f"reach - {reference} (95%)",
        "detected",
        f"detected - {reference} (95%)",
        "province sd (%)",
        "paired precision",
    ]
    return _table(header, rows, "lrrrrrr")


def strategy_search() -> str:
    """Each pick of the placement search, per price of an arrest."""
    rows = [
        [
            f"{r['price']:g}",
            str(r["pick"]),
            str(r["agent"]),
            f"{r['value']:,.0f}",
            f"{r['gain']:+,.0f}",
        ]
        for r in pq.read_table(STRATEGY / "search_steps.parquet").to_pylist()
    ]
    return _table(["price per arrest", "pick", "agent", "value after", "gain"], rows, "rrrrr")


def fit_checks() -> str:
    """Each fitted statistic in every setting (mean +- standard error over replicates), and each
    other setting's z-score against the first: the difference over its standard error."""
    rows = pq.read_table(CHECKS).to_pylist()
    settings = list(dict.fromkeys(r["setting"] for r in rows))
    value = {(r["setting"], r["target"]): r for r in rows}
    reference = settings[0]
    header = ["target"]
    for label in settings:
        header.append(label)
        if label != reference:
            header.append("z")
    table = []
    for target in dict.fromkeys(r["target"] for r in rows):
        base = value[(reference, target)]
        line = [target]
        for label in settings:
            r = value[(label, target)]
            line.append(f"{r['mean']:.4f} ± {r['se']:.4f}")
            if label != reference:
                z = (r["mean"] - base["mean"]) / ((r["se"] ** 2 + base["se"] ** 2) ** 0.5 or 1.0)
                line.append(f"{z:+.1f}")
        table.append(line)
    return _table(header, table, "l" + "r" * (len(header) - 1))


def _by_output(rows: list[dict], cell: Callable[[dict], str]) -> str:
    """A parameter x output table of one index (rows of a Morris or Sobol table)."""
    outputs = list(dict.fromkeys(r["output"] for r in rows))
    parameters = list(dict.fromkeys(r["parameter"] for r in rows))
    value = {(r["parameter"], r["output"]): r for r in rows}
    header = ["parameter"] + [o.removeprefix("target:") for o in outputs]
    table = [
        [f"`{p.removeprefix('model.')}`"]
        + [cell(value[(p, o)]) if (p, o) in value else "" for o in outputs]
        for p in parameters
    ]
    return _table(header, table, "l" + "r" * len(outputs))


def sensitivity_morris() -> str:
    """Relative Morris mu* of every parameter on every output (1: the largest on that output)."""
    rows = pq.read_table(SENSITIVITY / "morris.parquet").to_pylist()
    return _by_output(rows, lambda r: f"{r['relative']:.2f}")


def sensitivity_sobol() -> str:
    """Total-order Sobol index ST of every kept parameter on every output, with its interval."""
    rows = pq.read_table(SENSITIVITY / "sobol.parquet").to_pylist()
    return _by_output(rows, lambda r: f"{r['ST']:.2f} ({r['ST_low']:.2f}, {r['ST_high']:.2f})")


def _bench() -> dict:
    return json.loads(BENCH_RUN.read_text(encoding="utf-8"))


def _kernel_row(rows: list[dict], graph: str, model: str, impl: str) -> dict:
    return next(r for r in rows if (r["graph"], r["model"], r["impl"]) == (graph, model, impl))


def benchmarks_goals() -> str:
    """Issue 23's goals against the last full benchmark run (ratios from one process)."""
    run = _bench()
    rows = run["kernels"]["rows"]
    sir = _kernel_row(rows, "ER 1e+06", "SIR", "diffusion event kernel")
    cascade = _kernel_row(rows, "ER 1e+06", "IC", "cynetdiff IC")
    ratio, country = run["full_model_ratio"], run["full_model"]
    full = country["full_model"]
    goals = [
        [
            "event kernel, ER 10^6 SIR: >= 6.5x the numpy SIR (same run)",
            f"{sir['median_s']:.3f} s: {sir['speed_vs_numpy']:.2f}x",
            _yes(sir["speed_vs_numpy"] >= 6.5),
        ],
        [
            "event kernel, ER 10^6 cascade: >= 5.5x cynetdiff (same run)",
            f"cynetdiff {cascade['median_s']:.3f} s: {cascade['kernel_speedup']:.2f}x",
            _yes(cascade["kernel_speedup"] >= 5.5),
        ],
        [
            "full model, 25 M country, one year: <= 20 s CPU, peak memory <= 8 GiB",
            f"{full['cpu_seconds']:.1f} s CPU (calendar kernel; step kernel "
            f"{country['full_model_step']['cpu_seconds']:.1f} s), load average "
            f"{full['load_average_before']:.1f}; process peak "
            f"{country['process_peak_rss_gib']:.1f} GiB",
            _yes(full["cpu_seconds"] <= 20 and country["process_peak_rss_gib"] <= 8),
        ],
        [
            f"full model, {ratio['agents']:,} agents, one year: <= 3x the edge-wise event "
            "kernel (CPU medians, same process)",
            f"{ratio['calendar_vs_edge_wise']:.2f}x (step kernel "
            f"{ratio['step_vs_edge_wise']:.2f}x)",
            _yes(ratio["calendar_vs_edge_wise"] <= 3),
        ],
    ]
    return _table(["goal", "measured in the last full run", "met"], goals)


def benchmarks_event_ab() -> str:
    """The event kernel's whole ``simulate`` call of two commits, interleaved in one process
    (``python -m benchmarks.ab_event``), against issue 23's goals."""
    run = json.loads(EVENT_AB.read_text(encoding="utf-8"))
    med = run["median"]
    rows = []
    for label, model, ref, name, goal in (
        ("SIR (beta 0.05, gamma 0.2)", "SIR", "SIR numpy", "numpy SIR", 6.5),
        ("cascade (gamma 1, beta 0.2083)", "IC", "IC cynetdiff", "cynetdiff", 5.5),
    ):
        before, after, reference = med[f"{model} before"], med[f"{model} after"], med.get(ref)
        refs = (
            [f"{name} {reference:.3f} s", f"{reference / before:.2f}x", f"{reference / after:.2f}x"]
            if reference
            else [f"{name}: not installed", "-", "-"]
        )
        rows.append(
            [
                label,
                f"{before:.4f} s",
                f"{after:.4f} s",
                f"{after / before:.3f}",
                *refs,
                f">= {goal}x",
            ]  # fmt: skip
        )
    header = ["workload", "before", "after", "after / before", "reference", "before: x ref",
              "after: x ref", "goal"]  # fmt: skip
    machine = run["machine"]
    return (
        f"Before: {run['before_commit']}; after: {run['after_commit']}. CPU seconds, medians of "
        f"{run['repeats']} interleaved repeats in one process; {machine['cpu']}, "
        f"{machine['cores']} cores, load average {machine['load_average_1min']:.1f}.\n\n"
        + _table(header, rows)
    )


def benchmarks_run() -> str:
    """The report of the last full benchmark run, as ``python -m benchmarks`` prints it."""
    spec = importlib.util.spec_from_file_location(
        "benchmarks_report", ROOT / "benchmarks" / "report.py"
    )
    report = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(report)
    lines: list[str] = []
    for line in report.render(_bench()).splitlines():
        if lines and lines[-1] and not (line.startswith("|") and lines[-1].startswith("|")):
            lines.append("")  # each line its own paragraph; a table's rows stay together
        lines.append(line)
    return "\n".join(lines) + "\n"


TABLES: dict[str, Callable[[], str]] = {
    "calibration-fit": calibration_fit,
    "calibration-models": calibration_models,
    "selection-fit": selection_fit,
    "calibration-generations": calibration_generations,
    "selection-generations": selection_generations,
    "calibration-posterior": calibration_posterior,
    "strategy-ranking": strategy_ranking,
    "strategy-search": strategy_search,
    "fit-checks": fit_checks,
    "sensitivity-morris": sensitivity_morris,
    "sensitivity-sobol": sensitivity_sobol,
    "benchmarks-goals": benchmarks_goals,
    "benchmarks-run": benchmarks_run,
    "benchmarks-event-ab": benchmarks_event_ab,
}
"""Every generated table, by the name of its file in ``docs/generated/``."""


def available() -> dict[str, Callable[[], str]]:
    """The tables whose source files exist."""
    sources = {
        "calibration-fit": FIT / "fit.parquet",
        "calibration-models": FIT / "models.parquet",
        "selection-fit": FIT / "selection-fit.parquet",
        "calibration-generations": FIT / "generations.parquet",
        "selection-generations": FIT / "selection-generations.parquet",
        "calibration-posterior": FIT / "posterior.parquet",
        "strategy-ranking": STRATEGY / "differences.parquet",
        "strategy-search": STRATEGY / "search_steps.parquet",
        "fit-checks": CHECKS,
        "sensitivity-morris": SENSITIVITY / "morris.parquet",
        "sensitivity-sobol": SENSITIVITY / "sobol.parquet",
        "benchmarks-goals": BENCH_RUN,
        "benchmarks-run": BENCH_RUN,
        "benchmarks-event-ab": EVENT_AB,
    }
    return {name: make for name, make in TABLES.items() if sources[name].is_file()}


def blocks(text: str) -> dict[str, str]:
    """The generated blocks of a Markdown file: name -> what stands between its markers."""
    return {m.group(2): m.group(3) for m in BLOCK.finditer(text)}


def fill_blocks(text: str, tables: dict[str, Callable[[], str]]) -> str:
    """``text`` with each generated block rewritten from its table."""
    return BLOCK.sub(lambda m: m.group(1) + tables[m.group(2)]() + m.group(4), text)


def main() -> int:
    OUT.mkdir(exist_ok=True)
    tables = available()
    for name, make in tables.items():
        if name not in BLOCK_TABLES:
            (OUT / f"{name}.md").write_text(make(), encoding="utf-8")
            print(f"docs/generated/{name}.md")
    for path in BLOCK_FILES:
        path.write_text(fill_blocks(path.read_text(encoding="utf-8"), tables), encoding="utf-8")
        print(path.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
