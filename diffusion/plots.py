"""Figures of a run and of a sweep, drawn headless into PNG files.

Figures are plain ``matplotlib.figure.Figure`` objects rendered by the Agg canvas: no pyplot, no
display and no global figure state, so plotting works on servers and in worker processes.

Runs: the states over time with the spread of the replicates (median, 10-90% band), detections
per step with the crackdown windows shaded, reach per region as a heatmap over time, and holders
per medium. Sweeps: reach and detections against one swept parameter (median and band), or a
heatmap over two.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from diffusion._io import atomic_write
from diffusion.results import STATES
from diffusion.results_io import read_run

BAND = (10, 50, 90)
"""Percentiles drawn: the band's edges and the median line."""
STATE_LABELS = {
    "S": "S: not reached",
    "W": "W: watched, no copy",
    "I": "I: holds and shares",
    "R": "R: stopped sharing",
    "D": "D: detected",
}
COLOURS = {"S": "tab:gray", "W": "tab:blue", "I": "tab:red", "R": "tab:green", "D": "tab:purple"}
SWEEP_METRICS = {"reach_share": "final reach (share of agents)", "detected": "agents detected"}


def plot_run(folder: str | Path, out_dir: str | Path | None = None) -> list[Path]:
    """Draw the figures of the run in ``folder`` (into ``out_dir``, default the same folder)."""
    folder = Path(folder)
    out_dir = Path(out_dir) if out_dir is not None else folder
    out_dir.mkdir(parents=True, exist_ok=True)
    data = read_run(folder)
    config = data.metadata["config"]
    title = _run_title(config, data.metadata["replicates"])
    series = data.tables["timeseries"]
    paths = [
        _save(_states_figure(series, title), out_dir / "states.png"),
        _save(_detections_figure(series, config["model"], title), out_dir / "detections.png"),
    ]
    if "regions" in data.tables:
        paths.append(_save(_regions_figure(data.tables["regions"], title), out_dir / "regions.png"))
    if "media" in data.tables:
        paths.append(_save(_media_figure(data.tables["media"], title), out_dir / "media.png"))
    return paths


def plot_sweep(results: Any, parameters: Sequence[str], out_dir: str | Path) -> list[Path]:
    """Draw a sweep's summary table: one figure per metric in ``SWEEP_METRICS``.

    ``results`` is a pyarrow Table or pandas DataFrame with one row per (point, replicate): a
    column per swept parameter path and the summary columns. Two parameters give a heatmap of
    the median (a scatter when the points do not form a grid); otherwise each parameter gets a
    panel with the median and the 10-90% band over the runs at each value. Parameters with
    text values (``model.mode``) are placed at equal spacing and labelled.
    """
    table = pa.table(results)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    axes = [_sweep_axis(table.column(p).to_numpy(zero_copy_only=False), p) for p in parameters]
    paths = []
    for metric, label in SWEEP_METRICS.items():
        y = table.column(metric).to_numpy().astype(float)
        if len(axes) == 2:
            figure = _sweep_map(axes, y, label)
        else:
            figure = _sweep_curves(axes, y, label)
        paths.append(_save(figure, out_dir / f"sweep-{metric}.png"))
    return paths


def plot_sweep_folder(folder: str | Path) -> list[Path]:
    """Draw the sweep in ``folder`` (written by ``diffusion sweep``) next to its results."""
    from diffusion.sweep import POINTS, read_manifest

    manifest = read_manifest(folder)
    if manifest is None:
        raise FileNotFoundError(f"{folder}: no sweep manifest")
    table = pq.read_table(Path(folder) / POINTS)
    if table.num_rows == 0:
        raise ValueError(f"{folder}: no finished points yet")
    return plot_sweep(table, manifest["design"]["names"], folder)


# ----------------------------------------------------------------------------- run figures
def _states_figure(series: pa.Table, title: str) -> Figure:
    steps = _steps(series)
    total = sum(_by_replicate(series, s)[:, 0] for s in STATES)[0]
    figure = Figure(figsize=(9, 5))
    ax = figure.subplots()
    for state in STATES:
        _band(ax, steps, _by_replicate(series, state) / total, STATE_LABELS[state], COLOURS[state])
    ax.set(xlabel="step (day)", ylabel="share of agents", title=f"States over time\n{title}")
    ax.set_ylim(0, 1)
    ax.legend(loc="center right", fontsize="small", title="median, 10-90% band")
    return figure


def _detections_figure(series: pa.Table, model: dict[str, Any], title: str) -> Figure:
    steps = _steps(series)
    detections = _by_replicate(series, "new_detections", pad_with_last=False)
    figure = Figure(figsize=(9, 4.5))
    ax = figure.subplots()
    for i, campaign in enumerate(model.get("campaigns", [])):
        ax.axvspan(
            campaign["start"] - 0.5,
            campaign["end"] + 0.5,
            color="tab:orange",
            alpha=0.2,
            label="crackdown (delta = "
            + ", ".join(f"{c['delta']:g}" for c in model["campaigns"])
            + ")"
            if i == 0
            else None,
        )
    _band(ax, steps, detections, "detected in the step", "black")
    ax.set(
        xlabel="step (day)",
        ylabel="agents detected per step",
        title=f"Detections per step (baseline delta = {model['delta']:g})\n{title}",
    )
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper right", fontsize="small", title="median, 10-90% band")
    return figure


def _regions_figure(regions: pa.Table, title: str) -> Figure:
    n_regions = int(regions.column("region").to_numpy().max()) + 1
    reached = sum(regions.column(s).to_numpy() for s in STATES[1:])
    size = reached + regions.column("S").to_numpy()
    share = np.divide(reached, size, out=np.zeros(len(size)), where=size > 0)
    grid = _by_replicate(regions.append_column("share", pa.array(share)), "share", "region")
    median = np.median(grid, axis=0)  # (steps, regions)
    figure = Figure(figsize=(9, 5.5))
    ax = figure.subplots()
    image = ax.imshow(
        median.T,
        aspect="auto",
        origin="lower",
        interpolation="nearest",
        cmap="viridis",
        vmin=0,
        vmax=1,
        extent=(-0.5, median.shape[0] - 0.5, -0.5, n_regions - 0.5),
    )
    figure.colorbar(image, ax=ax, label="reach in the region (W+I+R+D share), median")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set(xlabel="step (day)", ylabel="region", title=f"Reach per region over time\n{title}")
    return figure


def _media_figure(media: pa.Table, title: str) -> Figure:
    steps = _steps(media)
    figure = Figure(figsize=(9, 4.5))
    ax = figure.subplots()
    names = [c.removesuffix("_I") for c in media.column_names if c.endswith("_I")]
    for medium, colour in zip(names, [f"C{i}" for i in range(len(names))], strict=True):
        _band(ax, steps, _by_replicate(media, f"{medium}_I"), f"{medium.upper()} holders", colour)
    ax.set(xlabel="step (day)", ylabel="agents holding a copy", title=f"Copies by medium\n{title}")
    ax.set_yscale("symlog", linthresh=10)  # lent DVDs stay few while USB copies multiply
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper right", fontsize="small", title="median, 10-90% band")
    return figure


# ----------------------------------------------------------------------------- sweep figures
@dataclass(frozen=True)
class _SweepAxis:
    """A swept parameter as numbers: its values, or positions of text values with labels."""

    name: str
    x: np.ndarray
    labels: tuple[str, ...] | None


def _sweep_axis(values: np.ndarray, name: str) -> _SweepAxis:
    if values.dtype.kind in "biuf":
        return _SweepAxis(name, values.astype(float), None)
    labels, codes = np.unique(values.astype(str), return_inverse=True)
    return _SweepAxis(name, codes.astype(float), tuple(labels))


def _sweep_curves(axes: list[_SweepAxis], y: np.ndarray, label: str) -> Figure:
    figure = Figure(figsize=(5.5 * len(axes), 4.5))
    panels = figure.subplots(1, len(axes), squeeze=False)[0]
    for ax, axis in zip(panels, axes, strict=True):
        values = np.unique(axis.x)
        low, mid, high = (
            np.array([np.percentile(y[axis.x == v], q) for v in values]) for q in BAND
        )
        ax.scatter(axis.x, y, s=8, color="tab:blue", alpha=0.3, label="runs")
        ax.fill_between(values, low, high, color="tab:blue", alpha=0.2, label="10-90% band")
        ax.plot(values, mid, color="tab:blue", marker="o", label="median")
        if axis.labels:
            ax.set_xticks(values, axis.labels)
        ax.set(xlabel=axis.name, ylabel=label)
        ax.legend(fontsize="small")
    figure.suptitle(f"Sweep: {label}")
    return figure


def _sweep_map(axes: list[_SweepAxis], y: np.ndarray, label: str) -> Figure:
    (x0, x1), (v0, v1) = (a.x for a in axes), (np.unique(a.x) for a in axes)
    figure = Figure(figsize=(7.5, 5.5))
    ax = figure.subplots()
    if len(v0) * len(v1) == len(set(zip(x0, x1, strict=True))):  # every combination: a grid
        grid = np.array([[np.median(y[(x0 == a) & (x1 == b)]) for a in v0] for b in v1])
        image = ax.imshow(
            grid, origin="lower", aspect="auto", cmap="viridis", interpolation="nearest"
        )
        ax.set_xticks(range(len(v0)), axes[0].labels or [f"{v:g}" for v in v0])
        ax.set_yticks(range(len(v1)), axes[1].labels or [f"{v:g}" for v in v1])
        middle = (np.nanmin(grid) + np.nanmax(grid)) / 2
        for (row, col), value in np.ndenumerate(grid):
            colour = "black" if value > middle else "white"
            ax.annotate(f"{value:.3g}", (col, row), ha="center", va="center", color=colour)
        figure.colorbar(image, ax=ax, label=f"{label}, median over replicates")
    else:
        image = ax.scatter(x0, x1, c=y, cmap="viridis", s=30)
        figure.colorbar(image, ax=ax, label=label)
    ax.set(xlabel=axes[0].name, ylabel=axes[1].name, title=f"Sweep: {label}")
    return figure


# ----------------------------------------------------------------------------- helpers
def _steps(table: pa.Table) -> np.ndarray:
    return np.arange(int(table.column("step").to_numpy().max()) + 1)


def _by_replicate(
    table: pa.Table, column: str, inner: str | None = None, pad_with_last: bool = True
) -> np.ndarray:
    """Column values as (replicates, steps[, inner]); shorter runs are padded to the longest.

    ``inner`` names an extra index column (``region``). A run that ended early stays in its
    final state, so states are padded with their last value; per-step events
    (``pad_with_last=False``) with zeros.
    """
    replicate = table.column("replicate").to_numpy()
    step = table.column("step").to_numpy()
    slot = table.column(inner).to_numpy() if inner else np.zeros(len(step), dtype=int)
    values = table.column(column).to_numpy().astype(float)
    n_rep, n_steps = int(replicate.max()) + 1, int(step.max()) + 1
    out = np.zeros((n_rep, n_steps, int(slot.max()) + 1))
    out[replicate, step, slot] = values
    last = np.zeros(n_rep, dtype=int)
    np.maximum.at(last, replicate, step)
    for r in range(n_rep):
        out[r, last[r] + 1 :] = out[r, last[r]] if pad_with_last else 0
    return out if inner else out[..., 0]


def _band(ax: Axes, steps: np.ndarray, runs: np.ndarray, label: str, colour: str) -> None:
    low, mid, high = np.percentile(runs, BAND, axis=0)
    if len(runs) > 1:
        ax.fill_between(steps, low, high, color=colour, alpha=0.2, linewidth=0)
    ax.plot(steps, mid, color=colour, label=label)


def _run_title(config: dict[str, Any], replicates: int) -> str:
    network = config["network"]
    model = config["model"]
    return (
        f"{network['type']} network, beta = {model['beta']:g}, gamma = {model['gamma']:g}, "
        f"delta = {model['delta']:g}; {replicates} replicate{'s' if replicates != 1 else ''}"
    )


def _save(figure: Figure, path: Path) -> Path:
    """Save as PNG atomically (``diffusion._io.atomic_write``)."""
    return atomic_write(
        path, lambda handle: figure.savefig(handle, dpi=110, bbox_inches="tight", format="png")
    )
