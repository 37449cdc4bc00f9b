"""Ctrl-C during a sweep, as a terminal sends it: to the whole process group, repeatedly.

Only the friendly "interrupted ... run the same command again to resume" line may show: no
traceback from the command, from Dask, or from a worker process killed while it started.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

SCRIPT = Path(sys.executable).with_name("diffusion")

CONFIG = """
[network]
type = "erdos_renyi"
n = 20000
mean_degree = 6
seed = 3

[model]
beta = 0.1
gamma = 0.2
delta = 0.02

[run]
replicates = 20
seed = 9
seeds = 5

[sweep]
design = "grid"
seed = 1
[sweep.parameters]
"model.delta" = {low = 0.0, high = 0.05, num = 40}
"""


def test_ctrl_c_while_the_cluster_starts_and_runs_prints_one_line(tmp_path: Path) -> None:
    config = tmp_path / "sweep.toml"
    config.write_text(CONFIG)
    out = tmp_path / "out"
    process = subprocess.Popen(
        [str(SCRIPT), "sweep", str(config), "--out", str(out), "--workers", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, like a terminal's foreground job
    )
    deadline = time.monotonic() + 120
    while not (out / "sweep.json").exists() and process.poll() is None:
        assert time.monotonic() < deadline, "the sweep never started"
        time.sleep(0.05)
    # From the moment the command has prepared the folder: while the local cluster starts its
    # workers, then while points run, Ctrl-C every 0.2 s until the command is gone.
    while process.poll() is None:
        assert time.monotonic() < deadline, "Ctrl-C did not stop the sweep"
        os.killpg(process.pid, signal.SIGINT)
        time.sleep(0.2)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    lines = [line for line in stderr.splitlines() if " points done (" not in line]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("sweep: interrupted with ") and lines[0].endswith(
        "run the same command again to resume"
    )
