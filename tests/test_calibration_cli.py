"""``diffusion calibrate``: a real fit of one rate on a small scenario, on two local workers,
writing the posterior, each target's fit and the figure, and continuing from its history."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
from click.testing import CliRunner
from test_calibration_abc import TARGETS

from diffusion.cli import main

CONFIG = """
[network]
type = "population"
n_agents = 4000
n_regions = 20
seed = 1

[model]
beta = 0.024
gamma = 0.05
delta = 0.001
mode = "group"
host_prob = 0.1
start = 2000-01-01
entry_rate = 0.5
mix = {dvd = 1.0}
entry = [{start = 2001-01-01, mix = {usb = 1.0}}]

[run]
end = 2002-12-31
seeds = 0
seed = 3

[calibration]
targets = "targets.toml"
seed = 11
priors = {"model.beta" = {low = 0.003, high = 0.1, scale = "log"}}
"""


def test_calibrate_writes_the_posterior_and_the_fit_and_continues(tmp_path):
    (tmp_path / "targets.toml").write_text(
        "[weightings.population]\n[weightings.defectors]\nborder = 0.8\nPyongyang = 0.027\n"
        + TARGETS
    )
    config = tmp_path / "fit.toml"
    config.write_text(CONFIG)
    out = tmp_path / "out"
    common = ["calibrate", str(config), "--out", str(out), "--particles", "12", "--workers", "2"]
    first = CliRunner().invoke(main, [*common, "--generations", "1"])
    assert first.exit_code == 0, first.output
    assert "1 generations of 12 particles" in first.stdout
    second = CliRunner().invoke(main, [*common, "--generations", "2"])
    assert second.exit_code == 0, second.output
    assert "2 generations of 12 particles" in second.stdout
    posterior = pq.read_table(out / "posterior.parquet")
    assert posterior.column_names == ["weight", "model.beta"]
    assert posterior.num_rows == 12
    beta = posterior.column("model.beta").to_numpy()
    assert ((beta >= 0.003) & (beta <= 0.1)).all()  # back on the natural scale
    fit = pq.read_table(out / "fit.parquet").to_pylist()
    assert [row["target"] for row in fit] == ["watched-2001", "watched-2002", "watched-2001-border"]
    for row in fit:
        assert 0 <= row["model_low"] <= row["model_median"] <= row["model_high"] <= 1
        assert row["published"] == 0.5
    assert (out / "fit.png").stat().st_size > 10_000
    assert not list(out.glob(".*.lock"))


def test_a_config_without_calibration_is_refused(tmp_path):
    config = tmp_path / "plain.toml"
    config.write_text(CONFIG.split("[calibration]")[0])
    result = CliRunner().invoke(main, ["calibrate", str(config), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "no [calibration] section" in result.stderr


SELECTION = """
[calibration.mechanisms.markets]
"model.market_rate" = {low = 0.001, high = 0.1, scale = "log"}

[calibration.variants]
base = []
markets = ["markets"]
"""


def test_calibrate_select_compares_variants_and_writes_every_table(tmp_path):
    """Model selection over two variants: models.parquet holds a probability per variant
    (adding up to 1), generations.parquet one row per generation, the posterior is of the
    better-supported variant, and fit.parquet is a posterior predictive of --predictive runs."""
    (tmp_path / "targets.toml").write_text(
        "[weightings.population]\n[weightings.defectors]\nborder = 0.8\nPyongyang = 0.027\n"
        + TARGETS
    )
    config = tmp_path / "fit.toml"
    config.write_text(CONFIG + SELECTION)
    out = tmp_path / "out"
    args = ["calibrate", str(config), "--out", str(out), "--particles", "16", "--workers", "2"]
    args += ["--generations", "2", "--select", "--predictive", "20"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    models = pq.read_table(out / "models.parquet").to_pylist()
    assert [row["model"] for row in models] == ["base", "markets"]
    assert abs(sum(row["probability"] for row in models) - 1) < 1e-9
    assert sum(row["particles"] for row in models) == 16
    generations = pq.read_table(out / "generations.parquet")
    assert generations.column_names == [
        "generation",
        "particles",
        "ess",
        "epsilon",
        "acceptance_rate",
        "runs",
    ]
    assert generations["generation"].to_pylist() == [0, 1]
    for row in generations.to_pylist():
        assert 1 <= row["ess"] <= row["particles"] == 16
        assert row["acceptance_rate"] == row["particles"] / row["runs"]
    best = max(models, key=lambda row: row["probability"])["model"]
    posterior = pq.read_table(out / "posterior.parquet")
    expected = ["weight", "model.beta"] + (["model.market_rate"] if best == "markets" else [])
    assert posterior.column_names == expected
    assert f"of {best!r}" in result.stdout
    fit = pq.read_table(out / "fit.parquet").to_pylist()
    for row in fit:
        assert 0 <= row["model_low"] <= row["model_median"] <= row["model_high"] <= 1
        assert row["inside_predictive_90"] == (row["model_low"] <= 0.5 <= row["model_high"])


def test_select_and_variant_are_checked_before_any_run(tmp_path):
    (tmp_path / "targets.toml").write_text(
        "[weightings.population]\n[weightings.defectors]\nborder = 0.8\n" + TARGETS
    )
    config = tmp_path / "fit.toml"
    config.write_text(CONFIG + SELECTION)
    out = str(tmp_path / "o")
    result = CliRunner().invoke(main, ["calibrate", str(config), "--out", out, "--variant", "x"])
    assert result.exit_code == 2 and "no variant 'x'" in result.stderr
    both = CliRunner().invoke(
        main, ["calibrate", str(config), "--out", out, "--variant", "base", "--select"]
    )
    assert both.exit_code == 2 and "--select compares every variant" in both.stderr
    plain = tmp_path / "plain.toml"
    plain.write_text(CONFIG)
    alone = CliRunner().invoke(main, ["calibrate", str(plain), "--out", out, "--select"])
    assert alone.exit_code == 2 and "two or more" in alone.stderr


def _fit_folder(tmp_path):
    (tmp_path / "targets.toml").write_text(
        "[weightings.population]\n[weightings.defectors]\nborder = 0.8\nPyongyang = 0.027\n"
        + TARGETS
    )
    config = tmp_path / "fit.toml"
    config.write_text(CONFIG)
    return config, tmp_path / "out"


def test_a_damaged_history_is_one_line_and_left_alone(tmp_path):
    """A truncated or foreign history.db: exit 2, one line naming it, the file untouched (C4)."""
    config, out = _fit_folder(tmp_path)
    out.mkdir()
    damaged = b"SQLite format 3\x00" + b"\x00" * 200  # a header, then nothing: truncated
    (out / "history.db").write_bytes(damaged)
    result = CliRunner().invoke(main, ["calibrate", str(config), "--out", str(out), "--workers",
                                       "1", "--particles", "4", "--generations", "1"])  # fmt: skip
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and "history.db: the history is damaged" in result.stderr
    assert (out / "history.db").read_bytes() == damaged


def test_a_full_disk_is_one_line_and_the_fit_resumes(tmp_path):
    """Under a file-size limit (as on a full disk) the fit stops with one line and exit 1; the
    same command without the limit then finishes it (C4)."""
    config, out = _fit_folder(tmp_path)
    program = str(Path(sys.executable).parent / "diffusion")
    command = [program, "calibrate", str(config), "--out", str(out), "--workers", "1",
               "--particles", "6", "--generations", "2"]  # fmt: skip

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (40 * 1024, resource.RLIM_INFINITY))

    full = subprocess.run(command, capture_output=True, text=True, preexec_fn=limited, timeout=600)
    assert full.returncode == 1, full.stderr[-2000:]
    lines = [line for line in full.stderr.splitlines() if "cannot write" in line]
    assert len(lines) == 1 and "free space and run the same command again" in lines[0]
    assert "Traceback" not in full.stderr
    again = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "2 generations of 6 particles" in again.stdout
