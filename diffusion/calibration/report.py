"""What a calibration found, read from its pyabc history: the posterior, each target's fit, and
a figure of simulated against published values over time.

The posterior is the last generation's accepted particles with their weights (log priors back
on their natural scale). A target's fit is the weighted distribution of its model value among
those particles (the runs that were accepted), beside the published value and, where the
sample size is known, the sample's 90% interval (normal approximation of a binomial share).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.dates as mdates
import numpy as np
import pyarrow as pa
from matplotlib.figure import Figure

from diffusion._io import atomic_write
from diffusion._labels import place_labels
from diffusion.calibration.abc import LOG
from diffusion.calibration.targets import TargetFile

Z90 = 1.6449
"""Half-width of a 90% normal interval, in standard errors."""


def posterior_table(history: Any) -> pa.Table:
    """The last generation: one row per particle, its weight and its parameter values."""
    frame, weights = history.get_distribution(m=0, t=history.max_t)
    columns: dict[str, Any] = {"weight": np.asarray(weights, dtype=float)}
    for name in frame.columns:
        values = frame[name].to_numpy(dtype=float)
        if name.startswith(LOG):
            columns[name.removeprefix(LOG)] = 10.0**values
        else:
            columns[name] = values
    return pa.table(columns)


def weighted_quantiles(values: np.ndarray, weights: np.ndarray, q: list[float]) -> np.ndarray:
    """Quantiles ``q`` of ``values`` with weights (midpoints of the weighted ECDF)."""
    order = np.argsort(values)
    values, weights = values[order], weights[order]
    cumulative = (np.cumsum(weights) - 0.5 * weights) / weights.sum()
    return np.interp(q, cumulative, values)


def fit_table(history: Any, targets: TargetFile) -> pa.Table:
    """Each fitted target: published value and sample interval, and the accepted runs' median
    and 90% interval of its model value."""
    weights, stats = history.get_weighted_sum_stats(t=history.max_t)
    weights = np.asarray(weights, dtype=float)
    rows = []
    for target in targets.fitted():
        values = np.array([s[target.name] for s in stats], dtype=float)
        low, median, high = weighted_quantiles(values, weights, [0.05, 0.5, 0.95])
        spread = Z90 * np.sqrt(target.value * (1 - target.value) / target.n) if target.n else None
        rows.append(
            {
                "target": target.name,
                "measure": target.measure,
                "date": target.period.date(),
                "published": target.value,
                "sample_low": None if spread is None else max(0.0, target.value - spread),
                "sample_high": None if spread is None else min(1.0, target.value + spread),
                "model_median": float(median),
                "model_low": float(low),
                "model_high": float(high),
                "source": target.source,
            }
        )
    return pa.Table.from_pylist(rows)


def plot_fit(fit: pa.Table, path: Path) -> Path:
    """Published values (with their samples' 90% intervals) and the accepted runs' values (median
    and 90% interval) at each target's date."""
    rows = fit.to_pylist()
    figure = Figure(figsize=(9, 5), layout="constrained")
    ax = figure.subplots()
    where = []  # each target's label goes above its model interval
    for k, row in enumerate(rows):
        day = np.datetime64(row["date"], "D") + np.timedelta64(40 * (k % 3) - 40, "D")
        model = ax.errorbar(
            day,
            row["model_median"],
            yerr=[
                [row["model_median"] - row["model_low"]],
                [row["model_high"] - row["model_median"]],
            ],
            fmt="o",
            color="tab:blue",
            capsize=3,
        )
        if row["sample_low"] is not None:
            error = [
                [row["published"] - row["sample_low"]],
                [row["sample_high"] - row["published"]],
            ]
        else:
            error = None
        published = ax.errorbar(
            np.datetime64(row["date"], "D"),
            row["published"],
            yerr=error,
            fmt="s",
            color="black",
            capsize=3,
        )
        where.append((day, row["model_high"]))
    ax.legend(
        [published, model],
        [
            "published (square; bar: the sample's 90% interval)",
            "model: accepted runs, median and 90%",
        ],
        loc="upper center",
        bbox_to_anchor=(0.5, -0.12),
        ncol=2,
        fontsize="small",
    )
    ax.set(
        xlabel="date the figure refers to",
        ylabel="share of people",
        ylim=(0, 1.04),
        title="Calibration: simulated against published values",
    )
    ax.grid(alpha=0.3)
    days, tops = zip(*where, strict=True) if where else ((), ())
    place_labels(ax, mdates.date2num(np.array(days, dtype="datetime64[D]")), tops,
                 [row["target"] for row in rows], fontsize=7)  # fmt: skip
    return atomic_write(path, lambda handle: figure.savefig(handle, dpi=100, format="png"))
