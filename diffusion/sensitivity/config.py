"""The ``[sensitivity]`` section of a config: which parameters, over which ranges, how many runs.

Every field has a default, so an empty ``[sensitivity]`` (or none at all) analyses the
``[calibration.priors]`` with modest sample sizes. ``parameters`` replaces the priors: a table of
``{low, high, scale}`` ranges on dotted model paths, exactly like a prior (a ``log`` range is
sampled uniformly in ``log10``). ``ExperimentConfig`` calls ``check`` after the rest of the
config is valid, so a mistake is reported as ``sensitivity.<field>: <problem>`` before any run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field, field_validator

from diffusion._fields import Section
from diffusion.calibration.priors import Prior, check_ranges

if TYPE_CHECKING:
    from diffusion.config import ExperimentConfig

MAX_TRAJECTORIES = 10_000
MAX_SAMPLES = 2**16
MAX_RESAMPLES = 100_000


class MorrisSettings(Section):
    """The screening stage (Morris elementary effects, ``SALib.sample.morris``)."""

    trajectories: Annotated[int, Field(ge=2, le=MAX_TRAJECTORIES)] = 10
    """Trajectories; each is (parameters + 1) runs."""
    levels: Annotated[int, Field(ge=2, le=100)] = 4
    """Levels of the grid each parameter moves on (even)."""
    threshold: Annotated[float, Field(ge=0, le=1)] = 0.1
    """A parameter goes on to the Sobol stage when its mu* is at least this share of the
    largest mu* for some output (0: every parameter goes on)."""

    @field_validator("levels")
    @classmethod
    def _even(cls, levels: int) -> int:
        if levels % 2:
            raise ValueError(f"{levels} must be even (Morris steps are half the levels)")
        return levels


class SobolSettings(Section):
    """The variance stage (Sobol indices, Saltelli's sampling, ``SALib.sample.sobol``)."""

    samples: Annotated[int, Field(ge=2, le=MAX_SAMPLES)] = 64
    """Base samples N (a power of 2); the stage runs N * (parameters + 2) points."""

    @field_validator("samples")
    @classmethod
    def _power_of_two(cls, samples: int) -> int:
        if samples & (samples - 1):
            raise ValueError(
                f"{samples} is not a power of 2 (the Sobol sequence is balanced only then)"
            )
        return samples


class SensitivityConfig(Section):
    """A global sensitivity analysis of the scenario (``diffusion sensitivity``)."""

    parameters: Annotated[dict[str, Prior], Field(min_length=1)] | None = None
    """Range of each analysed parameter by dotted path (default: the ``[calibration.priors]``)."""
    seed: Annotated[int, Field(ge=0, lt=2**63)] = 0
    """Root seed of the samples, the runs and the bootstrap."""
    replicates: Annotated[int, Field(ge=1, le=1000)] = 1
    """Runs per point; their mean is the point's output."""
    resamples: Annotated[int, Field(ge=10, le=MAX_RESAMPLES)] = 1000
    """Bootstrap resamples of each index's confidence interval."""
    confidence: Annotated[float, Field(gt=0, lt=1)] = 0.95
    """Confidence level of the intervals."""
    morris: MorrisSettings = MorrisSettings()
    """The screening stage (below)."""
    sobol: SobolSettings = SobolSettings()
    """The variance stage (below)."""

    def ranges(self, experiment: ExperimentConfig) -> dict[str, Prior]:
        """The analysed parameters and their ranges: ``parameters``, else the priors."""
        if self.parameters is not None:
            return dict(self.parameters)
        if experiment.calibration is None:
            raise ValueError(
                "sensitivity.parameters: required when the config has no [calibration.priors]"
            )
        return dict(experiment.calibration.priors)

    def check(self, experiment: ExperimentConfig) -> None:
        """Raise ``ValueError`` naming the field unless the ends of each of ``parameters``'
        ranges are valid values of the scenario (the priors are checked by ``[calibration]``;
        that there are parameters at all is checked by ``ranges``, when the analysis starts)."""
        bare = experiment.model_copy(update={"calibration": None, "sensitivity": None})
        check_ranges(bare, self.parameters or {}, "sensitivity.parameters")


OPTIONS: dict[str, str] = {
    "trajectories": "morris.trajectories",
    "threshold": "morris.threshold",
    "samples": "sobol.samples",
    "seed": "seed",
    "replicates": "replicates",
}
"""The command's options and the ``[sensitivity]`` fields they override."""


def with_options(experiment: ExperimentConfig, **options: Any) -> ExperimentConfig:
    """``experiment`` with ``[sensitivity]`` fields set from the command's options (None: keep),
    validated again (``ExperimentConfig.with_overrides``) so that a bad value is reported as the
    field it sets."""
    given = {OPTIONS[option]: value for option, value in options.items() if value is not None}
    if experiment.sensitivity is not None:  # every field is there, defaults filled in
        return experiment.with_overrides({f"sensitivity.{p}": v for p, v in given.items()})
    section: dict[str, Any] = {}
    for path, value in given.items():
        *tables, leaf = path.split(".")
        node = section
        for table in tables:
            node = node.setdefault(table, {})
        node[leaf] = value
    return experiment.with_overrides({"sensitivity": section})
