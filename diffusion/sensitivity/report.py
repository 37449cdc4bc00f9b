"""What an analysis writes: its tables, two figures and a short ranking in words.

``OUT/morris.parquet`` and ``OUT/sobol.parquet`` hold the indices (``diffusion.sensitivity
.analysis``); ``OUT/morris.png`` plots each output's mu* against sigma, ``OUT/sobol.png`` each
output's S1 and ST with their intervals; ``OUT/summary.txt`` is the ranking the command prints.
Every file is written atomically (``diffusion._io.atomic_write``).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyarrow as pa
from matplotlib.figure import Figure

from diffusion._io import atomic_write
from diffusion._labels import place_labels
from diffusion.results.io import write_parquet
from diffusion.sensitivity.run import Analysis
from diffusion.sweep.run import TARGET

SOBOL_FLOOR = 16
"""Fewest Sobol base samples N whose indices are reported without a caution: below it the
bootstrap resamples draw from so few base rows that even their intervals are unreliable (a
project choice; SALib's examples use N = 1024)."""

LABELS = {"reach_share": "reach (share informed at the end)", "detected": "detected (agents)"}


def label(output: str) -> str:
    """How an output is named in the figures and the summary."""
    if output.startswith(TARGET):
        return f"target {output.removeprefix(TARGET)}"
    return LABELS.get(output, output)


def short(parameter: str) -> str:
    """A parameter's path without ``model.``, for crowded figures."""
    return parameter.removeprefix("model.")


def write_report(analysis: Analysis, out: str | Path) -> list[str]:
    """Write the tables, the figures and the summary into ``out``; return the summary's lines."""
    out = Path(out)
    write_parquet(analysis.morris, out / "morris.parquet")
    write_parquet(analysis.sobol, out / "sobol.parquet")
    _save(plot_morris(analysis.morris), out / "morris.png")
    _save(plot_sobol(analysis.sobol, analysis.settings.confidence), out / "sobol.png")
    lines = summary(analysis)
    atomic_write(out / "summary.txt", ("\n".join(lines) + "\n").encode())
    return lines


def summary(analysis: Analysis) -> list[str]:
    """The analysis in a few lines: sizes, what the screening dropped, and for each output the
    kept parameters by total-order index (largest first) with their intervals."""
    settings = analysis.settings
    dropped = [name for name in analysis.space.names if name not in analysis.kept]
    level = f"{settings.confidence:.0%}"
    lines = [
        f"Morris: {len(analysis.space.names)} parameters, {settings.morris.trajectories} "
        f"trajectories, {analysis.runs['morris']} runs; kept {len(analysis.kept)} "
        f"(mu* at least {settings.morris.threshold:g} of the largest for some output)",
        f"Sobol: {len(analysis.kept)} parameters, N = {settings.sobol.samples}, "
        f"{analysis.runs['sobol']} runs; total-order index ST with its {level} interval",
    ]
    if dropped:
        lines.append(f"screened out: {', '.join(dropped)}")
    for output, rows in _by_output(analysis.sobol).items():
        rows.sort(key=lambda row: -row["ST"])
        ranked = ", ".join(
            f"{row['parameter']} {row['ST']:.2f} [{row['ST_low']:.2f}, {row['ST_high']:.2f}]"
            for row in rows
        )
        lines.append(f"{label(output)}: {ranked}")
    return lines


def weak_index_warnings(sobol: pa.Table, samples: int) -> list[str]:
    """Cautions, one line each, when N is too small for the Sobol indices to mean anything:
    N below ``SOBOL_FLOOR``, or an output for most of whose parameters the total-order index's
    interval is wider than the index itself (its ranking could be anything)."""
    advice = "raise sensitivity.sobol.samples or --samples"
    if samples < SOBOL_FLOOR:
        return [
            f"sensitivity: N = {samples} Sobol base samples is below {SOBOL_FLOOR}: the indices "
            f"and their intervals are noise ({advice})"
        ]
    found = []
    for output, rows in _by_output(sobol).items():
        wide = sum(row["ST_high"] - row["ST_low"] > row["ST"] for row in rows)
        if 2 * wide > len(rows):
            found.append(
                f"sensitivity: {label(output)}: the ST interval is wider than the index for "
                f"{wide} of {len(rows)} parameters; N = {samples} is too small for these "
                f"indices to mean anything ({advice})"
            )
    return found


def plot_morris(morris: pa.Table) -> Figure:
    """One panel per output: each parameter's mu* (with its interval) against sigma."""
    groups = _by_output(morris)
    figure, axes = _panels(len(groups))
    for ax, (output, rows) in zip(axes, groups.items(), strict=False):
        mu_star = np.array([row["mu_star"] for row in rows])
        ax.errorbar(
            mu_star,
            [row["sigma"] for row in rows],
            xerr=[row["mu_star_conf"] for row in rows],
            fmt="o",
            color="tab:blue",
            ecolor="0.6",
            capsize=2,
        )
        ax.set_title(label(output), fontsize=9)
        ax.set_xlabel("mu* (mean |elementary effect|)", fontsize=8)
        ax.set_ylabel("sigma", fontsize=8)
        ax.set_xlim(left=0)
        ax.set_ylim(bottom=0)
        ax.tick_params(labelsize=7)
        sigma = [row["sigma"] for row in rows]
        place_labels(ax, mu_star, sigma, [short(row["parameter"]) for row in rows], fontsize=7)
    figure.suptitle("Morris screening: effect (mu*) and non-linearity or interaction (sigma)")
    return figure


def plot_sobol(sobol: pa.Table, confidence: float) -> Figure:
    """One panel per output: each kept parameter's S1 and ST, with their intervals."""
    groups = _by_output(sobol)
    figure, axes = _panels(len(groups))
    for ax, (output, rows) in zip(axes, groups.items(), strict=False):
        y = np.arange(len(rows))
        for offset, key, color in ((-0.2, "S1", "tab:orange"), (0.2, "ST", "tab:blue")):
            value = np.array([row[key] for row in rows])
            error = [
                value - [row[f"{key}_low"] for row in rows],
                [row[f"{key}_high"] for row in rows] - value,
            ]
            ax.barh(y + offset, value, height=0.4, xerr=error, color=color, label=key, capsize=2)
        ax.set_yticks(y, [short(row["parameter"]) for row in rows], fontsize=7)
        ax.invert_yaxis()
        ax.axvline(0, color="0.3", linewidth=0.8)
        ax.set_title(label(output), fontsize=9)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7, loc="lower right")
    figure.suptitle(f"Sobol indices: first order (S1) and total (ST), {confidence:.0%} intervals")
    return figure


def _by_output(table: pa.Table) -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = {}
    for row in table.to_pylist():
        groups.setdefault(row["output"], []).append(row)
    return groups


def _panels(count: int) -> tuple[Figure, list]:
    """A figure with ``count`` panels, three to a row (at least one panel)."""
    columns = min(3, max(count, 1))
    rows = math.ceil(max(count, 1) / columns)
    figure = Figure(figsize=(4.3 * columns, 3.3 * rows + 0.6), layout="constrained")
    axes = list(figure.subplots(rows, columns, squeeze=False).ravel())
    for ax in axes[count:]:
        ax.set_visible(False)
    return figure, axes


def _save(figure: Figure, path: Path) -> Path:
    """Save as PNG atomically."""
    return atomic_write(path, lambda handle: figure.savefig(handle, dpi=90, format="png"))
