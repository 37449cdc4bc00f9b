"""The commands that help a user before a run: check, experiments, --set, --help, errors."""

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from diffusion.cli import main

ROOT = Path(__file__).parents[1]
EXPERIMENTS = sorted((ROOT / "experiments").glob("*.toml"))

CONFIG = """
[network]
type = "erdos_renyi"
n = 1500
mean_degree = 6
seed = 3

[model]
beta = 0.12
gamma = 0.2
delta = 0.02

[run]
replicates = 3
seed = 9
seeds = 5
"""


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture
def config(tmp_path) -> Path:
    path = tmp_path / "exp.toml"
    path.write_text(CONFIG)
    return path


def test_check_describes_the_run_without_running_it(config, tmp_path):
    result = invoke("check", config)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"{config}: valid"
    described = dict(line.strip().split(": ", 1) for line in lines[1:])
    assert described["network"] == "erdos_renyi: n 1500, mean_degree 6.0, seed 3"
    assert described["agents"] == "1,500"
    assert described["steps"] == "until no one holds a copy"
    assert described["replicates"] == "3 (root seed 9)"
    assert described["kernel"].startswith("event")
    assert described["mechanisms"] == "none beyond SIR with detection"
    assert result.stderr == ""  # no warnings
    assert not list(tmp_path.glob("*.parquet"))


def test_check_names_the_calendar_kernel_and_the_sweep_of_a_shipped_experiment():
    result = invoke("check", ROOT / "experiments" / "sweep-crackdown.toml")
    assert result.exit_code == 0, result.output
    assert "kernel: calendar" in result.stdout and "agents: 100,000" in result.stdout
    assert "sweep: grid design over model.delta, network.travel" in result.stdout


def test_a_config_that_can_reach_no_one_is_warned_about(config, tmp_path):
    result = invoke("check", config, "--set", "run.seeds=0")
    assert result.exit_code == 0
    assert "warning: no one can ever be reached: run.seeds is 0 and no copies enter" in (
        result.stderr
    )
    out = tmp_path / "out"
    run = invoke("run", config, "--out", out, "--set", "run.seeds=0", "--quiet")
    assert run.exit_code == 0 and "warning: no one can ever be reached" in run.stderr
    assert pq.read_table(out / "summary.parquet").column("reach").to_pylist() == [0, 0, 0]


def test_a_declared_medium_no_mix_uses_is_warned_about_with_a_did_you_mean(config, tmp_path):
    config.write_text(CONFIG + '\n[model.media.ubs]\nspread = "copied"\np_copy = 0.5\n')
    warning = (
        "warning: model.media.ubs: declared but never used by a mix or entry "
        "(did you mean 'usb'?)\n"
    )
    result = invoke("check", config)
    assert result.exit_code == 0 and result.stderr == warning
    run = invoke("run", config, "--out", tmp_path / "out", "--quiet")
    assert run.exit_code == 0 and run.stderr == warning
    # Used by the mix: no warning; a changed shipped medium no mix names: warned, no hint.
    used = invoke("check", config, "--set", "model.mix={ubs = 1.0}")
    assert used.exit_code == 0 and used.stderr == ""
    config.write_text(CONFIG + "\n[model.media.dvd]\nconcealment = 0.5\n")
    changed = invoke("check", config)
    assert changed.stderr == (
        "warning: model.media.dvd: declared but never used by a mix or entry\n"
    )
    # A strategy that places copies of the medium uses it.
    config.write_text(
        CONFIG.replace("seeds = 5", "seeds = 5\nsteps = 50")
        + "\n[model.media.dvd]\nconcealment = 0.5\n"
        "\n[strategy]\nbudget = {dvd = 100}\ncompare = [{name = 'a', where = 'anywhere'}]\n"
    )
    placed = invoke("check", config)
    assert placed.exit_code == 0, placed.output
    assert placed.stderr == ""


def test_set_overrides_fields_and_the_values_are_toml(config, tmp_path):
    out = tmp_path / "out"
    result = invoke(
        "run", config, "--out", out, "--quiet",
        "--set", "run.replicates=2", "--set", "model.beta=0.2",
        "--set", 'model.campaigns=[{start = 2, end = 4, delta = 0.5}]',
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = pq.read_table(out / "summary.parquet")
    assert summary.num_rows == 2
    resolved = json.loads(summary.schema.metadata[b"diffusion"])["config"]
    assert resolved["model"]["beta"] == 0.2
    assert resolved["model"]["campaigns"] == [{"start": 2, "end": 4, "delta": 0.5}]


@pytest.mark.parametrize(
    ("override", "line"),
    [
        ("model.beta=1.7", "model.beta: 1.7 is not in [0, 1]"),
        ("model.bta=0.1", "model.bta: no such parameter"),
        ("run.replicates=three", "run.replicates: 'three' is not an integer"),
    ],
)
def test_set_errors_name_the_field(config, tmp_path, override, line):
    result = invoke("run", config, "--out", tmp_path / "out", "--set", override)
    assert result.exit_code == 2
    assert line in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["model.beta=0.1\n[network]\ntype = 'sbm'"], "is not one TOML value"),
        (["model.beta=0.1", "model.beta=0.2"], "model.beta: given twice"),
    ],
)
def test_set_takes_one_value_once_per_path(config, overrides, message):
    """Nothing after a newline is dropped in silence, no repeated path silently wins (C7)."""
    result = invoke("check", config, *[arg for o in overrides for arg in ("--set", o)])
    assert result.exit_code == 2 and message in result.stderr


def test_set_needs_path_equals_value(config, tmp_path):
    result = invoke("check", config, "--set", "model.beta")
    assert result.exit_code == 2 and "is not PATH=VALUE" in result.stderr


def test_experiments_lists_every_shipped_config_with_its_question_and_command(monkeypatch):
    monkeypatch.chdir(ROOT)
    result = invoke("experiments")
    assert result.exit_code == 0
    blocks = result.stdout.strip().split("\n\n")
    shipped = sorted((ROOT / "experiments").rglob("*.toml"))
    assert len(shipped) > len(EXPERIMENTS)  # experiments/calibration/ too
    assert [b.splitlines()[0] for b in blocks] == [str(p.relative_to(ROOT)) for p in shipped]
    for block, path in zip(blocks, shipped, strict=True):
        text = " ".join(line.strip() for line in block.splitlines()[1:])
        if path.name == "targets.toml":
            assert "targets file of [calibration]" in text and "$ diffusion" not in text
            continue
        assert "?" in text, block  # the question
        assert "$ diffusion " in text and f" {path.relative_to(ROOT)} --out " in text, block
    listed = result.stdout
    assert "$ diffusion calibrate experiments/calibration/dprk-2000-2020.toml" in listed
    assert "$ diffusion strategy experiments/strategy-usb-budget.toml" in listed
    assert "$ diffusion sweep experiments/sweep-crackdown.toml" in listed
    assert "$ diffusion run experiments/baseline.toml --out results/baseline" in listed


COMMANDS = [
    [], ["run"], ["check"], ["experiments"], ["sweep"], ["plot"], ["network"],
    ["network", "build"], ["network", "info"], ["version"],
]  # fmt: skip


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a) or "diffusion")
def test_help_is_never_cut_short(args):
    result = invoke(*args, "--help")
    assert result.exit_code == 0 and "Usage:" in result.output
    described = [line for line in result.output.splitlines() if not line.startswith("Usage:")]
    assert not [line for line in described if "..." in line]  # "[ARGS]..." is click's usage


def test_run_and_sweep_report_a_missing_config_alike(tmp_path):
    missing = tmp_path / "nope.toml"
    outputs = []
    for command in ("run", "sweep", "check"):
        result = (
            invoke(command, missing, "--out", tmp_path / "out")
            if command != "check"
            else (invoke(command, missing))
        )
        assert result.exit_code == 2
        outputs.append(result.stderr)
    assert outputs[0] == outputs[1] == outputs[2]
    assert f"{missing}: cannot read (No such file or directory)" in outputs[0]
