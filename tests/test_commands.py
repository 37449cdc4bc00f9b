"""The one shape of every long-running command (``diffusion.command``): ``--set`` on each, one
line per refusal (memory counted with the result buffers, runs that would never end), one line
on Ctrl-C, and a warning for a scheduler reached over plain TCP off this machine."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_hostile_input import BASE

from diffusion import cli
from diffusion.cli import main
from diffusion.command import Progress, warn_insecure_scheduler
from diffusion.config import validate_config
from diffusion.config_check import memory_needed
from diffusion.errors import DiffusionError

SMALL = BASE  # the small Erdos-Renyi experiment of the hostile-input tests

COMMANDS = ("run", "check", "sweep", "calibrate", "sensitivity", "strategy")


def invoke(*args: object):
    return CliRunner().invoke(main, [str(a) for a in args])


def in_child(args: list, address_space: int) -> subprocess.CompletedProcess:
    """``diffusion ARGS`` in a child limited to ``address_space`` bytes of address space."""
    code = textwrap.dedent(
        f"""
        import resource, sys
        resource.setrlimit(resource.RLIMIT_AS, ({address_space}, {address_space}))
        from diffusion.cli import main
        sys.argv = ["diffusion", *sys.argv[1:]]
        main()
        """
    )
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_taking_a_config_takes_set_and_names_a_bad_path(tmp_path, command):
    (tmp_path / "c.toml").write_text(SMALL)
    args = [command, tmp_path / "c.toml", "--set", "model.gama=0.1"]
    result = invoke(*args, *([] if command == "check" else ["--out", tmp_path / "o"]))
    assert result.exit_code == 2, result.output
    assert "model.gama: no such parameter" in result.stderr
    assert "Traceback" not in result.output and not (tmp_path / "o").exists()


def test_set_changes_what_check_describes(tmp_path):
    (tmp_path / "c.toml").write_text(SMALL)
    result = invoke("check", tmp_path / "c.toml", "--set", "run.replicates=5")
    assert result.exit_code == 0, result.output
    assert "replicates: 5 (root seed 7)" in result.output


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("model.beta=0.1\n[network]\ntype = 'sbm'", "is not one TOML value"),
        ("." * 3000 + "=1", "nested too deeply"),
    ],
)
def test_a_set_that_cannot_be_one_value_is_one_line(tmp_path, value, problem):
    (tmp_path / "c.toml").write_text(SMALL)
    result = invoke("check", tmp_path / "c.toml", "--set", value)
    assert result.exit_code == 2 and problem in result.stderr
    assert "Traceback" not in result.output
    assert [line for line in result.stderr.splitlines() if problem in line] == [
        result.stderr.strip().splitlines()[-1]
    ]  # after click's usage lines, the problem in one line


def test_a_path_set_twice_is_refused(tmp_path):
    (tmp_path / "c.toml").write_text(SMALL)
    result = invoke(
        "check", tmp_path / "c.toml", "--set", "model.beta=0.1", "--set", "model.beta=0.2"
    )
    assert result.exit_code == 2 and "model.beta: given twice" in result.stderr


REGIONS = SMALL.replace(
    'type = "erdos_renyi"\nn = 300\nmean_degree = 4',
    'type = "population"\nn_agents = 200_000\nn_regions = 25_000',
).replace("replicates = 2", "replicates = 1\nsteps = 1100")


def test_result_buffers_count_in_the_memory_check():
    """The issue's case: 200,000 agents in 25,000 regions for 1,100 steps keep 1,101 x 25,000
    x 5 counts of 8 bytes (1.1 GB), three times over at the peak (growth and final copy)."""
    needed, what = memory_needed(validate_config(_toml(REGIONS)))
    buffers = 1101 * 8 * (6 + 3 * 6 + 25_000 * 5)
    assert needed == 190 * 200_000 + 3 * buffers
    assert "1101 steps x 25000 regions x 3 media" in what
    held, _ = memory_needed(validate_config(_toml(REGIONS)), results_held=4)
    assert held - needed == 3 * buffers  # each finished replicate keeps its buffers


@pytest.mark.parametrize("command", ["run", "check"])
def test_run_and_check_refuse_result_buffers_beyond_memory_in_one_line(tmp_path, command):
    (tmp_path / "c.toml").write_text(REGIONS)
    out = [] if command == "check" else ["--out", tmp_path / "o"]
    proc = in_child([command, tmp_path / "c.toml", *out], 3 << 30)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "bad_alloc" not in proc.stderr
    assert "1101 steps x 25000 regions x 3 media of results needs about 3." in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (("gamma = 0.2", "gamma = 1e-9"), "run.steps: required: holders stop with probability"),
        (("replicates = 2", "replicates = 2\nsteps = 10_000_000"), "needs about"),
    ],
)
def test_runs_that_would_not_end_or_fit_are_refused_before_building(tmp_path, edit, problem):
    """gamma 1e-9 without a step count ran into ``std::bad_alloc``; ten million steps on a
    20-region population tried multi-GiB allocations."""
    text = SMALL.replace(
        'type = "erdos_renyi"\nn = 300\nmean_degree = 4',
        'type = "population"\nn_agents = 2000\nn_regions = 20\nregions = "synthetic"',
    )
    (tmp_path / "c.toml").write_text(text.replace(*edit))
    for command in ("check", "run"):
        out = [] if command == "check" else ["--out", tmp_path / "o"]
        proc = in_child([command, tmp_path / "c.toml", *out], 2 << 30)
        assert proc.returncode == 2 and problem in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr and not (tmp_path / "o").exists()


def test_check_describes_the_memory_and_every_section(tmp_path):
    config = Path("experiments/strategy-usb-budget.toml").resolve()
    result = invoke("check", config)
    assert result.exit_code == 0, result.output
    labels = {line.split(":")[0].strip() for line in result.output.splitlines()[1:]}
    assert {"memory", "strategy"} <= labels


@pytest.mark.parametrize(
    ("command", "config"),
    [
        ("strategy", "strategy-usb-budget.toml"),
        ("calibrate", "calibration/dprk-2000-2020.toml"),
        ("sensitivity", "calibration/dprk-2000-2020.toml"),
    ],
)
def test_the_newer_commands_check_memory_before_building(tmp_path, command, config):
    """10^8 agents: ``run`` refused them at once; these three died building the population."""
    config = Path("experiments", config).resolve()
    big = "network.n_agents=100_000_000"
    proc = in_child([command, config, "--set", big, "--out", tmp_path / "o"], 3 << 30)
    assert proc.returncode == 2, proc.stderr
    assert "population network of 100000000 agents" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "o").exists()


def test_ctrl_c_is_one_line_with_status_130(tmp_path, monkeypatch):
    (tmp_path / "c.toml").write_text(SMALL)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "run_scenario", interrupted)
    result = invoke("run", tmp_path / "c.toml", "--out", tmp_path / "o")
    assert result.exit_code == 130
    assert result.stderr.strip().splitlines()[-1] == "run: interrupted"


def test_every_diffusion_error_is_one_line_with_its_status(tmp_path, monkeypatch):
    def stopped(*args, **kwargs):
        error = DiffusionError("workers gone\nsecond line")
        error.exit_code = 1
        raise error

    (tmp_path / "c.toml").write_text(SMALL)
    monkeypatch.setattr(cli, "run_scenario", stopped)
    result = invoke("run", tmp_path / "c.toml", "--out", tmp_path / "o")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines()[-1] == "Error: workers gone second line"


def test_out_of_memory_inside_a_run_is_one_line(tmp_path, monkeypatch):
    def bad_alloc(*args, **kwargs):
        raise MemoryError("std::bad_alloc")

    (tmp_path / "c.toml").write_text(SMALL)
    monkeypatch.setattr(cli, "run_scenario", bad_alloc)
    result = invoke("run", tmp_path / "c.toml", "--out", tmp_path / "o")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines()[-1].startswith("Error: ran out of memory (std::")


@pytest.mark.parametrize(
    ("scheduler", "warned"),
    [
        ("tcp://10.1.2.3:8786", True),
        ("tcp://scheduler.example.org:8786", True),
        ("tcp://127.0.0.1:8786", False),
        ("tcp://[::1]:8786", False),
        ("tcp://localhost:8786", False),
        ("tls://10.1.2.3:8786", False),
    ],
)
def test_a_plain_tcp_scheduler_off_this_machine_is_warned_about(capsys, scheduler, warned):
    warn_insecure_scheduler(scheduler)
    err = capsys.readouterr().err
    assert ("warning: --scheduler" in err) == warned
    if warned:
        assert "tls://" in err


def test_progress_without_a_terminal_prints_each_detail_and_every_two_percent(capsys):
    progress = Progress("replicate", "replicates", quiet=False, tty=False)
    progress(1, 3, "reach 0.5")
    silent = Progress("sweep", "points", quiet=True, tty=False)
    silent(1, 3)
    assert capsys.readouterr().err == "replicate 1/3: reach 0.5\n"


def _toml(text: str) -> dict:
    return tomllib.loads(text)


def test_an_unknown_key_gets_a_did_you_mean(tmp_path):
    (tmp_path / "c.toml").write_text(SMALL.replace("gamma = 0.2", "gamma = 0.2\ngama = 0.3"))
    result = invoke("check", tmp_path / "c.toml")
    assert result.exit_code == 2
    assert "model.gama: unknown key (did you mean 'gamma'?)" in result.stderr
    (tmp_path / "c.toml").write_text(SMALL.replace("gamma = 0.2", "gamma = 0.2\ncolour = 1"))
    assert "model.colour: unknown key\n" in invoke("check", tmp_path / "c.toml").stderr
