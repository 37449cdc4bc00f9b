"""Output folders (issue 11, items 5 and 6): a run folder is written as a unit, another
experiment's folder is refused unless --replace, leftovers of a killed writer are cleaned, and
a folder in use by another process is locked."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from diffusion._io import atomic_write, remove_temporaries
from diffusion._lock import FolderLock, FolderLocked, lock_path
from diffusion.cli import main
from diffusion.results.io import read_run

CONFIG = """
[network]
type = "erdos_renyi"
n = 400
mean_degree = 5
seed = 1

[model]
beta = {beta}
gamma = 0.2

[run]
replicates = {replicates}
seed = 3
seeds = 2
"""


def config(tmp_path: Path, beta: float = 0.1, replicates: int = 2, name: str = "") -> Path:
    path = tmp_path / (name or f"b{beta}-r{replicates}.toml")
    path.write_text(CONFIG.format(beta=beta, replicates=replicates))
    return path


def run(*args) -> object:
    return CliRunner().invoke(main, ["run", *map(str, args), "--quiet"])


def beta_in(out: Path) -> float:
    return read_run(out).metadata["config"]["model"]["beta"]


def cli(*args: str | Path, **kwargs) -> subprocess.Popen:
    code = "from diffusion.cli import main; main()"
    return subprocess.Popen(
        [sys.executable, "-c", code, *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def dead_pid() -> int:
    """The PID of a process that has ended (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


# ---------------------------------------------------------------------------------- item 5
def test_another_experiment_is_refused_unless_replace_and_old_plots_go(tmp_path):
    out = tmp_path / "out"
    assert run(config(tmp_path, 0.1), "--out", out).exit_code == 0
    assert CliRunner().invoke(main, ["plot", str(out)]).exit_code == 0
    assert any(p.suffix == ".png" for p in out.iterdir())
    refused = run(config(tmp_path, 0.3), "--out", out)
    assert refused.exit_code == 2
    assert "holds the results of another experiment (config.model.beta)" in refused.stderr
    assert "--replace" in refused.stderr and beta_in(out) == 0.1
    assert run(config(tmp_path, 0.1), "--out", out).exit_code == 0  # the same one: replaced
    assert run(config(tmp_path, 0.3), "--out", out, "--replace").exit_code == 0
    assert beta_in(out) == 0.3
    assert sorted(p.name for p in out.iterdir()) == [
        "channels.parquet",
        "summary.parquet",
        "timeseries.parquet",
    ]


def test_a_folder_with_other_files_is_never_replaced(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("precious")
    result = run(config(tmp_path), "--out", out, "--replace")
    assert result.exit_code == 2 and "not run results (thesis.tex)" in result.stderr
    assert (out / "thesis.tex").read_text() == "precious"


def test_a_killed_run_leaves_the_old_folder_whole_and_its_leftovers_are_cleaned(tmp_path):
    out = tmp_path / "out"
    assert run(config(tmp_path, 0.1), "--out", out).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    slow = config(tmp_path, 0.3, replicates=100_000)
    proc = cli("run", slow, "--out", out, "--replace", "--quiet")
    leftovers = []
    deadline = time.monotonic() + 60
    while not leftovers and time.monotonic() < deadline:
        leftovers = [p for p in tmp_path.glob(".out.*.tmp") if p.is_dir()]
        time.sleep(0.05)
    assert leftovers, "the run never created its temporary folder"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert pq.read_table(out / "summary.parquet").num_rows == 2  # readers see the old run only
    assert lock_path(out).exists()  # left by the killed process: stale
    assert run(config(tmp_path, 0.3), "--out", out, "--replace").exit_code == 0
    assert beta_in(out) == 0.3
    assert not list(tmp_path.glob(".out.*")), "temporary folder or lock left behind"


def test_a_full_disk_leaves_the_old_folder_and_no_temporary_files(tmp_path):
    """A file-size limit (RLIMIT_FSIZE) stands in for a full disk: writes fail with EFBIG."""
    out = tmp_path / "out"
    assert run(config(tmp_path, 0.1), "--out", out).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    code = textwrap.dedent(
        """
        import resource, signal, sys
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (2000, 2000))
        from diffusion.cli import main
        sys.argv = ["diffusion", *sys.argv[1:]]
        main()
        """
    )
    args = ["run", config(tmp_path, 0.3, replicates=20), "--out", out, "--replace", "--quiet"]
    proc = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True
    )
    assert proc.returncode != 0 and "File too large" in proc.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert not list(tmp_path.glob(".out.*"))


def test_atomic_write_is_the_one_helper_and_cleans_up_on_failure(tmp_path):
    target = tmp_path / "f.bin"
    atomic_write(target, b"old")

    def failing(handle):
        handle.write(b"partial")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, failing)
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["f.bin"]
    (tmp_path / ".f.bin.123.abc.tmp").write_bytes(b"x")
    (tmp_path / ".other.1.a.tmp").mkdir()
    assert remove_temporaries(tmp_path, "f.bin") == 1
    assert remove_temporaries(tmp_path) == 1 and [p.name for p in tmp_path.iterdir()] == ["f.bin"]


def test_every_writer_uses_the_atomic_helper():
    """No module writes a temporary file of its own any more (one helper: diffusion._io)."""
    package = Path(__file__).parents[1] / "diffusion"
    for path in package.glob("*.py"):
        if path.name != "_io.py":
            text = path.read_text()
            for pattern in ("os.replace(", ".replace(path)", '.tmp"', "os.fsync("):
                assert pattern not in text, (path.name, pattern)


# ---------------------------------------------------------------------------------- item 6
def test_a_lock_is_refused_while_its_owner_lives_and_taken_over_when_it_died(tmp_path):
    folder = tmp_path / "sweep"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from diffusion._lock import FolderLock\n"
            f"FolderLock({str(folder)!r}).acquire(); print('held', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(FolderLocked, match=f"in use by process {holder.pid} on"):
            FolderLock(folder).acquire()
    finally:
        holder.kill()
        holder.wait()
    with FolderLock(folder) as lock:  # the owner died: its lock is stale
        owner = json.loads(lock.path.read_text())
        assert owner["pid"] == os.getpid() and owner["host"] == socket.gethostname()
        with FolderLock(folder):  # this process already holds it
            pass
        assert lock.path.exists()
    assert not lock.path.exists()


def test_a_stale_lock_of_a_dead_pid_and_a_corrupt_lock_are_recovered(tmp_path):
    folder = tmp_path / "f"
    path = lock_path(folder)
    path.write_text(json.dumps({"pid": dead_pid(), "host": socket.gethostname(), "started": 0}))
    with FolderLock(folder):
        assert json.loads(path.read_text())["pid"] == os.getpid()
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:  # a live process that did not write the lock: its PID was reused after the owner died
        reused = {"pid": bystander.pid, "host": socket.gethostname(), "started": 0, "tick": 1}
        path.write_text(json.dumps(reused))
        with FolderLock(folder):
            assert json.loads(path.read_text())["pid"] == os.getpid()
    finally:
        bystander.kill()
        bystander.wait()
    path.write_text("{trunc")
    with FolderLock(folder):
        assert json.loads(path.read_text())["pid"] == os.getpid()
    path.write_text(json.dumps({"pid": 1, "host": "elsewhere.example", "started": 0}))
    with pytest.raises(FolderLocked, match="on elsewhere.example"):
        FolderLock(folder).acquire()


def test_a_run_into_a_folder_in_use_is_refused(tmp_path):
    out = tmp_path / "out"
    holder = cli("run", config(tmp_path, 0.3, replicates=100_000), "--out", out, "--quiet")
    try:
        deadline = time.monotonic() + 60
        while not lock_path(out).exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        result = run(config(tmp_path), "--out", out)
        assert result.exit_code == 2 and f"in use by process {holder.pid}" in result.stderr
    finally:
        holder.kill()
        holder.wait()


def test_changed_identity_names_what_differs_and_ignores_keys_it_does_not_know():
    """The one check sweeps, strategies and fits make of a folder's stored identity."""
    from diffusion._json import changed_identity

    identity = {"config": {"model": {"beta": 0.1}}, "seed": 3}
    assert changed_identity({**identity, "version": "0.0"}, identity) == ""
    assert changed_identity({"config": {"model": {"beta": 0.2}}, "seed": 3}, identity) == (
        "config.model.beta"
    )
    assert changed_identity({}, identity) == "config, seed"
