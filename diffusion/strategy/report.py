"""What an evaluation shows: per strategy, each figure's mean with a confidence interval, and
the paired difference from the reference strategy, replicate by replicate.

Intervals are Student-t intervals of the mean over replicates (95% by default). A paired
difference is the mean over replicates of (strategy - reference) on the same replicate, whose
standard error is that of the differences: with common random numbers the two runs of a
replicate share their scenario, so the differences vary much less than either figure.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from scipy import stats

from diffusion.results.io import write_parquet
from diffusion.strategy.evaluate import PROVINCES, RUNS, SERIES

METRICS: tuple[str, ...] = (
    "reach",
    "reach_share",
    "detected",
    "detected_per_reached",
    "province_reach_sd",
    "province_reach_min",
)
"""The figures of a replicate that are summarised (columns of ``runs``)."""
LEVEL = 0.95


def interval(values: np.ndarray, level: float = LEVEL) -> tuple[float, float, float, float]:
    """(mean, low, high, standard error) of the mean of ``values`` (a t interval, standard
    error from the sample deviation with n - 1). One value says nothing of the spread: its
    interval and standard error are NaN, not a zero-width interval."""
    values = np.asarray(values, dtype=float)
    n = len(values)
    mean = float(values.mean()) if n else float("nan")
    if n < 2:
        return mean, float("nan"), float("nan"), float("nan")
    se = float(values.std(ddof=1) / np.sqrt(n))
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * se
    return mean, mean - half, mean + half, se


def read(out: str | Path, kind: str = RUNS) -> pa.Table:
    """The parts of one kind (``runs``, ``series`` or ``provinces``) as one table."""
    return pq.read_table(Path(out) / kind)


def summary_table(runs: pa.Table, order: list[str]) -> pa.Table:
    """One row per strategy and figure: mean, interval, standard error, replicates."""
    rows = []
    for name in order:
        mine = runs.filter(pc.equal(runs["strategy"], name))
        for metric in METRICS:
            mean, low, high, se = interval(mine[metric].to_numpy())
            rows.append(_row(name, metric, mean, low, high, se, mine.num_rows))
    return pa.Table.from_pylist(rows)


def differences_table(runs: pa.Table, order: list[str], reference: str) -> pa.Table:
    """One row per strategy and figure: the mean paired difference from ``reference``."""
    base = _by_replicate(runs, reference)
    rows = []
    for name in order:
        mine = _by_replicate(runs, name)
        common = sorted(set(base) & set(mine))
        for metric in METRICS:
            diff = np.array([mine[r][metric] - base[r][metric] for r in common], dtype=float)
            mean, low, high, se = interval(diff)
            rows.append(
                _row(name, metric, mean, low, high, se, len(common)) | {"reference": reference}
            )
    return pa.Table.from_pylist(rows)


def over_time_table(series: pa.Table, order: list[str]) -> pa.Table:
    """Mean reach and detections per strategy and step, with the reach's interval."""
    parts = []
    for name in order:
        mine = series.filter(pc.equal(series["strategy"], name))
        steps = mine["step"].to_numpy()
        n_steps = int(steps.max()) + 1
        reach = _matrix(mine, "reach", n_steps)
        detected = _matrix(mine, "detected", n_steps)
        rows = [interval(reach[:, t]) for t in range(n_steps)]
        parts.append(
            pa.table(
                {
                    "strategy": [name] * n_steps,
                    "step": np.arange(n_steps),
                    "reach": [r[0] for r in rows],
                    "reach_low": [r[1] for r in rows],
                    "reach_high": [r[2] for r in rows],
                    "detected": detected.mean(axis=0),
                }
            )
        )
    return pa.concat_tables(parts)


def provinces_table(provinces: pa.Table, order: list[str]) -> pa.Table:
    """Mean share reached per strategy and province, with its interval."""
    rows = []
    names = list(dict.fromkeys(provinces["province"].to_pylist()))
    for name in order:
        mine = provinces.filter(pc.equal(provinces["strategy"], name))
        for province in names:
            values = mine.filter(pc.equal(mine["province"], province))["reach_share"].to_numpy()
            mean, low, high, _ = interval(values)
            rows.append(
                {"strategy": name, "province": province, "mean": mean, "low": low, "high": high}
            )
    return pa.Table.from_pylist(rows)


def write_report(out: str | Path, order: list[str], reference: str) -> dict[str, pa.Table]:
    """Read the finished parts of ``out`` and write ``summary``, ``differences``, ``over_time``
    and ``by_province`` (Parquet) beside them; returns the tables by name."""
    out = Path(out)
    runs = read(out, RUNS)
    tables = {
        "summary": summary_table(runs, order),
        "differences": differences_table(runs, order, reference),
        "over_time": over_time_table(read(out, SERIES), order),
        "by_province": provinces_table(read(out, PROVINCES), order),
    }
    for name, table in tables.items():
        write_parquet(table, out / f"{name}.parquet")
    return tables


def ranking(tables: dict[str, pa.Table], metric: str = "reach") -> list[dict]:
    """Strategies by decreasing mean ``metric``, each with its interval and its paired
    difference from the reference (rows of the summary and differences tables)."""
    summary = [r for r in tables["summary"].to_pylist() if r["metric"] == metric]
    diffs = {r["strategy"]: r for r in tables["differences"].to_pylist() if r["metric"] == metric}
    ranked = sorted(summary, key=lambda r: -r["mean"])
    return [{**row, "difference": diffs[row["strategy"]]} for row in ranked]


def format_summary(tables: dict[str, pa.Table], reference: str) -> str:
    """The printed summary: per strategy, reach, detections, detections per person reached and
    the spread across provinces, each with its interval, and reach's difference from the
    reference with its interval."""
    summary = {(r["strategy"], r["metric"]): r for r in tables["summary"].to_pylist()}
    lines = [
        f"{'strategy':<18} {'reach (95% CI)':>24} {'detected (95% CI)':>20} "
        f"{'det./reached':>13} {'province sd':>12} {'reach - ' + reference + ' (95% CI)':>30}"
    ]
    for row in ranking(tables):
        name, diff = row["strategy"], row["difference"]
        det = summary[(name, "detected")]
        per = summary[(name, "detected_per_reached")]
        spread = summary[(name, "province_reach_sd")]
        lines.append(
            f"{name:<18} {_ci(row, '.0f'):>24} {_ci(det, '.1f'):>20} "
            f"{per['mean']:>13.5f} {spread['mean']:>12.4f} {_ci(diff, '+.1f'):>30}"
        )
    return "\n".join(lines)


def _ci(row: dict, spec: str) -> str:
    return f"{row['mean']:{spec}} [{row['low']:{spec}}, {row['high']:{spec}}]"


def _row(name, metric, mean, low, high, se, n) -> dict:
    return {
        "strategy": name,
        "metric": metric,
        "mean": mean,
        "low": low,
        "high": high,
        "se": se,
        "replicates": n,
    }


def _by_replicate(runs: pa.Table, name: str) -> dict[int, dict]:
    rows = runs.filter(pc.equal(runs["strategy"], name)).to_pylist()
    return {row["replicate"]: row for row in rows}


def _matrix(table: pa.Table, column: str, n_steps: int) -> np.ndarray:
    """(replicates, steps) of one column of a series table, replicates in order."""
    replicate = table["replicate"].to_numpy()
    order = np.lexsort((table["step"].to_numpy(), replicate))
    return table[column].to_numpy()[order].reshape(-1, n_steps)
