"""A sensitivity analysis from start to end: Morris screening, then Sobol on what survives.

Each stage's runs are a sweep into ``OUT/runs/<stage>`` (``diffusion.sweep.run``): one Parquet
file per finished point, so an interrupted analysis, run again, redoes no finished point. The
Sobol stage's sample depends only on the seed and on the parameters kept by the screening, which
depend only on the Morris runs, so the second run plans the same Sobol stage and resumes it.
Results do not depend on the number of workers: every sample and every run is seeded from
``[sensitivity] seed`` (``diffusion.sensitivity.design.seeds``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
from distributed import Client

from diffusion.config import ExperimentConfig
from diffusion.errors import DiffusionError
from diffusion.sensitivity.analysis import morris_indices, point_outputs, screen, sobol_indices
from diffusion.sensitivity.config import SensitivityConfig
from diffusion.sensitivity.design import (
    Space,
    morris_sample,
    seeds,
    sobol_sample,
    stage_config,
)
from diffusion.sweep.run import Progress, Sweep, run_sweep

RUNS = "runs"
"""The folder of OUT holding each stage's sweep."""


class SensitivityError(DiffusionError, ValueError):
    """An analysis that cannot go on (e.g. no parameter changes any output)."""


@dataclass(frozen=True)
class Analysis:
    """What an analysis found: the settings, both tables and the parameters the screening kept."""

    settings: SensitivityConfig
    space: Space
    morris: pa.Table
    kept: tuple[str, ...]
    sobol: pa.Table
    runs: dict[str, int]
    """Runs of each stage (points times replicates)."""


StageProgress = Callable[[str, int], Progress | None]
"""Called with a stage's name and its points when it starts; returns its progress callback."""


def stage_folder(out: str | Path, stage: str) -> Path:
    """The sweep folder of a stage: ``OUT/runs/morris``, ``OUT/runs/sobol``."""
    return Path(out) / RUNS / stage


def analyse(
    experiment: ExperimentConfig,
    out: str | Path,
    client: Client,
    progress: StageProgress | None = None,
) -> Analysis:
    """Run (or resume) both stages of ``experiment``'s analysis into ``out`` on ``client``."""
    settings = experiment.sensitivity or SensitivityConfig()
    space = Space.of(settings.ranges(experiment))
    seed = seeds(settings.seed)
    bootstrap = {"resamples": settings.resamples, "confidence": settings.confidence}

    screening = morris_sample(
        space, settings.morris.trajectories, settings.morris.levels, seed["morris", "sample"]
    )
    outputs = _run_stage(
        "morris", experiment, space, screening, seed, settings, out, client, progress
    )
    morris = morris_indices(
        space,
        screening,
        outputs,
        levels=settings.morris.levels,
        seed=seed["morris", "bootstrap"],
        **bootstrap,
    )
    kept = screen(morris, space, settings.morris.threshold)
    if not kept:
        raise SensitivityError(
            "sensitivity: no output changes over the Morris runs; nothing to analyse further"
        )
    chosen = space.subset(kept)
    variance = sobol_sample(chosen, settings.sobol.samples, seed["sobol", "sample"])
    outputs = _run_stage(
        "sobol", experiment, chosen, variance, seed, settings, out, client, progress
    )
    sobol = sobol_indices(chosen, outputs, seed=seed["sobol", "bootstrap"], **bootstrap)
    runs = {
        "morris": len(screening) * settings.replicates,
        "sobol": len(variance) * settings.replicates,
    }
    return Analysis(settings, space, morris, kept, sobol, runs)


def _run_stage(
    stage: str,
    experiment: ExperimentConfig,
    space: Space,
    sample: np.ndarray,
    seed: dict[tuple[str, str], int],
    settings: SensitivityConfig,
    out: str | Path,
    client: Client,
    progress: StageProgress | None,
) -> dict[str, np.ndarray]:
    """Run the sample's points as a sweep (resuming it), then read each point's outputs."""
    config = stage_config(experiment, space, sample, seed[stage, "runs"], settings)
    sweep = Sweep.from_config(config)
    folder = stage_folder(out, stage)
    folder.parent.mkdir(parents=True, exist_ok=True)
    run_sweep(sweep, folder, client, progress(stage, len(sample)) if progress else None)
    return point_outputs(folder, len(sample))
