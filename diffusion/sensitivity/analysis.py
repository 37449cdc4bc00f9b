"""From a stage's runs to sensitivity indices (SALib), and the screening between the stages.

The outputs analysed are the final share informed (``reach_share``), the agents detected by the
end (``detected``) and, when the scenario has calibration targets, each fitted target's model
value (``target:<name>``, see ``diffusion.sweep.run``). A point's output is the mean over its
replicates. An output that is the same at every point of a stage (e.g. no detections when
detection is off) has no indices and is left out of that stage's table.

Morris (``SALib.analyze.morris``): ``mu_star``, the mean absolute elementary effect, is the
change of the output when a parameter moves across a fraction of its range (a log range: of its
``log10`` range), in the output's units; ``sigma`` their spread (non-linearity, interactions).
``relative`` is ``mu_star`` over the largest ``mu_star`` of that output, so outputs on different
scales screen alike. Sobol (``SALib.analyze.sobol``): ``S1`` the share of the output's variance
due to the parameter alone, ``ST`` including its interactions, each with its bootstrap interval
(``low``, ``high``: the index minus and plus SALib's half-width at the confidence level).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq
from SALib.analyze import morris as morris_analyzer
from SALib.analyze import sobol as sobol_analyzer

from diffusion.sensitivity.design import Space
from diffusion.sweep.run import POINTS, TARGET

OUTPUTS: tuple[str, ...] = ("reach_share", "detected")
"""The summary columns analysed in every scenario (targets are added when there are some)."""


def point_outputs(folder: str | Path, points: int) -> dict[str, npt.NDArray[np.float64]]:
    """Each analysed output of a finished stage's sweep in ``folder``: its mean over the
    replicates of each point, in point order."""
    table = pq.read_table(Path(folder) / POINTS)
    point = table.column("point").to_numpy()
    runs = np.bincount(point, minlength=points)
    if len(runs) != points or (runs == 0).any():
        raise ValueError(f"{folder}: the sweep does not hold all {points} points")
    names = [*OUTPUTS, *(c for c in table.column_names if c.startswith(TARGET))]
    return {
        name: np.bincount(point, weights=table.column(name).to_numpy().astype(float)) / runs
        for name in names
    }


def varying(outputs: dict[str, npt.NDArray[np.float64]]) -> dict[str, npt.NDArray[np.float64]]:
    """The outputs that are not the same at every point."""
    return {name: y for name, y in outputs.items() if np.ptp(y) > 0}


def morris_indices(
    space: Space,
    sample: npt.NDArray[np.float64],
    outputs: dict[str, npt.NDArray[np.float64]],
    *,
    levels: int,
    resamples: int,
    confidence: float,
    seed: int,
) -> pa.Table:
    """One row per (output, parameter): ``mu``, ``mu_star``, its interval half-width
    ``mu_star_conf``, ``sigma`` and ``relative`` (see the module's docstring)."""
    columns: dict[str, list] = {
        key: []
        for key in ("output", "parameter", "mu", "mu_star", "mu_star_conf", "sigma", "relative")
    }
    for name, y in varying(outputs).items():
        indices = morris_analyzer.analyze(
            space.problem(),
            sample,
            y,
            num_resamples=resamples,
            conf_level=confidence,
            num_levels=levels,
            seed=seed,
        )
        mu_star = np.asarray(indices["mu_star"], dtype=float)
        columns["output"] += [name] * len(space.names)
        columns["parameter"] += list(space.names)
        for key in ("mu", "mu_star", "mu_star_conf", "sigma"):
            columns[key] += np.asarray(indices[key], dtype=float).tolist()
        top = mu_star.max()
        relative = np.divide(mu_star, top, out=np.zeros_like(mu_star), where=top > 0)
        columns["relative"] += relative.tolist()
    return pa.table(columns, schema=_schema(columns, strings=("output", "parameter")))


def screen(morris: pa.Table, space: Space, threshold: float) -> tuple[str, ...]:
    """The parameters whose ``relative`` mu* reaches ``threshold`` for some output, in the
    space's order."""
    rows = morris.to_pylist()
    kept = {row["parameter"] for row in rows if row["relative"] >= threshold}
    return tuple(name for name in space.names if name in kept)


def sobol_indices(
    space: Space,
    outputs: dict[str, npt.NDArray[np.float64]],
    *,
    resamples: int,
    confidence: float,
    seed: int,
) -> pa.Table:
    """One row per (output, parameter): ``S1`` and ``ST`` with their intervals."""
    keys = ("output", "parameter", "S1", "S1_low", "S1_high", "ST", "ST_low", "ST_high")
    columns: dict[str, list] = {key: [] for key in keys}
    for name, y in varying(outputs).items():
        indices = sobol_analyzer.analyze(
            space.problem(),
            y,
            calc_second_order=False,
            num_resamples=resamples,
            conf_level=confidence,
            seed=seed,
        )
        columns["output"] += [name] * len(space.names)
        columns["parameter"] += list(space.names)
        for key in ("S1", "ST"):
            value = np.asarray(indices[key], dtype=float)
            half = np.asarray(indices[f"{key}_conf"], dtype=float)
            columns[key] += value.tolist()
            columns[f"{key}_low"] += (value - half).tolist()
            columns[f"{key}_high"] += (value + half).tolist()
    return pa.table(columns, schema=_schema(columns, strings=("output", "parameter")))


def _schema(columns: dict[str, list], strings: tuple[str, ...]) -> pa.Schema:
    """Strings and float64 columns, so that an empty table has the same schema as a full one."""
    return pa.schema([(k, pa.string() if k in strings else pa.float64()) for k in columns])
