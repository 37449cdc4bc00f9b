"""ABC-SMC on a real local Dask cluster: a known sharing rate is recovered from targets the model
made itself, a calibration is reproducible from its seed, and it resumes from its database."""

from __future__ import annotations

import datetime as dt
import sqlite3
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest

from diffusion.calibration.abc import calibrate, overrides, prior_distribution
from diffusion.calibration.folder import CalibrationError, resumable
from diffusion.config import validate_config
from diffusion.simulate import simulate
from diffusion.sweep.clusters import open_client
from diffusion.sweep.config import ClusterConfig
from diffusion.world import World

TRUE_BETA = 0.024
SOURCE = "synthetic: made by the model itself in tests/test_calibration_abc.py, 2026"
TARGETS = "\n".join(
    f"""
[[targets]]
name = "watched-{year}{"-border" if weighting == "defectors" else ""}"
measure = "had watched foreign media"
period = {{ kind = "fieldwork", first = {year}, last = {year} }}
value = 0.5
source = "{SOURCE}"
statistic = "watched"
weighting = "{weighting}"
"""
    for year, weighting in [(2001, "population"), (2002, "population"), (2001, "defectors")]
)


def scenario(tmp_path: Path) -> dict:
    """Three years of a country of 4,000 in 20 regions; the fit is of ``model.beta`` alone."""
    targets = tmp_path / "targets.toml"
    targets.write_text(
        "[weightings.population]\n[weightings.defectors]\nborder = 0.8\nPyongyang = 0.027\n"
        + TARGETS
    )
    return {
        "network": {"type": "population", "n_agents": 4000, "n_regions": 20, "seed": 1},
        "model": {
            "beta": TRUE_BETA,
            "gamma": 0.05,
            "delta": 0.001,
            "mode": "group",
            "host_prob": 0.1,
            "start": dt.date(2000, 1, 1),
            "entry_rate": 0.5,
            "mix": {"dvd": 1.0},
            "entry": [{"start": dt.date(2001, 1, 1), "mix": {"usb": 1.0}}],
        },
        "run": {"end": dt.date(2002, 12, 31), "seeds": 0, "seed": 3},
        "calibration": {
            "targets": str(targets),
            "seed": 11,
            "priors": {"model.beta": {"low": 0.003, "high": 0.1, "scale": "log"}},
        },
    }


@pytest.fixture(scope="module")
def client():
    with open_client(ClusterConfig(), workers=2) as client:
        assert client.scheduler.address.startswith("tcp://127.0.0.1:")
        yield client


def synthetic_targets(config, runs: int = 8) -> dict[str, float]:
    """The targets' values at the true rate, the mean of ``runs`` runs (seeds of their own, not
    the fit's): the record a fit should recover, not one run's luck (a single run's share in
    2001 has a standard deviation of about 0.14 here)."""
    targets = config.calibration.load_targets()
    world = World.of(config.network.build())
    values = [
        targets.simulated(
            simulate(world, config.model, seeds=0, rng=99 + i, steps=config.steps()), world
        )
        for i in range(runs)
    ]
    return {name: float(np.mean([v[name] for v in values])) for name in values[0]}


def generation(history, t: int) -> np.ndarray:
    frame, weights = history.get_distribution(m=0, t=t)
    order = np.argsort(frame["log10:model.beta"].to_numpy())
    return np.column_stack([frame["log10:model.beta"].to_numpy()[order], weights[order]])


def test_priors_are_uniform_in_log10_for_log_priors(tmp_path):
    config = validate_config(scenario(tmp_path))
    prior = prior_distribution(config.calibration.priors)
    assert prior.pdf({"log10:model.beta": -2.0}) == pytest.approx(1 / np.log10(0.1 / 0.003))
    assert overrides({"log10:model.beta": -2.0, "model.gamma": 0.1}) == pytest.approx(
        {"model.beta": 0.01, "model.gamma": 0.1}
    )


def test_calibration_recovers_beta_and_resumes(tmp_path, client):
    config = validate_config(scenario(tmp_path))
    observed = synthetic_targets(config)
    db = tmp_path / "fit.db"
    options = {"population_size": 40, "batch_size": 2, "max_jobs": 4, "observed": observed}
    first = calibrate(config, db, client, generations=1, **options)
    assert first.max_t == 0
    before = generation(first, 0)
    # interrupted after one generation: the same call resumes from the database
    history = calibrate(config, db, client, generations=2, **options)
    assert history.max_t == 1 and history.n_populations == 2
    assert np.array_equal(generation(history, 0), before)
    # the same seed gives the same generation, whatever the workers' timing
    again = calibrate(config, tmp_path / "again.db", client, generations=1, **options)
    assert np.array_equal(generation(again, 0), before)

    posterior = generation(history, 1)
    cumulative = np.cumsum(posterior[:, 1]) / posterior[:, 1].sum()
    low, high = np.interp([0.05, 0.95], cumulative, posterior[:, 0])
    assert low <= np.log10(TRUE_BETA) <= high
    assert high - low < 0.6 * np.log10(0.1 / 0.003)  # narrower than the prior (0.43 of it)


def test_a_resumed_calibration_is_the_uninterrupted_one(tmp_path, client):
    """Stopped after its first generation (as by kill -9: the history holds what finished) and
    resumed, a fit is bit-identical to one run straight through: same particles, weights and
    epsilons (issue 20, C3). Another seed into its history is refused, which stays as it was
    (C2)."""
    config = validate_config(scenario(tmp_path))
    options = {"population_size": 16, "batch_size": 2, "max_jobs": 4}
    straight = calibrate(config, tmp_path / "straight.db", client, generations=3, **options)
    calibrate(config, tmp_path / "resumed.db", client, generations=1, **options)
    resumed = calibrate(config, tmp_path / "resumed.db", client, generations=3, **options)
    for t in range(3):
        assert np.array_equal(generation(resumed, t), generation(straight, t))
    epsilons = straight.get_all_populations()["epsilon"].tolist()
    assert resumed.get_all_populations()["epsilon"].tolist() == epsilons
    other = validate_config({**scenario(tmp_path), "calibration": {
        **scenario(tmp_path)["calibration"], "seed": 12}})  # fmt: skip
    with pytest.raises(CalibrationError, match=r"holds a different fit \(differs in "
                       r"config\.calibration\.seed\)"):  # fmt: skip
        calibrate(other, tmp_path / "resumed.db", client, generations=4, **options)
    assert calibrate(config, tmp_path / "resumed.db", client, generations=3, **options).max_t == 2


def test_a_damaged_history_is_refused_and_an_unfinished_one_restarted(tmp_path):
    """Not a database, or one SQLite finds broken: one line, the file left alone. A history
    without a finished generation (as a full disk leaves it, "version 0") is removed, so the
    same command starts the fit again (issue 20, C4)."""
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not a database" * 100)
    with pytest.raises(CalibrationError, match=r"garbage.db: the history is damaged \("):
        resumable(garbage)
    assert garbage.exists()
    half = tmp_path / "half.db"
    with closing(sqlite3.connect(half)) as connection:
        connection.execute("CREATE TABLE version (version_num VARCHAR)")
        connection.execute("CREATE TABLE populations (id INTEGER, t INTEGER)")
        connection.commit()
    assert resumable(half) is False and not half.exists()
    unversioned = tmp_path / "unversioned.db"
    with closing(sqlite3.connect(unversioned)) as connection:
        connection.execute("CREATE TABLE populations (id INTEGER, t INTEGER)")
        connection.execute("INSERT INTO populations VALUES (1, 0)")
        connection.commit()
    with pytest.raises(CalibrationError, match=r"damaged \(no database version\)"):
        resumable(unversioned)  # a finished generation is never deleted
    assert unversioned.exists()
    assert resumable(tmp_path / "none.db") is False
