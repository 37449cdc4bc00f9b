"""Figures of a run and of a sweep, drawn headless into PNG files.

Figures are plain ``matplotlib.figure.Figure`` objects rendered by the Agg canvas: no pyplot, no
display and no global figure state, so plotting works on servers and in worker processes.

Every count is drawn as a share of the population, every figure has a title saying what it shows
and axes with units, and the spread of the replicates is always visible (median line, 10-90%
band, or the band's range printed in a heatmap cell). Runs: the states over time (all of them on
a linear axis, the small ones again on a log axis), detections (cumulative, and a 7-day mean per
day), reach per region over time with regions ordered by arrival and their size and border flag
beside them, and the people reached by each medium. Sweeps: each metric against one swept
parameter, or a heatmap over two, with values at their real spacing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib.dates as mdates
import numpy as np
import pyarrow as pa
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullLocator, PercentFormatter

from diffusion._io import atomic_write
from diffusion.results import STATES
from diffusion.results.io import read_run
from diffusion.results.provinces_map import is_census, province_map

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
SMALL_STATES = ("W", "I", "D")
"""States that are often a tiny share of the population: drawn again on a log axis."""
ARRIVAL_SHARE = 0.01
"""Media has arrived in a region when the median reach there passes this share."""
ROLLING_DAYS = 7
"""Window of the rolling mean of daily detections."""
PER = 100_000
"""Daily rates are shown per this many agents."""
SWEEP_METRICS = {
    "reach_share": ("final reach (% of agents)", "sweep-reach_share.png"),
    "detected_share": ("detected by the end (% of agents)", "sweep-detected.png"),
}
"""Sweep figures: metric -> what the colour or y axis shows (values in %), and the file."""
SUBTITLE_WIDTH = 90
"""Longest line of a run figure's subtitle (longer ones wrap: the narrowest figure is 9 inches)."""
_MEDIUM_COLUMN = re.compile(r"^(?P<medium>[a-z][a-z0-9_]*)_(?P<state>[WIRD])$")
_PERCENT = PercentFormatter(xmax=1.0)


# ----------------------------------------------------------------------------- entry points
def plot_run(folder: str | Path, out_dir: str | Path | None = None) -> list[Path]:
    """Draw the figures of the run in ``folder`` (into ``out_dir``, default the same folder)."""
    folder = Path(folder)
    out_dir = Path(out_dir) if out_dir is not None else folder
    out_dir.mkdir(parents=True, exist_ok=True)
    data = read_run(folder)
    config = data.metadata["config"]
    series = data.tables["timeseries"]
    n_agents = int(sum(_by_replicate(series, s)[0, 0] for s in STATES))
    subtitle = _run_subtitle(config, data.metadata["replicates"], n_agents)
    times = _steps(series)
    paths = [
        _save(_states_figure(series, config["model"], n_agents, subtitle), out_dir / "states.png"),
        _save(
            _detections_figure(series, config["model"], n_agents, subtitle),
            out_dir / "detections.png",
        ),
    ]
    if "regions" in data.tables:
        figure = _regions_figure(data.tables["regions"], times, subtitle)
        paths.append(_save(figure, out_dir / "regions.png"))
        if is_census(data.tables["regions"]):
            figure = province_map(data.tables["regions"], times, subtitle)
            paths.append(_save(figure, out_dir / "provinces.png"))
    if "media" in data.tables:
        channels = data.tables.get("channels")
        media = data.tables["media"]
        figure = _media_figure(media, channels, config, times, n_agents, subtitle)
        paths.append(_save(figure, out_dir / "media.png"))
    return paths


def plot_sweep(
    results: Any,
    parameters: Sequence[str],
    out_dir: str | Path,
    labels: Mapping[str, str] | None = None,
) -> list[Path]:
    """Draw a sweep's summary table: one figure per metric in ``SWEEP_METRICS``.

    ``results`` is a pyarrow Table or pandas DataFrame with one row per (point, replicate): a
    column per swept parameter path and the summary columns (``reach``, ``reach_share``,
    ``detected``). Two parameters give a heatmap of the median with the 10-90% range of the
    replicates in each cell (a scatter of point medians when the points do not form a grid);
    otherwise each parameter gets a panel with the runs, their median and 10-90% band. Numbers
    are placed at their real spacing (on a log axis when they are positive and span a factor of
    10 or more); text values (``model.mode``) at equal spacing, labelled. ``labels``: each
    parameter's axis label (the command line passes the config reference's words); default:
    the parameter's path.
    """
    table = pa.table(results)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    labels = labels or {}
    axes = [
        _sweep_axis(table.column(p).to_numpy(zero_copy_only=False), labels.get(p, p))
        for p in parameters
    ]
    replicates = _replicates_per_point(table)
    paths = []
    for metric, (label, name) in SWEEP_METRICS.items():
        y = _sweep_metric(table, metric)
        if len(axes) == 2:
            figure = _sweep_map(axes, y, label, replicates)
        else:
            figure = _sweep_curves(axes, y, label, replicates)
        paths.append(_save(figure, out_dir / name))
    return paths


# ----------------------------------------------------------------------------- run figures
def _states_figure(series: pa.Table, model: dict[str, Any], n_agents: int, subtitle: str) -> Figure:
    """All states on a linear axis; the small ones (W, I, D) again on a log axis; crackdowns
    shaded."""
    steps = _steps(series)
    shares = {s: _by_replicate(series, s) / n_agents for s in STATES}
    figure = Figure(figsize=(9, 7.5), layout="constrained")
    top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=(1, 1))
    for ax in (top, bottom):
        _shade_campaigns(ax, model, steps)
    for state in STATES:
        _band(top, steps, shares[state], STATE_LABELS[state], COLOURS[state])
    top.set(ylabel="share of agents", ylim=(0, 1), title="All states (linear axis)")
    top.legend(loc="center right", fontsize="small", title="median, 10-90% band")
    for state in SMALL_STATES:
        _band(bottom, steps, shares[state], STATE_LABELS[state], COLOURS[state])
    bottom.set_yscale("log")
    bottom.set_ylim(0.5 / n_agents, 1)
    bottom.set(
        xlabel=_time_label(steps),
        ylabel="share of agents (log axis)",
        title="Watchers, holders and detected (log axis: one agent is the lowest line)",
    )
    bottom.legend(loc="lower right", fontsize="small", title="median, 10-90% band")
    _percent_ticks(top)
    bottom.yaxis.set_major_formatter(FuncFormatter(_log_percent))
    for ax in (top, bottom):
        ax.grid(alpha=0.3)
    figure.suptitle(f"Who has seen foreign media, day by day\n{subtitle}")
    return figure


def _detections_figure(
    series: pa.Table, model: dict[str, Any], n_agents: int, subtitle: str
) -> Figure:
    """Detections so far (share of agents) and per day (7-day mean per 100,000 agents)."""
    steps = _steps(series)
    daily = _by_replicate(series, "new_detections", pad_with_last=False)
    cumulative = np.cumsum(daily, axis=1) / n_agents
    window = np.ones(ROLLING_DAYS)
    counts = np.array([np.convolve(r, window)[: len(steps)] for r in daily])
    rolling = counts / np.minimum(np.arange(1, len(steps) + 1), ROLLING_DAYS) * PER / n_agents
    figure = Figure(figsize=(9, 7), layout="constrained")
    top, bottom = figure.subplots(2, 1, sharex=True)
    for ax in (top, bottom):
        _shade_campaigns(ax, model, steps)
        ax.grid(alpha=0.3)
    _band(top, steps, cumulative, "detected so far", "black")
    top.set(ylabel="share of agents", title="Detected so far (cumulative)")
    top.set_ylim(bottom=0)
    _percent_ticks(top)
    top.legend(loc="upper left", fontsize="small", title="median, 10-90% band")
    _band(bottom, steps, rolling, f"{ROLLING_DAYS}-day mean", "black")
    bottom.set(
        xlabel=_time_label(steps),
        ylabel=f"detections per day per {PER:,} agents",
        title=f"Detections per day ({ROLLING_DAYS}-day trailing mean)",
    )
    bottom.set_ylim(bottom=0)
    bottom.legend(loc="upper left", fontsize="small", title="median, 10-90% band")
    figure.suptitle(
        f"Detections (baseline detection {model['delta']:g} per holder per day)\n{subtitle}"
    )
    return figure


def _regions_figure(regions: pa.Table, times: np.ndarray, subtitle: str) -> Figure:
    """Reach per region over time, regions ordered by arrival, with their size beside them.

    ``times`` are the run's steps or, for a run with a calendar, its dates (the x axis). With a
    ``province`` column the regions are grouped by province (provinces in order of arrival);
    with a boolean ``border`` column the border regions are marked.
    """
    names = regions.column_names
    region = regions.column("region").to_numpy()
    n_regions = int(region.max()) + 1
    reached = sum(regions.column(s).to_numpy() for s in STATES[1:])
    size = reached + regions.column("S").to_numpy()
    share = np.divide(reached, size, out=np.zeros(len(size)), where=size > 0)
    grid = _by_replicate(regions.append_column("share", pa.array(share)), "share", "region")
    median = np.median(grid, axis=0)  # (steps, regions)
    step, replicate = regions.column("step").to_numpy(), regions.column("replicate").to_numpy()
    initial = (step == 0) & (replicate == 0)
    agents = np.zeros(n_regions)
    agents[region[initial]] = size[initial]
    arrival = _arrival(median)
    province = _region_attribute(regions, "province", n_regions) if "province" in names else None
    order = _region_order(arrival, median[-1], province)

    figure = Figure(figsize=(10, 7), layout="constrained")
    heat, sizes = figure.subplots(1, 2, sharey=True, width_ratios=(5, 1))
    dated = np.issubdtype(times.dtype, np.datetime64)
    x0 = mdates.date2num(times[0]) if dated else 0.0
    image = heat.imshow(
        median[:, order].T,
        aspect="auto",
        origin="lower",
        interpolation="nearest",
        cmap="viridis",
        vmin=0,
        vmax=1,
        extent=(x0 - 0.5, x0 + median.shape[0] - 0.5, -0.5, n_regions - 0.5),
    )
    if dated:
        heat.xaxis_date()
    figure.colorbar(image, ax=sizes, label="reach in the region (W+I+R+D), median", format=_PERCENT)
    heat.set(
        xlabel=_time_label(times),
        ylabel=f"region, by arrival (reach >= {ARRIVAL_SHARE:.0%}), earliest at the bottom",
        title="Reach per region",
    )
    rows = np.arange(n_regions)
    border = _region_attribute(regions, "border", n_regions) if "border" in names else None
    colours = np.where(border[order], "tab:red", "tab:gray") if border is not None else "tab:gray"
    sizes.barh(rows, agents[order], height=1.0, color=colours)
    sizes.set_xscale("log")
    sizes.set(xlabel="agents (log axis)", title="Region size")
    if border is not None:
        sizes.bar(0, 0, color="tab:red", label="border region")
        sizes.legend(loc="upper right", fontsize="small")
    if province is not None:
        _mark_provinces(heat, province[order])
    if n_regions > 40:
        heat.set_yticks([])
    else:
        heat.set_yticks(rows, [str(r) for r in order], fontsize="x-small")
    figure.suptitle(f"Where media arrives, and when\n{subtitle}")
    return figure


def _media_figure(
    media: pa.Table,
    channels: pa.Table | None,
    config: dict[str, Any],
    times: np.ndarray,
    n_agents: int,
    subtitle: str,
) -> Figure:
    """People reached by medium, as shares: by the medium that first reached them (from
    ``channels``, when recorded), by the medium they saw last, and holders by medium.

    Media that no one ever saw are left out. The note under the panels says why a medium's
    reach need not follow its share of the copies: a lent medium (a DVD) is one object handed
    from holder to viewer, not copied, so each copy reaches fewer people; and counted by the
    medium seen last, a person who saw a DVD and later a USB drive counts under USB.
    """
    steps = times
    by_medium: dict[str, list[str]] = {}
    for name in media.column_names:
        match = _MEDIUM_COLUMN.match(name)
        if match:
            by_medium.setdefault(match["medium"], []).append(name)
    used = [m for m, cols in by_medium.items() if any(_any_nonzero(media.column(c)) for c in cols)]
    first = _first_reached(channels, len(steps)) if channels is not None else {}
    panels = 3 if first else 2
    figure = Figure(figsize=(9, 3.2 * panels + 1.2), layout="constrained")
    axes = list(figure.subplots(panels, 1, sharex=True))
    colours = {medium: f"C{k}" for k, medium in enumerate(by_medium)}
    spread = {m: spec.get("spread", "copied") for m, spec in config["model"]["media"].items()}
    if first:
        ax = axes.pop(0)
        for medium in used:
            if medium in first:
                runs = first[medium] / n_agents
                label = f"{_medium_name(medium, spread)}: {np.median(runs[:, -1]):.1%}"
                _band(ax, steps, runs, label, colours[medium])
        ax.set(ylabel="share of agents", title="People first reached, by the medium that did it")
        figure_axes = [ax]
    else:
        figure_axes = []
    top, bottom = axes
    for medium in used:
        columns = by_medium[medium]
        reached = sum(_by_replicate(media, c) for c in columns) / n_agents
        final = np.median(reached[:, -1])
        label = f"{_medium_name(medium, spread)}: {final:.1%} at the end"
        _band(top, steps, reached, label, colours[medium])
        if f"{medium}_I" in columns:
            holders = _by_replicate(media, f"{medium}_I") / n_agents
            _band(bottom, steps, holders, medium.upper(), colours[medium])
    top.set(ylabel="share of agents", title="People reached, by the medium they saw last")
    bottom.set(
        xlabel=_time_label(steps),
        ylabel="share of agents",
        title="People holding a copy (a lent medium: the object), by medium",
    )
    for ax in (*figure_axes, top, bottom):
        ax.set_ylim(bottom=0)
        _percent_ticks(ax)
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", fontsize="small", title="median, 10-90% band")
    figure.suptitle(f"Which medium reaches people\n{subtitle}")
    figure.supxlabel(_media_note(config["model"], used, spread), fontsize="small")
    return figure


def _any_nonzero(column: pa.ChunkedArray) -> bool:
    """True when a numeric column has a non-zero value."""
    return bool(np.any(column.to_numpy() != 0))


def _medium_name(medium: str, spread: dict[str, str]) -> str:
    """``DVD (lent)``: a medium's name and how it spreads, when the config declares it."""
    return medium.upper() + (f" ({spread[medium]})" if medium in spread else "")


def _first_reached(channels: pa.Table, n_steps: int) -> dict[str, np.ndarray]:
    """People first reached so far, per medium: (replicates, steps) cumulative counts."""
    replicate = channels.column("replicate").to_numpy()
    step = channels.column("step").to_numpy()
    medium = channels.column("medium").to_numpy(zero_copy_only=False)
    reached = channels.column("reached").to_numpy().astype(float)
    if len(replicate) == 0:
        return {}
    n_rep = int(replicate.max()) + 1
    out = {}
    for name in np.unique(medium):
        counts = np.zeros((n_rep, n_steps))
        mine = medium == name
        np.add.at(counts, (replicate[mine], step[mine]), reached[mine])
        out[str(name)] = np.cumsum(counts, axis=1)
    return out


def _media_note(model: dict[str, Any], used: list[str], spread: dict[str, str]) -> str:
    """What the media figure's reader needs to know: the mix of copies and what lent means."""
    mixes = [model.get("mix", {})] + [c["mix"] for c in model.get("entry", []) if c.get("mix")]
    if len(mixes) == 1:
        total = sum(mixes[0].values()) or 1.0
        shares = ", ".join(f"{m.upper()} {w / total:.0%}" for m, w in mixes[0].items() if w)
        note = f"Copies entering and initial holders: {shares}."
    else:
        note = "The mix of copies entering changes over the run (model.entry)."
    lent = [m.upper() for m in used if spread.get(m) == "lent"]
    if lent:
        note += (
            f" {' and '.join(lent)} {'is' if len(lent) == 1 else 'are'} lent: one object handed "
            "from holder to viewer, not copied,\nso each copy reaches fewer people than a copied "
            "one; counted by the medium seen last, a later medium takes over earlier viewers."
        )
    return note


def _percent_ticks(ax: Axes, which: str = "y") -> None:
    """Percent tick labels with as many decimals as the axis' span needs (70%, 2.5%, 0.25%)."""
    low, high = ax.get_ylim() if which == "y" else ax.get_xlim()
    span = abs(high - low)
    decimals = 0 if span >= 0.05 else 1 if span >= 0.005 else 2
    getattr(ax, f"{which}axis").set_major_formatter(PercentFormatter(xmax=1.0, decimals=decimals))


# ----------------------------------------------------------------------------- sweep figures
@dataclass(frozen=True)
class _SweepAxis:
    """A swept parameter as numbers: its values, or positions of text values with labels."""

    name: str
    """The axis label: the parameter's words, or its path."""
    x: np.ndarray
    labels: tuple[str, ...] | None

    @property
    def log(self) -> bool:
        """Positive numbers spanning a factor of 10 or more are drawn on a log axis."""
        return self.labels is None and bool(
            np.all(self.x > 0) and self.x.max() >= 10 * self.x.min()
        )

    def decorate(self, ax: Axes, which: str) -> None:
        """Label, scale and ticks of this parameter on ``ax``'s ``which`` ("x" or "y") axis."""
        set_scale, set_ticks, set_label = (
            getattr(ax, f"set_{which}scale"),
            getattr(ax, f"set_{which}ticks"),
            getattr(ax, f"set_{which}label"),
        )
        values = np.unique(self.x)
        if self.log:
            set_scale("log")
        if self.labels:
            set_ticks(values, self.labels)
        elif len(values) <= 12:
            crowded = not all(_spaced(np.log(values) if self.log else values))
            set_ticks(values, [f"{v:g}" for v in values], rotation=90 if crowded else 0)
            getattr(ax, f"{which}axis").set_minor_locator(NullLocator())
        set_label(self.name)

    def decorate_cells(self, ax: Axes, which: str) -> None:
        """One tick per value at equal spacing (cell ``i`` holds the ``i``-th value)."""
        values = np.unique(self.x)
        labels = self.labels or [f"{v:g}" for v in values]
        getattr(ax, f"set_{which}ticks")(np.arange(len(values)), labels)
        getattr(ax, f"set_{which}label")(f"{self.name}, one cell per value")


def _sweep_axis(values: np.ndarray, name: str) -> _SweepAxis:
    if values.dtype.kind in "biuf":
        return _SweepAxis(name, values.astype(float), None)
    labels, codes = np.unique(values.astype(str), return_inverse=True)
    return _SweepAxis(name, codes.astype(float), tuple(labels))


def _sweep_metric(table: pa.Table, metric: str) -> np.ndarray:
    """A metric as a share of the agents: ``reach_share`` as is, ``detected_share`` derived.

    A summary row holds ``reach`` and ``reach_share``, so the run's population is
    ``reach / reach_share`` (a run that reached no one detected no one either).
    """
    if metric == "reach_share":
        return table.column("reach_share").to_numpy().astype(float)
    reach = table.column("reach").to_numpy().astype(float)
    share = table.column("reach_share").to_numpy().astype(float)
    detected = table.column("detected").to_numpy().astype(float)
    agents = np.divide(reach, share, out=np.ones_like(reach), where=share > 0)
    return detected / agents


def _sweep_curves(axes: list[_SweepAxis], y: np.ndarray, label: str, replicates: int) -> Figure:
    figure = Figure(figsize=(5.5 * len(axes), 4.8), layout="constrained")
    panels = figure.subplots(1, len(axes), squeeze=False)[0]
    for ax, axis in zip(panels, axes, strict=True):
        values = np.unique(axis.x)
        low, mid, high = (
            np.array([np.percentile(y[axis.x == v], q) for v in values]) for q in BAND
        )
        ax.scatter(axis.x, y, s=8, color="tab:blue", alpha=0.3, label="runs")
        ax.fill_between(values, low, high, color="tab:blue", alpha=0.2, label="10-90% band")
        ax.plot(values, mid, color="tab:blue", marker="o", label="median")
        axis.decorate(ax, "x")
        ax.set_ylabel(label)
        ax.yaxis.set_major_formatter(_PERCENT)
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    figure.suptitle(f"Sweep: {label}\n{replicates} replicates per point")
    return figure


def _sweep_map(axes: list[_SweepAxis], y: np.ndarray, label: str, replicates: int) -> Figure:
    """Median over replicates per cell. A full grid is drawn as equal cells, one per value of
    each parameter in order (values are often unevenly spaced, 0, 0.05, 0.1, 0.5, and every
    cell must hold its numbers); other designs as dots at the values' real spacing."""
    (x0, x1), (v0, v1) = (a.x for a in axes), (np.unique(a.x) for a in axes)
    figure = Figure(figsize=(8.5, 6), layout="constrained")
    ax = figure.subplots()
    grid_design = len(v0) * len(v1) == len(set(zip(x0, x1, strict=True)))
    if grid_design:  # every combination
        cells = [[y[(x0 == a) & (x1 == b)] for a in v0] for b in v1]
        grid = np.array([[np.median(c) for c in row] for row in cells])
        edges = (np.arange(len(v0) + 1) - 0.5, np.arange(len(v1) + 1) - 0.5)
        image = ax.pcolormesh(*edges, grid, cmap="viridis", shading="flat")
        middle = (np.nanmin(grid) + np.nanmax(grid)) / 2
        for (row, col), value in np.ndenumerate(grid):
            low, high = np.percentile(cells[row][col], (BAND[0], BAND[2]))
            colour = "black" if value > middle else "white"
            ax.annotate(
                f"{value:.1%}\n{low:.1%}-{high:.1%}", (col, row), ha="center", va="center",
                color=colour, fontsize=7,
            )  # fmt: skip
        note = "cells: median, and 10-90% range of the replicates"
    else:
        points = sorted(set(zip(x0, x1, strict=True)))
        medians = [np.median(y[(x0 == a) & (x1 == b)]) for a, b in points]
        px, py = np.array(points).T
        image = ax.scatter(px, py, c=medians, cmap="viridis", s=40)
        note = "dots: median of the replicates at each point"
    figure.colorbar(image, ax=ax, label=f"{label}, median", format=_PERCENT)
    for axis, which in zip(axes, "xy", strict=True):
        (axis.decorate_cells if grid_design else axis.decorate)(ax, which)
    ax.set_title(f"Sweep: {label}\n{replicates} replicates per point; {note}")
    return figure


# ----------------------------------------------------------------------------- helpers
def _spaced(positions: np.ndarray, gap: float = 0.06) -> list[bool]:
    """Which sorted tick positions to label so that labels stay ``gap`` of the span apart."""
    span = float(positions[-1] - positions[0]) or 1.0
    keep, last = [], -np.inf
    for position in positions:
        keep.append(bool(position - last >= gap * span))
        last = position if keep[-1] else last
    return keep


def _steps(table: pa.Table) -> np.ndarray:
    """The x values of a run's rows: its dates when the run had a calendar, else its steps."""
    step = table.column("step").to_numpy()
    steps = np.arange(int(step.max()) + 1)
    if "date" not in table.column_names:
        return steps
    first = table.column("date").to_numpy()[np.argmin(step)].astype("datetime64[D]")
    return first + steps


def _time_label(steps: np.ndarray) -> str:
    return "date (end of day)" if np.issubdtype(steps.dtype, np.datetime64) else "step (day)"


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


def _shade_campaigns(ax: Axes, model: dict[str, Any], steps: np.ndarray) -> None:
    """Shade the crackdown windows, labelled once with their detection probabilities.

    A campaign's ``start`` and ``end`` are steps or dates; on a date axis steps become days.
    """
    campaigns = model.get("campaigns", [])
    deltas = ", ".join(f"{c['delta']:g}" for c in campaigns)
    dated = np.issubdtype(steps.dtype, np.datetime64)

    def at(when: int | str) -> Any:
        if isinstance(when, str):
            return np.datetime64(when, "D") if dated else when
        return steps[0] + np.timedelta64(when, "D") if dated else when

    half = np.timedelta64(12, "h") if dated else 0.5
    for i, campaign in enumerate(campaigns):
        ax.axvspan(
            at(campaign["start"]) - half,
            at(campaign["end"]) + half,
            color="tab:orange",
            alpha=0.2,
            label=f"crackdown (detection {deltas} per holder per day)" if i == 0 else None,
        )


def _arrival(median: np.ndarray) -> np.ndarray:
    """First step at which each region's median reach passes ``ARRIVAL_SHARE`` (inf: never)."""
    passed = median >= ARRIVAL_SHARE
    return np.where(passed.any(axis=0), passed.argmax(axis=0), np.inf)


def _region_order(
    arrival: np.ndarray, final: np.ndarray, province: np.ndarray | None
) -> np.ndarray:
    """Regions by arrival, then final reach (descending); grouped by province when given."""
    keys = [-final, arrival]  # np.lexsort: last key first
    if province is not None:
        first = {p: arrival[province == p].min() for p in np.unique(province)}
        rank = {p: k for k, p in enumerate(sorted(first, key=lambda p: (first[p], str(p))))}
        keys.append(np.array([rank[p] for p in province]))
    return np.lexsort(keys)


def _region_attribute(regions: pa.Table, column: str, n_regions: int) -> np.ndarray:
    """A per-region column (``province``, ``border``) as one value per region id."""
    region = regions.column("region").to_numpy()
    values = regions.column(column).to_numpy(zero_copy_only=False)
    out = np.empty(n_regions, dtype=values.dtype)
    out[region] = values
    return out


def _mark_provinces(ax: Axes, province: np.ndarray) -> None:
    """Lines between provinces and their names, on rows ordered by province."""
    starts = np.flatnonzero(np.r_[True, province[1:] != province[:-1]])
    ends = np.r_[starts[1:], len(province)]
    for start, end in zip(starts, ends, strict=True):
        if start:
            ax.axhline(start - 0.5, color="white", linewidth=0.8)
        ax.annotate(
            str(province[start]),
            (1.0, (start + end - 1) / 2),
            xycoords=("axes fraction", "data"),
            xytext=(-4, 0),
            textcoords="offset points",
            ha="right",
            va="center",
            color="black",
            fontsize="x-small",
            bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "alpha": 0.8, "lw": 0},
        )


def _log_percent(value: float, _pos: int) -> str:
    return f"{value * 100:g}%"


def _replicates_per_point(table: pa.Table) -> int:
    if "replicate" not in table.column_names:
        return 1
    return int(table.column("replicate").to_numpy().max()) + 1


def _run_subtitle(config: dict[str, Any], replicates: int, n_agents: int) -> str:
    network = config["network"]
    model = config["model"]
    text = (
        f"{network['type']} network of {n_agents:,} agents; beta {model['beta']:g}, "
        f"gamma {model['gamma']:g}, delta {model['delta']:g} per day; "
        f"{replicates} replicate{'s' if replicates != 1 else ''}"
    )
    lines = [""]
    for part in text.split("; "):  # wrap between the parts, not inside one
        joined = f"{lines[-1]}; {part}" if lines[-1] else part
        if len(joined) <= SUBTITLE_WIDTH or not lines[-1]:
            lines[-1] = joined
        else:
            lines.append(part)
    return "\n".join(lines)


def _save(figure: Figure, path: Path) -> Path:
    """Save as PNG atomically (``diffusion._io.atomic_write``)."""
    return atomic_write(path, lambda handle: figure.savefig(handle, dpi=100, format="png"))
