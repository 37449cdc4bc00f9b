"""The ``diffusion`` command line, through click's CliRunner and as the installed console script."""

import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import diffusion
from diffusion.cli import main

CONFIG = """
# a small scenario for the tests
[network]
type = "erdos_renyi"
n = 1500
mean_degree = 6
seed = 3

[model]
beta = 0.12
gamma = 0.2
delta = 0.02
campaigns = [{start = 10, end = 20, delta = 0.1}]

[run]
replicates = 3
seed = 9
seeds = 5
"""

SCRIPT = Path(sys.executable).with_name("diffusion")
"""The console script installed next to this interpreter (pyproject: diffusion.cli:main)."""


@pytest.fixture
def config(tmp_path) -> Path:
    path = tmp_path / "exp.toml"
    path.write_text(CONFIG)
    return path


def invoke(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_run_writes_the_results_and_reports(config, tmp_path):
    out = tmp_path / "out"
    result = invoke("run", config, "--out", out)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "channels.parquet",
        "summary.parquet",
        "timeseries.parquet",
    ]
    assert "3 replicates" in result.stdout and f"results: {out}" in result.stdout
    assert "reach_share" in result.stdout
    # not a terminal: plain progress lines on stderr
    assert "replicate 1/3: reach" in result.stderr and "replicate 3/3" in result.stderr
    summary = pq.read_table(out / "summary.parquet")
    assert summary.num_rows == 3 and {"replicate", "seed", "reach_share"} <= set(
        summary.column_names
    )


def test_quiet_prints_nothing(config, tmp_path):
    result = invoke("run", config, "--out", tmp_path / "out", "--quiet")
    assert result.exit_code == 0
    assert result.output == ""
    assert (tmp_path / "out" / "summary.parquet").is_file()


@pytest.mark.parametrize(
    ("edit", "line"),
    [
        (("gamma = 0.2", "gamma = 0.2\ncolour = 'red'"), "model.colour: unknown key"),
        (("replicates = 3", "replicates = 'three'"), "run.replicates: 'three' is not an integer"),
        (("beta = 0.12", "beta = 1.7"), "model.beta: 1.7 is not in [0, 1]"),
        (("n = 1500", "n = -1500"), "network.n: -1500 is not in [1, 2147483647]"),
        (
            ('type = "erdos_renyi"\nn = 1500\nmean_degree = 6', 'type = "file"\npath = "x.txt"'),
            "network.path: no such file: x.txt",
        ),
    ],
)
def test_bad_configs_exit_2_with_the_naming_line(tmp_path, edit, line):
    path = tmp_path / "bad.toml"
    path.write_text(CONFIG.replace(*edit))
    result = invoke("run", path, "--out", tmp_path / "out")
    assert result.exit_code == 2
    assert line in result.stderr
    assert isinstance(result.exception, SystemExit)  # a clean exit, not an uncaught error
    assert not (tmp_path / "out").exists()  # nothing was done


def test_an_unreadable_network_file_is_a_config_error(tmp_path):
    (tmp_path / "g.txt").write_text("0 1\nthis is not an edge list\n")
    path = tmp_path / "bad.toml"
    path.write_text(
        CONFIG.replace(
            'type = "erdos_renyi"\nn = 1500\nmean_degree = 6', 'type = "file"\npath = "g.txt"'
        )
        .replace("seed = 3\n", "", 1)
        .replace("seeds = 5", "seeds = 1")
    )
    result = invoke("run", path, "--out", tmp_path / "out")
    assert result.exit_code == 2
    assert "network.path: cannot read" in result.stderr


def test_more_initial_holders_than_agents_in_a_network_file(tmp_path):
    (tmp_path / "g.txt").write_text("0 1\n1 2\n")
    path = tmp_path / "small.toml"
    path.write_text(
        CONFIG.replace(
            'type = "erdos_renyi"\nn = 1500\nmean_degree = 6', 'type = "file"\npath = "g.txt"'
        ).replace("seed = 3\n", "", 1)
    )
    result = invoke("run", path, "--out", tmp_path / "out")
    assert result.exit_code == 2
    assert "run.seeds: 5 is not an integer in [0, 3] (the agents)" in result.stderr


def test_plot_draws_pngs_and_refuses_an_empty_folder(config, tmp_path):
    out = tmp_path / "out"
    assert invoke("run", config, "--out", out, "--quiet").exit_code == 0
    result = invoke("plot", out)
    assert result.exit_code == 0, result.output
    for name in ("states.png", "detections.png"):
        assert (out / name).stat().st_size > 10_000
        assert f"plot: {out / name}" in result.stdout
    empty = tmp_path / "empty"
    empty.mkdir()
    result = invoke("plot", empty)
    assert result.exit_code == 1 and "no run" in result.output


@pytest.mark.parametrize("suffix", [".txt", ".graphml"])
def test_network_build_then_info_and_reuse(config, tmp_path, suffix):
    out = tmp_path / f"net{suffix}"
    result = invoke("network", "build", config, "--out", out)
    assert result.exit_code == 0, result.output
    built = diffusion.Network.read(out)
    assert built == diffusion.Network.erdos_renyi(1500, 6, seed=3)
    info = invoke("network", "info", out)
    assert info.exit_code == 0
    assert "agents: 1500" in info.stdout and "ties: 4500" in info.stdout
    reuse = tmp_path / "reuse.toml"
    reuse.write_text(
        CONFIG.replace('type = "erdos_renyi"\nn = 1500\nmean_degree = 6\nseed = 3', "").replace(
            "[network]", f'[network]\ntype = "file"\npath = "{out.name}"'
        )
    )
    assert invoke("run", reuse, "--out", tmp_path / "a", "--quiet").exit_code == 0
    assert invoke("run", config, "--out", tmp_path / "b", "--quiet").exit_code == 0
    a, b = (pq.read_table(tmp_path / d / "timeseries.parquet") for d in "ab")
    assert a.replace_schema_metadata(None).equals(b.replace_schema_metadata(None))


def test_population_build_and_info(tmp_path):
    path = tmp_path / "pop.toml"
    path.write_text(
        '[network]\ntype = "population"\nn_agents = 3000\nregions = "synthetic"\n'
        "n_regions = 5\nborder_regions = 1\n"
        "seed = 2\n[model]\nbeta = 0.1\ngamma = 0.1\n"
    )
    out = tmp_path / "pop.npz"
    result = invoke("network", "build", path, "--out", out)
    assert result.exit_code == 0, result.output
    info = invoke("network", "info", out)
    assert info.exit_code == 0 and "agents: 3000" in info.stdout and "regions: 5" in info.stdout
    assert invoke("network", "build", path, "--out", tmp_path / "pop.txt").exit_code == 2


def test_version():
    assert invoke("--version").stdout.strip() == f"diffusion, version {diffusion.__version__}"
    assert invoke("version").stdout.strip() == f"diffusion {diffusion.__version__}"


def test_help_on_every_command():
    for args in ([], ["run"], ["network"], ["network", "build"], ["network", "info"], ["plot"]):
        result = invoke(*args, "--help")
        assert result.exit_code == 0 and "Usage:" in result.output


def test_the_console_script_runs_plots_and_rejects(config, tmp_path):
    out = tmp_path / "out"
    run = subprocess.run(
        [SCRIPT, "run", config, "--out", out], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    assert "replicate 3/3" in run.stderr and f"results: {out}" in run.stdout
    plot = subprocess.run([SCRIPT, "plot", out], capture_output=True, text=True, timeout=120)
    assert plot.returncode == 0, plot.stderr
    assert (out / "states.png").stat().st_size > 10_000
    bad = tmp_path / "bad.toml"
    bad.write_text(CONFIG.replace("beta = 0.12", "beta = 1.7"))
    rejected = subprocess.run([SCRIPT, "run", bad, "--out", out], capture_output=True, text=True)
    assert rejected.returncode == 2
    assert "model.beta: 1.7 is not in [0, 1]" in rejected.stderr
    assert "Traceback" not in rejected.stderr


def test_same_config_and_seed_give_identical_parquet_through_the_cli(config, tmp_path):
    for folder in ("a", "b"):
        assert invoke("run", config, "--out", tmp_path / folder, "--quiet").exit_code == 0
    for name in ("timeseries.parquet", "summary.parquet"):
        a, b = (pq.read_table(tmp_path / d / name) for d in "ab")
        assert a.replace_schema_metadata(None).equals(b.replace_schema_metadata(None))


def test_plot_of_a_sweep_folder(tmp_path):
    """A real two-parameter sweep (one local Dask worker), then its heatmaps."""
    path = tmp_path / "sweep.toml"
    path.write_text(
        CONFIG.replace("replicates = 3", "replicates = 2")
        + '\n[sweep]\n[sweep.parameters]\n"model.delta" = [0.0, 0.05]\n'
        '"model.media.usb.concealment" = [0.5, 1.0]\n'
    )
    out = tmp_path / "sweep"
    sweep = subprocess.run(
        [SCRIPT, "sweep", path, "--out", out, "--workers", "1", "--quiet"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert sweep.returncode == 0, sweep.stderr
    result = invoke("plot", out)
    assert result.exit_code == 0, result.output
    for name in ("sweep-reach_share.png", "sweep-detected.png"):
        assert (out / name).stat().st_size > 10_000


def test_a_full_disk_during_run_is_one_line_and_earlier_results_stay(config, tmp_path):
    """Under a file-size limit (EFBIG, as ENOSPC on a full disk) ``run`` stops with one line and
    exit 1, no traceback; a folder written before is untouched (issue 20, C4)."""
    import resource

    before = tmp_path / "before"
    assert invoke("run", config, "--out", before, "--quiet").exit_code == 0
    files = {p.name: p.read_bytes() for p in before.iterdir()}

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (2048, resource.RLIM_INFINITY))

    command = [str(SCRIPT), "run", str(config), "--out", str(tmp_path / "new"), "--quiet"]
    full = subprocess.run(command, capture_output=True, text=True, preexec_fn=limited)
    assert full.returncode == 1, full.stderr
    assert full.stderr.startswith("Error: cannot write ") and full.stderr.count("\n") == 1
    assert "free space and run the same command again" in full.stderr
    assert {p.name: p.read_bytes() for p in before.iterdir()} == files
