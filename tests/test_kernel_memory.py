"""Running out of memory inside a kernel raises MemoryError and stops the run (no crash, no
partial result), checked in a child process whose address space is capped just above its use."""

import subprocess
import sys

import pytest

CHILD = """
import resource
import diffusion

net = diffusion.Network.from_edges(2, [[0, 1]])
with open("/proc/self/status") as status:
    used = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize"))
limit = used + (300 << 20)
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
# Holders removed after ~10**9 steps on average: the kernel's per-step tables outgrow the cap.
params = diffusion.Params(beta=0.0, gamma=1e-9)
try:
    result = diffusion.simulate(net, params, seeds=[0], rng=1, engine="{engine}")
except MemoryError as error:
    print("MemoryError:", error)
else:
    print("returned", result.steps)
"""


@pytest.mark.parametrize("engine", ["event", "calendar", "step"])
def test_a_kernel_out_of_memory_raises_memory_error(engine):
    proc = subprocess.run(
        [sys.executable, "-c", CHILD.format(engine=engine)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("MemoryError"), proc.stdout + proc.stderr[-2000:]
    assert "Exception ignored" not in proc.stderr
