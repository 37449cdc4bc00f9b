"""The posterior predictive: what the fitted model says of each target, with fresh randomness.

Parameter sets are drawn from the posterior (the last generation's particles) by weight, and each
is run once under a seed of its own, so the spread of a target's values reflects both the
uncertainty of the rates and the randomness of a run. The accepted runs of the last generation
would not do: they were selected for being close to the published values.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
from distributed import Client

from diffusion.calibration.abc import ScenarioModel
from diffusion.calibration.report import Z90
from diffusion.calibration.targets import TargetFile
from diffusion.config import ExperimentConfig


def draw_parameters(posterior: pa.Table, runs: int, seed: int) -> list[dict[str, float]]:
    """``runs`` parameter sets (dotted paths to values) drawn from ``posterior`` by weight."""
    weights = np.asarray(posterior["weight"], dtype=float)
    rng = np.random.default_rng([seed, 0x9E3D])
    chosen = rng.choice(len(weights), size=runs, p=weights / weights.sum())
    names = [name for name in posterior.column_names if name != "weight"]
    columns = {name: np.asarray(posterior[name], dtype=float) for name in names}
    return [{name: float(columns[name][i]) for name in names} for i in chosen]


def _run(model: ScenarioModel, values: dict[str, float], seed: int) -> dict[str, float]:
    return model.run(values, seed)


def posterior_predictive(
    config: ExperimentConfig,
    posterior: pa.Table,
    client: Client,
    *,
    runs: int,
    seed: int,
) -> list[dict[str, float]]:
    """Each fitted target's model value in ``runs`` runs of parameter sets drawn from the
    posterior, each under a fresh seed (``SeedSequence([seed, 1]).spawn``)."""
    if config.calibration is None:
        raise ValueError("calibration: the config has no [calibration] section")
    model = ScenarioModel(config, config.calibration.load_targets())
    parameters = draw_parameters(posterior, runs, seed)
    children = np.random.SeedSequence([seed, 1]).spawn(runs)
    seeds = [int(child.generate_state(1)[0] >> 1) for child in children]
    shared = client.scatter(model, broadcast=True)
    futures = client.map(_run, [shared] * runs, parameters, seeds, pure=False)
    return client.gather(futures)


def fit_table(values: list[dict[str, float]], targets: TargetFile) -> pa.Table:
    """Each fitted target: the published value, its sample's 90% interval (where the sample size
    is known), and the posterior predictive median and 90% interval."""
    rows: list[dict[str, Any]] = []
    for target in targets.fitted():
        model = np.array([v[target.name] for v in values], dtype=float)
        low, median, high = np.quantile(model, [0.05, 0.5, 0.95])
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
                "inside_predictive_90": bool(low <= target.value <= high),
                "median_inside_sample_90": None
                if spread is None
                else bool(target.value - spread <= median <= target.value + spread),
                "source": target.source,
            }
        )
    return pa.Table.from_pylist(rows)
