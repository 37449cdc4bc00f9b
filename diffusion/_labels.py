"""Point labels that do not overlap each other, their points or the axes' edges.

Figures that name their points (strategies on a front, targets of a fit, parameters of a Morris
screening) place the names with ``adjustText``, which moves them apart from where they would
collide and draws a thin leader line to a label moved away from its point.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from adjustText import adjust_text
from matplotlib.axes import Axes
from matplotlib.text import Text


def place_labels(
    ax: Axes,
    x: Sequence[float] | np.ndarray,
    y: Sequence[float] | np.ndarray,
    labels: Sequence[str],
    fontsize: str | float = "small",
) -> list[Text]:
    """Write ``labels[i]`` next to ``(x[i], y[i])`` on ``ax``, moved apart where they collide.

    Call it after everything else is drawn on ``ax`` (its limits must be final): labels are
    kept inside the axes.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    texts = [
        ax.text(a, b, label, fontsize=fontsize, ha="left", va="bottom")
        for a, b, label in zip(x, y, labels, strict=True)
    ]
    if texts:
        adjust_text(
            texts,
            x=x,
            y=y,
            ax=ax,
            ensure_inside_axes=True,
            expand=(1.15, 1.3),
            arrowprops={"arrowstyle": "-", "color": "0.5", "lw": 0.5},
        )
    return texts
