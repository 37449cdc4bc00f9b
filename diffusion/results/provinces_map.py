"""A tile map of the ten census provinces, coloured by reach at chosen dates.

Results are by region and province (``regions.parquet``); this figure puts them where they are.
Each province is one square tile placed in the provinces' geographic arrangement (north at the
top, China along the top and top-left, the coast of the Yellow Sea at the left and of the East
Sea at the right), so that a reader sees at a glance how media moves from the border provinces
to the rest. A tile map rather than a drawn map: equal tiles show small provinces (Ryanggang,
Pyongyang) as clearly as large ones, and no boundary file needs shipping.

The figure has one panel per date: a quarter, half, three quarters of the run and its end.
Each tile shows the median over replicates of the share of the province's agents reached
(W+I+R+D); the provinces on the Chinese border, where smuggled copies enter, have a red edge.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import PercentFormatter

from diffusion.population.provinces import PROVINCES
from diffusion.results import STATES

TILES: dict[str, tuple[int, int]] = {
    "Chagang": (0, 1),
    "Ryanggang": (0, 2),
    "North Hamgyong": (0, 3),
    "North Pyongan": (1, 0),
    "South Pyongan": (1, 1),
    "South Hamgyong": (1, 2),
    "Pyongyang": (2, 0),
    "North Hwanghae": (2, 1),
    "Kangwon": (2, 2),
    "South Hwanghae": (3, 0),
}
"""(row from the top, column from the left) of each province's tile: the provinces' places
relative to each other (from their capitals' latitudes and longitudes, rounded to a grid)."""
FRACTIONS = (0.25, 0.5, 0.75, 1.0)
"""Where in the run the panels are: the days nearest these fractions of its length."""
BORDER = {p.name for p in PROVINCES if p.borders_china}
"""The provinces on the Chinese border, marked on the map."""


def is_census(regions: pa.Table) -> bool:
    """True when the regions lie in the census provinces (``regions = "census"``)."""
    if "province" not in regions.column_names:
        return False
    names = set(regions.column("province").unique().to_pylist())
    return len(names) > 1 and names <= set(TILES)


def province_reach(regions: pa.Table) -> tuple[list[str], np.ndarray]:
    """The provinces and the median share of each one's agents reached, per step:
    (provinces, array of shape (steps, provinces)); a run that ended early keeps its last
    state."""
    province = np.asarray(regions.column("province").to_numpy(zero_copy_only=False))
    names = sorted(set(province.tolist()), key=list(TILES).index)
    column = np.array([names.index(p) for p in province])
    replicate = regions.column("replicate").to_numpy()
    step = regions.column("step").to_numpy()
    reached = sum(regions.column(s).to_numpy().astype(float) for s in STATES[1:])
    agents = reached + regions.column("S").to_numpy()
    n_rep, n_steps = int(replicate.max()) + 1, int(step.max()) + 1
    reach = np.zeros((n_rep, n_steps, len(names)))
    size = np.zeros((n_rep, n_steps, len(names)))
    np.add.at(reach, (replicate, step, column), reached)
    np.add.at(size, (replicate, step, column), agents)
    for r in range(n_rep):  # pad a run that ended early with its final state
        last = int(step[replicate == r].max())
        reach[r, last + 1 :], size[r, last + 1 :] = reach[r, last], size[r, last]
    share = np.divide(reach, size, out=np.zeros_like(reach), where=size > 0)
    return names, np.median(share, axis=0)


def province_map(regions: pa.Table, times: np.ndarray, subtitle: str) -> Figure:
    """The tile map at four moments of the run (``FRACTIONS``); ``times`` are its steps or
    dates, one per step."""
    names, reach = province_reach(regions)
    last = reach.shape[0] - 1
    moments = sorted({round(f * last) for f in FRACTIONS})
    figure = Figure(figsize=(3.0 * len(moments) + 1.2, 4.6), layout="constrained")
    panels = figure.subplots(1, len(moments), squeeze=False)[0]
    norm = Normalize(0.0, 1.0)
    for ax, step in zip(panels, moments, strict=True):
        _tiles(ax, names, reach[step], norm)
        ax.set_title(_when(times, step), fontsize="medium")
    figure.colorbar(
        ScalarMappable(norm=norm, cmap="viridis"),
        ax=list(panels),
        label="share of the province's agents reached (W+I+R+D), median",
        format=PercentFormatter(xmax=1.0, decimals=0),
        shrink=0.8,
    )
    figure.legend(
        handles=[
            Patch(
                facecolor="none",
                edgecolor="tab:red",
                lw=2.5,
                label="borders China: smuggled copies enter here",
            )
        ],  # fmt: skip
        loc="outside lower center",
        fontsize="small",
        frameon=False,
    )
    figure.suptitle(f"Reach by province (tiles placed as the provinces lie)\n{subtitle}")
    return figure


def _tiles(ax: Axes, names: list[str], reach: np.ndarray, norm: Normalize) -> None:
    """One panel: a tile per province, its colour and number the reach, border ones edged."""
    viridis = colormaps["viridis"]
    for name, share in zip(names, reach, strict=True):
        row, col = TILES[name]
        border = name in BORDER
        ax.add_patch(
            Rectangle(
                (col + 0.04, -row + 0.04), 0.92, 0.92,
                facecolor=viridis(norm(share)),
                edgecolor="tab:red" if border else "white",
                lw=2.5 if border else 0.5,
            )
        )  # fmt: skip
        dark = share < 0.5
        ax.text(
            col + 0.5, -row + 0.5, f"{name.replace(' ', chr(10))}\n{share:.0%}",
            ha="center", va="center", fontsize=7,
            color="white" if dark else "black",
        )  # fmt: skip
    ax.set_xlim(0, 4)
    ax.set_ylim(-3, 1)
    ax.set_aspect("equal")
    ax.axis("off")


def _when(times: np.ndarray, step: int) -> str:
    """A panel's title: its date, or its day."""
    if np.issubdtype(times.dtype, np.datetime64):
        return str(times[step].astype("datetime64[D]"))
    return f"day {int(times[step])}"
