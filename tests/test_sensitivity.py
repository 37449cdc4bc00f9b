"""``diffusion sensitivity`` on real runs: the compiled kernel, real local Dask workers on
127.0.0.1 started here, real Parquet files and figures.

The scenario is a small country for eighteen months with detection off (delta = 0), so the
implication probability ``model.p_implicate`` provably changes nothing: with no detection nobody
is ever implicated. The analysis must rank it last, resume without redoing finished runs, give
the same indices on one worker as on two, and refuse a bad ``[sensitivity]`` by its field.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from diffusion.cli import main
from diffusion.command import Progress
from diffusion.config import ConfigError, load_config
from diffusion.sensitivity.report import SOBOL_FLOOR, weak_index_warnings
from diffusion.sensitivity.run import analyse, stage_folder
from diffusion.sweep.clusters import open_client
from diffusion.sweep.config import ClusterConfig
from diffusion.sweep.designs import make_design
from diffusion.sweep.run import finished_points, point_path

NULL = "model.p_implicate"
"""Has no effect: with delta = 0 nobody is detected, so nobody is implicated."""

SOURCE = "synthetic: made for tests/test_sensitivity.py by the model's authors, 2026"
TARGETS = f"""
[weightings.population]
[weightings.defectors]
border = 0.8
Pyongyang = 0.027

[[targets]]
name = "watched-2000"
measure = "had watched foreign media"
period = {{ kind = "fieldwork", first = 2000, last = 2000 }}
value = 0.5
source = "{SOURCE}"
statistic = "watched"
weighting = "population"

[[targets]]
name = "watched-2000-border"
measure = "had watched foreign media"
period = {{ kind = "fieldwork", first = 2000, last = 2000 }}
value = 0.5
source = "{SOURCE}"
statistic = "watched"
weighting = "defectors"
"""

CONFIG = """
[network]
type = "population"
n_agents = 1500
n_regions = 20
seed = 1

[model]
beta = 0.02
gamma = 0.02
delta = 0.0
mode = "group"
host_prob = 0.1
start = 2000-01-01
entry_rate = 0.2
mix = {dvd = 1.0}

[run]
end = 2001-06-30
seeds = 0
seed = 3

[calibration]
targets = "targets.toml"
priors = {"model.beta" = {low = 0.003, high = 0.1, scale = "log"}}

[sensitivity]
seed = 5
morris = {trajectories = 4, threshold = 0.0}
sobol = {samples = 8}
"""

PARAMETERS = """
[sensitivity.parameters]
"model.beta" = {low = 0.003, high = 0.1, scale = "log"}
"model.p_implicate" = {low = 0.0, high = 1.0}
"model.gamma" = {low = 0.005, high = 0.1, scale = "log"}
"""


def write_config(folder: Path, extra: str = PARAMETERS, config: str = CONFIG) -> Path:
    (folder / "targets.toml").write_text(TARGETS)
    path = folder / "sensitivity.toml"
    path.write_text(config + extra)
    return path


@pytest.fixture(scope="module")
def client():
    with open_client(ClusterConfig(), workers=2) as client:
        assert client.scheduler.address.startswith("tcp://127.0.0.1:")
        yield client


@pytest.fixture(scope="module")
def reference(tmp_path_factory, client):
    """The whole analysis, run once on two workers: its config, folder and result."""
    folder = tmp_path_factory.mktemp("reference")
    experiment = load_config(write_config(folder))
    return experiment, folder / "out", analyse(experiment, folder / "out", client)


def rows(table, output: str) -> dict[str, dict]:
    return {row["parameter"]: row for row in table.to_pylist() if row["output"] == output}


# ---------------------------------------------------------------------------------- ranking
def test_a_parameter_without_effect_ranks_last(reference):
    _, _, analysis = reference
    outputs = set(analysis.morris.column("output").to_pylist())
    # nobody is detected: "detected" is the same everywhere and has no indices
    assert outputs == {"reach_share", "target:watched-2000", "target:watched-2000-border"}
    assert analysis.kept == ("model.beta", "model.p_implicate", "model.gamma")  # threshold 0
    for output in outputs:
        morris = rows(analysis.morris, output)
        assert morris[NULL]["mu_star"] == 0.0  # common seeds: its runs are the same runs
        assert all(morris[p]["mu_star"] > 0 for p in ("model.beta", "model.gamma"))
        sobol = rows(analysis.sobol, output)
        assert sobol[NULL]["ST_low"] <= 0.0 <= sobol[NULL]["ST_high"]
        assert sobol[NULL]["ST"] == min(row["ST"] for row in sobol.values())
        assert sobol[NULL]["ST"] < max(row["ST"] for row in sobol.values())
    assert analysis.runs == {"morris": 4 * 4, "sobol": 8 * 5}


def test_the_screening_drops_what_has_no_effect(tmp_path, client):
    config = CONFIG.replace("threshold = 0.0", "threshold = 0.05")
    experiment = load_config(write_config(tmp_path, config=config))
    analysis = analyse(experiment, tmp_path / "out", client)
    assert analysis.kept == ("model.beta", "model.gamma")
    assert set(analysis.sobol.column("parameter").to_pylist()) == {"model.beta", "model.gamma"}
    assert analysis.runs["sobol"] == 8 * 4


# ---------------------------------------------------------------------------------- resume
class Interrupt(Exception):
    """Stands for a Ctrl-C in the middle of the Sobol stage."""


def test_an_interrupted_analysis_resumes_without_redoing_runs_on_any_number_of_workers(
    tmp_path, client, reference
):
    experiment, _, complete = reference
    out = tmp_path / "out"

    def stop_in_sobol(stage: str, points: int):
        def progress(done: int, total: int) -> None:
            if stage == "sobol" and done >= 12:
                raise Interrupt

        return progress

    with pytest.raises(Interrupt):
        analyse(experiment, out, client, stop_in_sobol)
    sobol = stage_folder(out, "sobol")
    done = finished_points(sobol)
    assert 12 <= len(done) < 40
    assert len(finished_points(stage_folder(out, "morris"))) == 16
    written = {p: point_path(sobol, p).stat().st_mtime_ns for p in done}

    started: dict[str, int] = {}

    def record(stage: str, points: int):
        def progress(done: int, total: int) -> None:
            started.setdefault(stage, done)  # the first call: the points found finished

        return progress

    with open_client(ClusterConfig(), workers=1) as one:
        resumed = analyse(experiment, out, one, record)
    assert started == {"morris": 16, "sobol": len(done)}
    assert {p: point_path(sobol, p).stat().st_mtime_ns for p in done} == written
    assert len(finished_points(sobol)) == 40
    for name in ("morris", "sobol"):  # the same indices as the uninterrupted run on 2 workers
        assert getattr(resumed, name).equals(getattr(complete, name)), name


# ---------------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("morris = {levels = 5}", "sensitivity.morris.levels: 5 must be even"),
        ("sobol = {samples = 48}", "sensitivity.sobol.samples: 48 is not a power of 2"),
        ("morris = {threshold = 1.5}", "sensitivity.morris.threshold:"),
        ("morris = {trajectories = 1}", "sensitivity.morris.trajectories:"),
        ("confidence = 1.0", "sensitivity.confidence:"),
        ("replicates = 0", "sensitivity.replicates:"),
        ("seed = -1", "sensitivity.seed:"),
        ("samples = 64", "sensitivity.samples: unknown"),
        ('replicates = "2"', "sensitivity.replicates: '2' is not an integer"),
        ("parameters = {}", "sensitivity.parameters:"),
        (
            'parameters = {"network.travel" = {low = 0.1, high = 0.5}}',
            "sensitivity.parameters.network.travel: must be a model parameter",
        ),
        (
            'parameters = {"model.beta" = {low = 0.1, high = 1.5}}',
            "sensitivity.parameters.model.beta: 1.5 is not usable",
        ),
        (
            'parameters = {"model.beta" = {low = 0.0, high = 0.1, scale = "log"}}',
            "sensitivity.parameters.model.beta",
        ),
        (
            'parameters = {"model.nothing" = {low = 0.0, high = 0.1}}',
            "sensitivity.parameters.model.nothing: 0.0 is not usable",
        ),
        (  # integer ends pass, the values between them cannot (issue 20, A5)
            'parameters = {"model.fear_steps" = {low = 1, high = 30}}',
            "sensitivity.parameters.model.fear_steps: takes values between 1 and 30",
        ),
    ],
)
def test_an_invalid_sensitivity_section_is_refused_naming_the_field(tmp_path, section, message):
    config = CONFIG.split("[sensitivity]")[0] + f"[sensitivity]\n{section}\n"
    with pytest.raises(ConfigError) as caught:
        load_config(write_config(tmp_path, extra="", config=config))
    assert any(line.startswith(message) for line in caught.value.lines), caught.value.lines


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--samples", "100"], "sensitivity.sobol.samples: 100 is not a power of 2"),
        (["--threshold", "2"], "sensitivity.morris.threshold:"),
        (["--trajectories", "0"], "sensitivity.morris.trajectories:"),
    ],
)
def test_a_bad_option_is_refused_naming_the_field_it_sets(tmp_path, options, message):
    config = write_config(tmp_path)
    result = CliRunner().invoke(
        main, ["sensitivity", str(config), "--out", str(tmp_path / "o"), *options]
    )
    assert result.exit_code == 2
    assert message in result.stderr
    assert not (tmp_path / "o").exists()


def test_a_config_with_nothing_to_analyse_is_refused(tmp_path):
    config = CONFIG.split("[calibration]")[0] + "[sensitivity]\nseed = 1\n"
    path = write_config(tmp_path, extra="", config=config)
    result = CliRunner().invoke(main, ["sensitivity", str(path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "sensitivity.parameters: required when the config has no [calibration.priors]" in (
        result.stderr
    )


# ---------------------------------------------------------------------------------- the CLI
def test_the_command_writes_the_tables_the_figures_and_the_summary(tmp_path):
    config = write_config(tmp_path, extra="")  # the priors: model.beta alone
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main,
        ["sensitivity", str(config), "--out", str(out), "--workers", "2", "--samples", "4"]
        + ["--trajectories", "3", "--seed", "9"],
    )
    assert result.exit_code == 0, result.output
    assert "morris stage, 6 points" in result.stderr and "sobol stage, 12 points" in result.stderr
    assert "reach (share informed at the end): model.beta" in result.stdout
    assert result.stderr.endswith(
        "warning: sensitivity: N = 4 Sobol base samples is below 16: the indices and their "
        "intervals are noise (raise sensitivity.sobol.samples or --samples)\n"
    )
    morris = pq.read_table(out / "morris.parquet")
    assert morris.column_names == [
        "output", "parameter", "mu", "mu_star", "mu_star_conf", "sigma", "relative",
    ]  # fmt: skip
    sobol = pq.read_table(out / "sobol.parquet")
    assert sobol.column_names == [
        "output", "parameter", "S1", "S1_low", "S1_high", "ST", "ST_low", "ST_high",
    ]  # fmt: skip
    assert set(sobol.column("parameter").to_pylist()) == {"model.beta"}
    values = np.array(sobol.column("ST").to_pylist())
    assert np.isfinite(values).all()
    for name in ("morris.png", "sobol.png"):
        assert (out / name).stat().st_size > 10_000
    summary = (out / "summary.txt").read_text()
    assert summary.startswith("Morris: 1 parameters, 3 trajectories, 6 runs")
    assert not list(out.glob(".*")) and not list(tmp_path.glob(".*.lock"))
    assert not math.isnan(morris.column("mu_star").to_pylist()[0])


def sobol_table(rows: list[tuple[str, str, float, float]]) -> pa.Table:
    """A Sobol table of (output, parameter, ST, half-width) rows; S1 copies ST."""
    table = {key: [] for key in ("output", "parameter", "S1", "S1_low", "S1_high")}
    table |= {"ST": [], "ST_low": [], "ST_high": []}
    for output, parameter, st, half in rows:
        table["output"].append(output)
        table["parameter"].append(parameter)
        for key in ("S1", "ST"):
            table[key].append(st)
            table[f"{key}_low"].append(st - half)
            table[f"{key}_high"].append(st + half)
    return pa.table(table)


def test_indices_whose_intervals_outgrow_them_for_most_parameters_are_cautioned():
    sobol = sobol_table(
        [
            # reach: 2 of 3 intervals wider than the index (0.3 wide > 0.2; 0.5 > 0.01)
            ("reach_share", "a", 0.2, 0.15), ("reach_share", "b", 0.01, 0.25),
            ("reach_share", "c", 0.7, 0.1),
            # detected: 1 of 2 (a half is not most): no caution
            ("detected", "a", 0.6, 0.2), ("detected", "b", 0.0, 0.05),
        ]
    )  # fmt: skip
    assert weak_index_warnings(sobol, SOBOL_FLOOR) == [
        "sensitivity: reach (share informed at the end): the ST interval is wider than the "
        "index for 2 of 3 parameters; N = 16 is too small for these indices to mean anything "
        "(raise sensitivity.sobol.samples or --samples)"
    ]
    narrow = sobol_table([("reach_share", "a", 0.6, 0.2), ("reach_share", "b", 0.3, 0.1)])
    assert weak_index_warnings(narrow, 64) == []
    # Below the floor, however narrow the intervals: one line naming N and the floor.
    assert weak_index_warnings(narrow, 8) == [
        "sensitivity: N = 8 Sobol base samples is below 16: the indices and their intervals "
        "are noise (raise sensitivity.sobol.samples or --samples)"
    ]


def test_points_design_takes_the_ith_value_of_every_list():
    design = make_design("points", {"model.beta": [0.1, 0.2, 0.3], "model.mode": ["a", "b", "c"]})
    assert [tuple(p.values()) for p in design.points] == [(0.1, "a"), (0.2, "b"), (0.3, "c")]
    with pytest.raises(ValueError, match="sweep.parameters.model.mode: 2 values, but model.beta"):
        make_design("points", {"model.beta": [0.1, 0.2, 0.3], "model.mode": ["a", "b"]})
    with pytest.raises(ValueError, match="a points design takes a list of values"):
        make_design("points", {"model.beta": {"low": 0.1, "high": 0.2}})
    with pytest.raises(ValueError, match="sweep.points: only for random and lhs"):
        make_design("points", {"model.beta": [0.1]}, points=1)


def test_a_long_stage_prints_a_progress_line_every_two_percent(capsys):
    progress = Progress("sweep", "points", quiet=False, tty=False)
    for done in range(161):
        progress(done, 160)
    lines = capsys.readouterr().err.splitlines()
    assert [line.split()[1] for line in lines[:3]] == ["0/160", "3/160", "6/160"]
    assert len(lines) == 55 and lines[-1].startswith("sweep: 160/160")
