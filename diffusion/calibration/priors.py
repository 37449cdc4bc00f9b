"""The ``[calibration]`` section of a config: the targets file and a prior per unknown rate.

A prior is a uniform or log-uniform range on a dotted model path (``model.beta``,
``model.entry.1.rate``); both ends must be valid values of the scenario. The targets file is
checked against the run's calendar and media. ``ExperimentConfig`` calls ``check`` after the
rest of the config is valid.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from diffusion._fields import Section
from diffusion._paths import existing_file
from diffusion.calibration.targets import TargetError, TargetFile, check_calendar, load_targets

if TYPE_CHECKING:
    from diffusion.config import ExperimentConfig


class Prior(Section):
    """A uniform (``linear``) or log-uniform (``log``) prior on ``low``..``high``."""

    low: float
    """Lower end of the range (a valid value of the parameter)."""
    high: float
    """Upper end of the range (a valid value of the parameter, above ``low``)."""
    scale: Literal["linear", "log"] = "linear"
    """``linear``: uniform on low..high; ``log``: uniform in the logarithm (``low`` > 0), for
    rates spanning orders of magnitude."""

    @model_validator(mode="after")
    def _ordered(self) -> Prior:
        if not self.low < self.high:
            raise ValueError(f"high ({self.high}) must be > low ({self.low})")
        if self.scale == "log" and self.low <= 0:
            raise ValueError(f"low: {self.low} must be > 0 for a log prior")
        return self


class CalibrationConfig(Section):
    """What to fit a scenario to, and the priors of its unknown rates.

    ``priors`` are fitted in every variant. A *mechanism* is a named group of further priors (the
    parameters of one mechanism the scenario leaves off); a *variant* is a model to compare, the
    list of mechanisms it turns on. Model selection (``diffusion calibrate --select``) weighs the
    variants against the targets; ``--variant NAME`` fits one of them.
    """

    targets: Path
    """The targets file (relative paths: from the config's folder)."""
    priors: Annotated[dict[str, Prior], Field(min_length=1)]
    """Prior of each fitted parameter, by dotted path (``model.beta``)."""
    seed: Annotated[int, Field(ge=0)] = 0
    """Root seed of the calibration's random draws and runs."""
    mechanisms: dict[str, dict[str, Prior]] = {}
    """Named groups of priors, each the parameters of one mechanism (off in ``[model]``)."""
    variants: dict[str, list[str]] = {}
    """Models to compare: each a list of mechanisms turned on (``[]``: the scenario as it is)."""

    @model_validator(mode="after")
    def _known_mechanisms(self) -> CalibrationConfig:
        for name, mechanisms in self.variants.items():
            unknown = [m for m in mechanisms if m not in self.mechanisms]
            if unknown:
                known = ", ".join(self.mechanisms) or "none declared"
                raise ValueError(f"variants.{name}: {unknown[0]!r} is not a mechanism ({known})")
        for name, priors in self.mechanisms.items():
            shared = sorted(set(priors) & set(self.priors))
            if shared:
                raise ValueError(f"mechanisms.{name}.{shared[0]}: already in calibration.priors")
        return self

    def priors_of(self, variant: str | None = None) -> dict[str, Prior]:
        """The priors fitted in ``variant`` (None: the shared priors alone)."""
        if variant is None:
            return dict(self.priors)
        if variant not in self.variants:
            known = ", ".join(self.variants) or "none declared"
            raise ValueError(f"calibration.variants: no variant {variant!r} ({known})")
        priors = dict(self.priors)
        for mechanism in self.variants[variant]:
            priors.update(self.mechanisms[mechanism])
        return priors

    @field_validator("targets")
    @classmethod
    def _exists(cls, path: Path, info: ValidationInfo) -> Path:
        return existing_file(path, info)

    def load_targets(self) -> TargetFile:
        """The targets, read and validated."""
        return load_targets(self.targets)

    def check(self, experiment: ExperimentConfig) -> None:
        """Raise ``ValueError`` naming the field unless every prior's ends are valid values of
        the scenario and the fitted targets lie inside its calendar and media."""
        start, end = experiment.model.start, experiment.run.end
        if start is None or end is None:
            raise ValueError("calibration: needs the calendar (model.start and run.end)")
        try:
            check_calendar(self.load_targets(), start, end, experiment.model.media_names)
        except TargetError as exc:
            raise ValueError(f"calibration.targets: {exc.lines[0]}") from None
        bare = experiment.model_copy(update={"calibration": None})
        check_ranges(bare, self.priors, "calibration.priors")
        for name, priors in self.mechanisms.items():
            check_ranges(bare, priors, f"calibration.mechanisms.{name}")


def check_ranges(bare: ExperimentConfig, ranges: dict[str, Prior], section: str) -> None:
    """Raise ``ValueError`` naming ``section.<path>`` unless every range is on a model parameter
    and both its ends are valid values of the scenario ``bare`` (its own checks left out)."""
    for path, prior in ranges.items():
        where = f"{section}.{path}"
        if not path.startswith("model."):
            raise ValueError(f"{where}: must be a model parameter ('model.')")
        for value in (prior.low, prior.high):
            try:
                bare.with_overrides({path: value})
            except ValueError as exc:
                problem = str(exc).splitlines()[0]
                raise ValueError(f"{where}: {value!r} is not usable ({problem})") from None
        inside = prior.low + (prior.high - prior.low) / 3  # the draws fall between the ends
        try:
            bare.with_overrides({path: inside})
        except ValueError as exc:
            problem = str(exc).splitlines()[0]
            raise ValueError(
                f"{where}: takes values between {prior.low:g} and {prior.high:g} such as "
                f"{inside:.4g}, which are not usable ({problem})"
            ) from None
