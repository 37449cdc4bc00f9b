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

Z90 = 1.6449
"""Half-width of a 90% normal interval, in standard errors."""


def generations_table(history: Any) -> pa.Table:
    """One row per generation: accepted particles, their effective sample size (Kish,
    ``1 / sum(w^2)`` of the normalised weights), the acceptance threshold, the acceptance rate
    and the runs it took. Generation -1 (pyabc's calibration sample) is left out."""
    populations = history.get_all_populations()
    rows = []
    for row in populations.itertuples():
        if row.t < 0:
            continue
        weights = history.get_weighted_distances(t=int(row.t))["w"].to_numpy(dtype=float)
        weights = weights / weights.sum()
        rows.append(
            {
                "generation": int(row.t),
                "particles": int(row.particles),
                "ess": float(1.0 / np.sum(weights**2)),
                "epsilon": float(row.epsilon),
                "acceptance_rate": float(row.particles / row.samples),
                "runs": int(row.samples),
            }
        )
    return pa.Table.from_pylist(rows)


def models_table(history: Any, names: list[str]) -> pa.Table:
    """Each variant's posterior probability in the last generation, with a Monte Carlo standard
    error ``sqrt(p (1 - p) / ESS)`` from the generation's effective sample size."""
    t = history.max_t
    probabilities = history.get_model_probabilities(t)["p"]  # indexed by model, alive ones
    weights = history.get_weighted_distances(t=t)["w"].to_numpy(dtype=float)
    ess = 1.0 / np.sum((weights / weights.sum()) ** 2)
    rows = []
    for m, name in enumerate(names):
        p = float(probabilities.get(m, 0.0))
        rows.append(
            {
                "model": name,
                "probability": p,
                "standard_error": float(np.sqrt(p * (1 - p) / ess)),
                "particles": int(_particles_of(history, m, t)),
            }
        )
    return pa.Table.from_pylist(rows)


def _particles_of(history: Any, m: int, t: int) -> int:
    if m not in history.alive_models(t):
        return 0
    frame, _ = history.get_distribution(m=m, t=t)
    return len(frame)


def posterior_table(history: Any, m: int = 0) -> pa.Table:
    """The last generation of model ``m``: one row per particle, its weight and its values."""
    frame, weights = history.get_distribution(m=m, t=history.max_t)
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


def posterior_summary(posterior: pa.Table) -> pa.Table:
    """Each fitted parameter's weighted median and 90% interval in the posterior."""
    weights = np.asarray(posterior["weight"], dtype=float)
    rows = []
    for name in posterior.column_names:
        if name == "weight":
            continue
        values = np.asarray(posterior[name], dtype=float)
        low, median, high = weighted_quantiles(values, weights, [0.05, 0.5, 0.95])
        rows.append({"parameter": name, "median": median, "low": low, "high": high})
    return pa.Table.from_pylist(rows)


def weak_fit_warnings(generations: pa.Table) -> list[str]:
    """What makes a fit's posterior weak: a last generation whose effective sample size fell
    below half its particles, or a threshold that rose instead of falling."""
    rows = generations.to_pylist()
    if not rows:
        return ["no generation finished: there is no posterior"]
    warnings = []
    last = rows[-1]
    if last["ess"] < last["particles"] / 2:
        warnings.append(
            f"the last generation's effective sample size is {last['ess']:.1f} of "
            f"{last['particles']} particles (below half): the posterior rests on few particles"
        )
    if len(rows) > 1 and rows[-1]["epsilon"] > rows[-2]["epsilon"]:
        warnings.append(
            f"the acceptance threshold rose in the last generation ({rows[-2]['epsilon']:.4g} "
            f"to {rows[-1]['epsilon']:.4g}): the adaptive distance re-weighted the targets"
        )
    return warnings


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
