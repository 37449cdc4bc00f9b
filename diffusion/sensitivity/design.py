"""The samples of each stage, drawn by SALib, and the sweep that runs them.

A parameter with a ``log`` range is sampled uniformly in ``log10`` (SALib sees the bounds
``[log10 low, log10 high]``), so a Morris step or a Sobol coordinate moves it by a factor; the
runs get the natural value. Parameters not in a stage keep the scenario's value (the config's
``[model]``). Each stage is a sweep with a ``points`` design (``diffusion.sweep.designs``): point
``i`` is row ``i`` of the sample, and its runs are seeded from the stage's sweep seed, so they do
not depend on which worker ran them. Like every sweep's, its points share their replicates'
seeds (common random numbers): a parameter that changes nothing then changes no output at all,
instead of showing the runs' noise as an effect.

Every seed of an analysis comes from ``[sensitivity] seed`` through ``SeedSequence`` (``seeds``),
one per use: each stage's sample, its runs and its bootstrap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from SALib.sample import morris as morris_sampler
from SALib.sample import sobol as sobol_sampler

from diffusion.calibration.priors import Prior
from diffusion.config import ExperimentConfig, validate_config
from diffusion.sensitivity.config import SensitivityConfig

STAGES: tuple[str, ...] = ("morris", "sobol")
USES: tuple[str, ...] = ("sample", "runs", "bootstrap")


def seeds(root: int) -> dict[tuple[str, str], int]:
    """The seed of each (stage, use), e.g. ``("morris", "sample")``, from the root seed.

    Seeds are in [1, 2^32]: SALib's Sobol analysis draws from an unseeded generator when given 0.
    """
    keys = [(stage, use) for stage in STAGES for use in USES]
    words = np.random.SeedSequence(root).generate_state(len(keys))
    return {key: int(word) + 1 for key, word in zip(keys, words, strict=True)}


@dataclass(frozen=True)
class Space:
    """The analysed parameters (dotted paths) and their ranges, in the order SALib sees them."""

    names: tuple[str, ...]
    ranges: tuple[Prior, ...]

    @classmethod
    def of(cls, ranges: dict[str, Prior]) -> Space:
        return cls(names=tuple(ranges), ranges=tuple(ranges.values()))

    def subset(self, names: tuple[str, ...]) -> Space:
        """The space of some of the parameters, in this space's order."""
        kept = [i for i, name in enumerate(self.names) if name in names]
        return Space(tuple(self.names[i] for i in kept), tuple(self.ranges[i] for i in kept))

    def problem(self) -> dict[str, Any]:
        """SALib's problem: log ranges as their ``log10`` bounds."""
        bounds = [
            [np.log10(r.low), np.log10(r.high)] if r.scale == "log" else [r.low, r.high]
            for r in self.ranges
        ]
        return {"num_vars": len(self.names), "names": list(self.names), "bounds": bounds}

    def natural(self, sample: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """A SALib sample (one row per point) on the parameters' own scale, inside the ranges
        (``10 ** log10(high)`` may exceed ``high`` by a rounding error)."""
        values = np.array(sample, dtype=float, copy=True)
        for j, r in enumerate(self.ranges):
            if r.scale == "log":
                values[:, j] = 10.0 ** values[:, j]
            values[:, j] = np.clip(values[:, j], r.low, r.high)
        return values


def morris_sample(space: Space, trajectories: int, levels: int, seed: int) -> np.ndarray:
    """Morris trajectories (``SALib.sample.morris``): (parameters + 1) rows each."""
    return morris_sampler.sample(space.problem(), trajectories, num_levels=levels, seed=seed)


def sobol_sample(space: Space, samples: int, seed: int) -> np.ndarray:
    """Saltelli's sample for first- and total-order indices (``SALib.sample.sobol``):
    ``samples * (parameters + 2)`` rows."""
    return sobol_sampler.sample(space.problem(), samples, calc_second_order=False, seed=seed)


def stage_config(
    experiment: ExperimentConfig,
    space: Space,
    sample: npt.NDArray[np.float64],
    seed: int,
    settings: SensitivityConfig,
) -> ExperimentConfig:
    """The scenario with a ``[sweep]`` of the sample's points (natural values), seeded ``seed``,
    with the replicates of ``settings``.

    The ``[sensitivity]`` section is left out, so that a stage's folder is resumed whatever the
    settings of the other stage.
    """
    values = space.natural(sample)
    data = experiment.resolved()
    data.pop("sensitivity", None)
    data["sweep"] = {
        "design": "points",
        "seed": seed,
        "replicates": settings.replicates,
        "parameters": {name: values[:, j].tolist() for j, name in enumerate(space.names)},
    }
    return validate_config(data)
