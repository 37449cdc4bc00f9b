"""Checks of the fit's fixed choices: the fitted statistics of the calibrated scenario at the
fitting scale, at three times it, in the old miniature, and without the assumed deterrence,
written to ``docs/data/fit-checks.parquet``.

A fit runs on a miniature of the country (100,000 agents in 20 regions of 5,000), so its
statistics must not depend on the miniature's size; and deterrence is held at an assumed value,
so the statistics should say how much it matters. Each setting below runs
``experiments/calibrated-2000-2020.toml`` (the posterior medians) with its changes
``REPLICATES`` times on the same seeds and records every fitted target's mean and standard error
over the replicates; ``docs/generate.py`` tabulates them with each setting's z-score against the
first.

    python docs/fit_checks.py        # (make docs-data) a few minutes on one core
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pyarrow as pa

from diffusion.calibration.abc import ScenarioModel
from diffusion.calibration.targets import load_targets
from diffusion.config import load_config
from diffusion.results.io import write_parquet
from diffusion.strategy.report import interval

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "data" / "fit-checks.parquet"
REPLICATES = 6
SETTINGS: tuple[tuple[str, dict[str, float]], ...] = (
    ("as fitted", {}),
    ("300,000 agents in 60 regions", {"network.n_agents": 300_000, "network.n_regions": 60}),
    ("regions of 500", {"network.n_regions": 200}),
    ("no deterrence", {"model.deterrence": 1.0}),
)
"""(label, changes): the fitting scale (100,000 agents in 20 regions of 5,000); three times the
agents in regions of 5,000 still; the miniature the first fit ran on (the census's 200 regions
at 100,000 agents); and acceptance not lowered after a public trial."""


def main() -> int:
    config = load_config(ROOT / "experiments" / "calibrated-2000-2020.toml")
    targets = load_targets(ROOT / "experiments" / "calibration" / "targets.toml")
    rows = []
    for label, changes in SETTINGS:
        model = ScenarioModel(config.with_overrides(changes), targets)
        runs = [model.run({}, seed) for seed in range(REPLICATES)]
        for name in runs[0]:
            mean, _, _, se = interval(np.array([run[name] for run in runs]))
            rows.append(
                {"setting": label, "target": name, "mean": mean, "se": se, "replicates": len(runs)}
            )
        print(label, flush=True)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    write_parquet(pa.Table.from_pylist(rows), OUT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
