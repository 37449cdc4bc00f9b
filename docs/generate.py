"""Tables the documentation quotes from runs, written from the runs' committed result files.

Every number a page quotes from a run comes from a file here: the pages include the Markdown
tables this writes (``--8<-- "docs/generated/NAME.md"``), and ``tests/test_docs_generated.py``
fails when a committed table differs from what its source file gives. ``make docs-tables``
rewrites them; ``make docs-data`` first reruns the documented commands that make the sources.

Source: ``experiments/calibration/fit/`` (the model selection and the fit, committed as data).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
FIT = ROOT / "experiments" / "calibration" / "fit"
OUT = ROOT / "docs" / "generated"


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


def calibration_fit() -> str:
    """Each fitted target: published value and sample interval beside the posterior predictive."""
    rows = []
    for r in pq.read_table(FIT / "fit.parquet").to_pylist():
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


TABLES: dict[str, Callable[[], str]] = {
    "calibration-fit": calibration_fit,
    "calibration-models": calibration_models,
    "calibration-generations": calibration_generations,
    "selection-generations": selection_generations,
    "calibration-posterior": calibration_posterior,
}
"""Every generated table, by the name of its file in ``docs/generated/``."""


def available() -> dict[str, Callable[[], str]]:
    """The tables whose source files exist."""
    sources = {
        "calibration-fit": FIT / "fit.parquet",
        "calibration-models": FIT / "models.parquet",
        "calibration-generations": FIT / "generations.parquet",
        "selection-generations": FIT / "selection-generations.parquet",
        "calibration-posterior": FIT / "posterior.parquet",
    }
    return {name: make for name, make in TABLES.items() if sources[name].is_file()}


def main() -> int:
    OUT.mkdir(exist_ok=True)
    for name, make in available().items():
        (OUT / f"{name}.md").write_text(make(), encoding="utf-8")
        print(f"docs/generated/{name}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
