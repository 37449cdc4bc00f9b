"""Figures of a strategy evaluation and a placement search, drawn headless into PNG files
(plain ``Figure`` objects on the Agg canvas, as ``diffusion.results.plots``).

Every estimate is drawn with its 95% interval: reach over time per strategy with a band, the
paired differences from the reference, reach by province per strategy, and reach against
detections with the front of the placements no other beats on both.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from matplotlib.figure import Figure

from diffusion._io import atomic_write
from diffusion._labels import place_labels
from diffusion.strategy.pareto import front_order


def reach_over_time(over_time: pa.Table, order: list[str], path: Path) -> Path:
    """Mean people reached per day for each strategy, with its 95% band."""
    figure = Figure(figsize=(8, 4.5), layout="constrained")
    ax = figure.add_subplot()
    for name in order:
        mine = over_time.filter(pc.equal(over_time["strategy"], name))
        step = mine["step"].to_numpy()
        ax.plot(step, mine["reach"].to_numpy(), label=name, lw=1.2)
        ax.fill_between(step, mine["reach_low"].to_numpy(), mine["reach_high"].to_numpy(),
                        alpha=0.2)  # fmt: skip
    ax.set(xlabel="day", ylabel="people reached (mean, 95% band)",
           title="Reach over time by entry strategy")  # fmt: skip
    ax.legend(fontsize="small")
    return _save(figure, path)


def differences(table: pa.Table, reference: str, path: Path, metric: str = "reach") -> Path:
    """Each strategy's mean paired difference from the reference, with its 95% interval."""
    rows = [r for r in table.to_pylist() if r["metric"] == metric and r["strategy"] != reference]
    rows.sort(key=lambda r: r["mean"])
    figure = Figure(figsize=(7, 0.5 + 0.45 * max(len(rows), 1)), layout="constrained")
    ax = figure.add_subplot()
    y = np.arange(len(rows))
    mean = np.array([r["mean"] for r in rows])
    errors = [mean - [r["low"] for r in rows], [r["high"] for r in rows] - mean]
    ax.errorbar(mean, y, xerr=errors, fmt="o", capsize=3)
    ax.axvline(0, color="gray", lw=0.8)
    ax.set_yticks(y, [r["strategy"] for r in rows])
    ax.set(xlabel=f"{metric} minus {reference}'s, same replicate (mean, 95% CI)",
           title=f"Paired difference from {reference} (common random numbers)")  # fmt: skip
    return _save(figure, path)


def reach_by_province(table: pa.Table, order: list[str], path: Path) -> Path:
    """Share of each province reached by the end, per strategy: a point and its 95% interval
    (the axis spans the estimates, not 0-100%, so that the strategies can be told apart)."""
    provinces = list(dict.fromkeys(table["province"].to_pylist()))
    rows = {(r["strategy"], r["province"]): r for r in table.to_pylist()}
    figure = Figure(figsize=(9, 1 + 0.55 * len(provinces)), layout="constrained")
    ax = figure.add_subplot()
    offset = 0.8 / len(order)
    for k, name in enumerate(order):
        mean = np.array([rows[(name, p)]["mean"] for p in provinces])
        low = np.array([rows[(name, p)]["low"] for p in provinces])
        high = np.array([rows[(name, p)]["high"] for p in provinces])
        y = np.arange(len(provinces)) + (k - (len(order) - 1) / 2) * offset
        ax.errorbar(mean, y, xerr=[mean - low, high - mean], fmt="o", ms=3, lw=0.8, label=name)
    ax.set_yticks(np.arange(len(provinces)), provinces)
    ax.invert_yaxis()
    ax.xaxis.set_major_formatter(lambda x, _: f"{x:.0%}")
    ax.set(xlabel="share of the province reached by the end (mean, 95% CI)",
           title="Reach by province and entry strategy")  # fmt: skip
    ax.legend(fontsize="small", loc="center left", bbox_to_anchor=(1.01, 0.5))
    return _save(figure, path)


def front(
    reach: np.ndarray,
    detected: np.ndarray,
    path: Path,
    title: str,
    labels: list[str] | None = None,
    reach_err: np.ndarray | None = None,
    detected_err: np.ndarray | None = None,
    kind: str = "placements",
) -> Path:
    """Reach against detections, the front (no point beats it on both) joined by a line.

    ``kind`` names the points in the legend (``strategies``, ``placements``); ``labels`` are
    placed apart from each other and from the points (``diffusion._labels``).
    """
    figure = Figure(figsize=(7.5, 5.5), layout="constrained")
    ax = figure.add_subplot()
    points = kind + (" (mean, 95% CI)" if reach_err is not None else "")
    ax.errorbar(detected, reach, xerr=detected_err, yerr=reach_err, fmt="o", color="tab:gray",
                ms=4, alpha=0.6, label=points)  # fmt: skip
    best = front_order(reach, detected)
    ax.plot(detected[best], reach[best], "o-", color="tab:red",
            label=f"front: {kind} no other beats on both")  # fmt: skip
    ax.set(xlabel="people detected (mean over replicates)",
           ylabel="people reached (mean over replicates)", title=title)  # fmt: skip
    ax.legend(fontsize="small", loc="lower right")
    if labels:
        place_labels(ax, detected, reach, labels)
    return _save(figure, path)


def _save(figure: Figure, path: Path) -> Path:
    """Save as PNG atomically (``diffusion._io.atomic_write``)."""
    return atomic_write(path, lambda handle: figure.savefig(handle, dpi=100, format="png"))
