"""The [calibration] section: the 2000-2020 scenario loads, and bad priors or targets are named."""

from __future__ import annotations

import copy
import datetime as dt
import tomllib
from pathlib import Path

import pytest

from diffusion.config import ConfigError, load_config, validate_config

SCENARIO = Path(__file__).parent.parent / "experiments" / "calibration" / "dprk-2000-2020.toml"


@pytest.fixture(scope="module")
def data() -> dict:
    return tomllib.loads(SCENARIO.read_text())


def test_the_scenario_loads_with_its_priors_and_targets():
    config = load_config(SCENARIO)
    assert config.model.start == dt.date(2000, 1, 1) and config.steps() == 7671
    assert config.model.media["vcr"].lent
    assert config.network.regions == "census" and config.network.n_agents == 100_000
    priors = config.calibration.priors
    assert set(priors) == {
        "model.beta", "model.gamma", "model.delta", "model.entry_rate", "model.entry.1.rate",
        "model.entry.2.rate",
    }  # fmt: skip
    for path, prior in priors.items():  # the starting values lie inside the priors
        value = config.resolved()
        for key in path.split("."):
            value = value[int(key)] if key.isdigit() else value[key]
        assert prior.low <= value <= prior.high, path
    assert len(config.calibration.load_targets().fitted()) == 7
    starts = [config.model.step_of(c.start) for c in config.model.entry]
    assert starts == [1462, 2923, 4384, 5845, 7333]  # 2004, 2008, 2012, 2016 (Jan 1), 2020-01-28
    calibration = config.calibration
    assert list(calibration.variants) == ["base", "willingness", "public", "markets", "all"]
    everything = calibration.priors_of("all")
    assert set(everything) == set(priors).union(*calibration.mechanisms.values())
    assert calibration.priors_of("base") == dict(priors)


def _rejected(data: dict, section: str, changes: dict, message: str) -> None:
    bad = copy.deepcopy(data)
    bad[section].update(changes)
    with pytest.raises(ConfigError) as caught:
        validate_config(bad, base_dir=SCENARIO.parent)
    assert any(line.startswith(message) for line in caught.value.lines), caught.value.lines


@pytest.mark.parametrize(
    ("prior", "message"),
    [
        ({"model.beta": {"low": 0.01, "high": 2.0}}, "calibration.priors.model.beta: 2.0 is not"),
        (
            {"model.bogus": {"low": 0, "high": 1}},
            "calibration.priors.model.bogus: 0.0 is not usable",
        ),
        (
            {"network.travel": {"low": 0, "high": 1}},
            "calibration.priors.network.travel: must be a model",
        ),
        ({"model.gamma": {"low": 0, "high": 1, "scale": "log"}}, "calibration.priors.model.gamma"),
        (
            {"model.gamma": {"low": 0.5, "high": 0.1}},
            "calibration.priors.model.gamma: high (0.1) must be",
        ),
    ],
)
def test_a_bad_prior_is_named(data, prior, message):
    bad = copy.deepcopy(data)
    bad["calibration"]["priors"] = prior
    with pytest.raises(ConfigError) as caught:
        validate_config(bad, base_dir=SCENARIO.parent)
    assert any(line.startswith(message) for line in caught.value.lines), caught.value.lines


def test_targets_outside_the_run_or_missing_are_rejected(data):
    _rejected(
        data,
        "run",
        {"end": dt.date(2012, 12, 31)},
        "calibration.targets: targets[2].period: 2016-2016 is outside the run",
    )
    _rejected(data, "calibration", {"targets": "nowhere.toml"}, "calibration.targets: no such")
    bad = copy.deepcopy(data)
    del bad["run"]["end"]
    bad["run"]["steps"] = 100
    with pytest.raises(ConfigError, match="calibration: needs the calendar"):
        validate_config(bad, base_dir=SCENARIO.parent)
