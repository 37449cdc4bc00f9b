"""``diffusion --help`` starts fast: the command line does not import the heavy libraries.

igraph (which loads matplotlib for its drawing module), Dask's distributed, matplotlib, scipy and
pyarrow are imported where they are used (``diffusion._lazy``, function-level imports), not when
the command line is. Checked in a fresh interpreter: this test session has imported them.
"""

import json
import subprocess
import sys

HEAVY = ("igraph", "distributed", "matplotlib", "scipy", "pyarrow")


def imported_by(statement: str) -> list[str]:
    code = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    modules = json.loads(done.stdout)
    return [name for name in HEAVY if name in modules]


def test_importing_the_command_line_imports_no_heavy_library():
    assert imported_by("import diffusion.cli") == []


def test_building_a_network_imports_igraph_when_it_is_needed():
    # The check above cannot pass merely because igraph is never imported at all.
    statement = "import diffusion; diffusion.Network.erdos_renyi(50, mean_degree=4, seed=1)"
    assert "igraph" in imported_by(statement)
