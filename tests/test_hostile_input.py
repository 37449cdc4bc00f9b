"""Hostile input (issue 11, items 7-10): every mistake is one clear line with exit status 2, no
traceback, no memory spent before the check, no file content echoed, nothing coerced silently."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from diffusion import Network, build_population
from diffusion.cli import main

BASE = """
[network]
type = "erdos_renyi"
n = 300
mean_degree = 4
seed = 1

[model]
beta = 0.1
gamma = 0.2

[run]
replicates = 2
seed = 7
seeds = 2
"""

FILE_NETWORK = """
[network]
type = "file"
path = "{path}"

[model]
beta = 0.1
gamma = 0.2
"""


def invoke(*args) -> object:
    return CliRunner().invoke(main, [str(a) for a in args])


def problems(result) -> list[str]:
    """The lines of an error report on stderr, without the config header."""
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert "Traceback" not in result.output
    lines = [line.strip() for line in result.stderr.splitlines()]
    return [line for line in lines if line and line != "error: the config is not valid:"]


def run_config(tmp_path: Path, text: str, name: str = "c.toml") -> list[str]:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    result = invoke("run", path, "--out", tmp_path / "out", "--quiet")
    assert not (tmp_path / "out").exists()
    return problems(result)


# ---------------------------------------------------------------------------------- item 7
@pytest.mark.parametrize(
    ("text", "line"),
    [
        (b"\x00\xff\xfe\x80binary", "not a text file (not valid UTF-8)"),
        (BASE + "x = " + "{a=" * 500 + "1" + "}" * 500, "nested too deeply"),
        (BASE.replace("seeds = 2", "seeds = [1, 1]"), "run.seeds: agent id 1 is listed twice"),
        (
            BASE.replace("seed = 7", "seed = 18446744073709551616"),
            "run.seed: 18446744073709551616 is not in [0, 9223372036854775808)",
        ),
        (BASE.replace("seed = 7", "seed = 9223372036854775808"), "run.seed: 9223372036854775808"),
        (
            BASE.replace("[run]", "[run]\nsteps = 100000000000"),
            "run.steps: 100000000000 must be <= 10000000",
        ),
        (BASE.replace("replicates = 2", "replicates = 10_000_000"), "run.replicates: 10000000"),
    ],
)
def test_config_mistakes_are_one_line_exit_2(tmp_path, text, line):
    lines = run_config(tmp_path, text)
    assert len(lines) == 1 and line in lines[0], lines


def test_a_seed_just_below_2_63_runs_and_is_stored_exactly(tmp_path):
    import pyarrow.parquet as pq

    path = tmp_path / "c.toml"
    path.write_text(BASE.replace("seed = 7", f"seed = {2**63 - 1}"))
    result = invoke("run", path, "--out", tmp_path / "out", "--quiet")
    assert result.exit_code == 0, result.output
    assert pq.read_table(tmp_path / "out" / "summary.parquet")["seed"][0].as_py() == 2**63 - 1


@pytest.mark.parametrize(
    ("content", "suffix"),
    [
        (
            '<?xml version="1.0"?><graphml><graph edgedefault="undirected"><node id="a"/>',
            ".graphml",
        ),
        ("root:*:19000:0:99999:7:::\nsecret-token-1234\n", ".graphml"),
        (
            '<?xml version="1.0"?><graphml xmlns="http://graphml.graphdrawing.org/xmlns">'
            '<key id="t" for="edge" attr.name="trust" attr.type="double"/>'
            '<graph edgedefault="undirected"><node id="a"/><node id="b"/>'
            '<edge source="a" target="b"><data key="t">1e308000</data></edge></graph></graphml>',
            ".graphml",
        ),
        ("root:*:19000:0:99999:7:::\nsecret-token-1234 x\n", ".txt"),
        ("0 1\n1 2 secret-token-1234\n", ".txt"),
    ],
)
def test_unreadable_network_files_are_one_line_without_their_content(tmp_path, content, suffix):
    (tmp_path / f"net{suffix}").write_text(content)
    lines = run_config(tmp_path, FILE_NETWORK.format(path=f"net{suffix}"))
    assert len(lines) == 1 and lines[0].startswith("network.path: cannot read"), lines
    assert "root:" not in lines[0] and "secret" not in lines[0] and "1e308000" not in lines[0]


def forged_population(tmp_path: Path, name: str, edit) -> Path:
    """A real saved population with one array replaced by ``edit(arrays)``."""
    good = tmp_path / "good.npz"
    if not good.exists():
        build_population(2000, seed=1).save(good)
    path = tmp_path / name
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(path, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, edit(info.filename, src.read(info)))
    return path


def npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def test_network_info_on_a_file_with_edge_kind_250_is_one_line(tmp_path):
    def kind_250(name, data):
        if name != "network_kind.npy":
            return data
        kinds = np.load(io.BytesIO(data)).copy()
        kinds[0] = 250
        return npy(kinds)

    path = forged_population(tmp_path, "kind.npz", kind_250)
    lines = problems(invoke("network", "info", path))
    assert len(lines) == 1 and "kind: 250 is not a known edge kind" in lines[0]


def test_npz_header_claiming_10_12_elements_is_refused_before_loading(tmp_path):
    def bomb(name, data):
        if name != "household.npy":
            return data
        buffer = io.BytesIO()
        header = {"descr": "<i4", "fortran_order": False, "shape": (10**12,)}
        np.lib.format.write_array_header_1_0(buffer, header)
        return buffer.getvalue() + b"\0" * 64

    path = forged_population(tmp_path, "bomb.npz", bomb)
    lines = run_in_child(["network", "info", path], address_space=2 << 30)
    assert "declares 4000000000000 bytes but the file holds 64" in lines


def test_out_under_a_file_or_unwritable_is_refused_before_computing(tmp_path):
    (tmp_path / "afile").write_text("x")
    (tmp_path / "c.toml").write_text(BASE.replace("replicates = 2", "replicates = 1000"))
    start = time.perf_counter()
    result = invoke("run", tmp_path / "c.toml", "--out", tmp_path / "afile" / "out")
    assert problems(result) == [f"Error: --out: {tmp_path / 'afile'} is a file, not a folder"]
    assert time.perf_counter() - start < 5  # 1000 replicates would take far longer


def test_out_on_a_read_only_file_system_is_refused_before_computing(tmp_path):
    """As root: a read-only tmpfs in a private mount namespace (``unshare -m``); otherwise a
    folder without write permission."""
    config = tmp_path / "c.toml"
    config.write_text(BASE.replace("replicates = 2", "replicates = 1000"))
    place = tmp_path / "ro"
    place.mkdir()
    code = "from diffusion.cli import main; main()"
    if os.geteuid() == 0:
        if shutil.which("unshare") is None:
            pytest.skip("root without unshare: no way to make a read-only file system")
        script = 'mount -t tmpfs -o ro tmpfs "$1" && shift && exec "$@"'
        command = ["unshare", "-m", "sh", "-c", script, "sh", str(place)]
    else:
        place.chmod(0o555)
        command = []
    start = time.perf_counter()
    proc = subprocess.run(
        [*command, sys.executable, "-c", code, "run", str(config), "--out", str(place / "out")],
        capture_output=True,
        text=True,
    )
    place.chmod(0o755)
    if os.geteuid() == 0 and "mount" in proc.stderr and proc.returncode != 2:
        pytest.skip(f"cannot mount a read-only file system here: {proc.stderr.strip()}")
    assert proc.returncode == 2, proc.stderr
    assert "--out: cannot write beside" in proc.stderr and "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1 and time.perf_counter() - start < 30


def test_network_build_checks_out_before_building(tmp_path):
    (tmp_path / "afile").write_text("x")
    (tmp_path / "c.toml").write_text(BASE)
    result = invoke("network", "build", tmp_path / "c.toml", "--out", tmp_path / "afile" / "n.txt")
    assert len(problems(result)) == 1 and "building" not in result.stderr


# ---------------------------------------------------------------------------------- item 8
@pytest.mark.parametrize(
    ("edit", "line"),
    [
        (("beta = 0.1", 'beta = "0.1"'), "model.beta: '0.1' is not a number"),
        (("beta = 0.1", "beta = true"), "model.beta: true is not a number"),
        (("[run]", "[run]\nsteps = true"), "run.steps: true is not an integer"),
        (("replicates = 2", 'replicates = "2"'), "run.replicates: '2' is not an integer"),
        (("mean_degree = 4", 'mean_degree = "4"'), "network.mean_degree: '4' is not a number"),
        (("seeds = 2", "seeds = [2, true]"), "run.seeds.1: true is not an integer"),
    ],
)
def test_quoted_numbers_and_booleans_are_refused_naming_the_field(tmp_path, edit, line):
    assert run_config(tmp_path, BASE.replace(*edit)) == [line]


def test_toml_arrays_still_fill_tuple_fields(tmp_path):
    text = BASE.replace(
        "gamma = 0.2", "gamma = 0.2\ncampaigns = [{start = 2, end = 5, delta = 0.1}]"
    )
    (tmp_path / "c.toml").write_text(text)
    assert invoke("run", tmp_path / "c.toml", "--out", tmp_path / "o", "--quiet").exit_code == 0


# ---------------------------------------------------------------------------------- item 9
def run_in_child(args: list, address_space: int, timeout: float = 60) -> str:
    """``diffusion ARGS`` in a child limited to ``address_space`` bytes; its stderr (exit 2)."""
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
    proc = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "MemoryError" not in proc.stderr
    return proc.stderr


def test_a_population_larger_than_memory_is_refused_saying_what_it_needs(tmp_path):
    (tmp_path / "c.toml").write_text(
        BASE.replace(
            'type = "erdos_renyi"\nn = 300\nmean_degree = 4', 'type = "population"'
        ).replace("[network]", "[network]\nn_agents = 20_000_000")
    )
    start = time.perf_counter()
    err = run_in_child(["run", tmp_path / "c.toml", "--out", tmp_path / "o"], 3 << 30)
    assert "the population network of 20000000 agents and 86 steps x 200 regions" in err
    assert "needs about 3.5 GiB of memory" in err
    assert time.perf_counter() - start < 30 and not (tmp_path / "o").exists()


def test_an_edge_list_id_beyond_int32_is_refused_before_allocating(tmp_path):
    for line, bad in (("2147483648 1", "2147483648"), ("9223372036854775807 1", "2**63-1")):
        (tmp_path / "net.txt").write_text(f"0 1\n{line}\n")
        (tmp_path / "c.toml").write_text(FILE_NETWORK.format(path="net.txt"))
        err = run_in_child(["run", tmp_path / "c.toml", "--out", tmp_path / "o"], 2 << 30)
        number = line.split()[0]
        assert f"agent id {number} is out of range [0, 2147483646]" in err, bad


def test_an_edge_list_needing_more_memory_than_available_says_so(tmp_path):
    (tmp_path / "net.txt").write_text("0 1\n2000000000 1\n")  # 2e9 agents: 16 GB of offsets
    (tmp_path / "c.toml").write_text(FILE_NETWORK.format(path="net.txt"))
    err = run_in_child(["run", tmp_path / "c.toml", "--out", tmp_path / "o"], 2 << 30)
    assert "a network of 2000000001 agents and 2 ties needs about 14.9 GiB" in err


# ---------------------------------------------------------------------------------- item 10
def test_long_values_are_cut_and_control_characters_escaped(tmp_path):
    long = BASE.replace("beta = 0.1", 'beta = "' + "x" * 10**6 + '"')
    [line] = run_config(tmp_path, long)
    assert line.startswith("model.beta: 'xxxx") and line.endswith("... is not a number")
    assert len(line) < 120
    control = BASE.replace("seeds = 2", 'seeds = ["a\\u202eb\\u001b[31m\\u0007"]')
    [line] = run_config(tmp_path, control, "d.toml")
    assert line == "run.seeds.0: 'a\\u202eb\\x1b[31m\\x07' is not an integer"


def test_agent_id_2_63_minus_1_is_reported_as_written(tmp_path):
    text = BASE.replace("seeds = 2", f"seeds = [{2**63 - 1}]")
    assert run_config(tmp_path, text) == ["run.seeds.0: 9223372036854775807 must be < 2147483647"]


def test_config_never_echoes_the_file_a_network_path_points_at(tmp_path):
    (tmp_path / "shadow").write_text("root:*:19000:0:99999:7:::\n")
    [line] = run_config(tmp_path, FILE_NETWORK.format(path="shadow"))
    assert "root:" not in line and "19000" not in line


# ---------------------------------------------------------------------------------- API
def test_network_arrays_are_read_only_and_the_kernels_accept_them():
    from diffusion import Params, simulate
    from diffusion.simulate import FULL_MODEL_ENGINES

    net = Network.erdos_renyi(500, 6, seed=1)
    for name in Network.ARRAYS:
        with pytest.raises(ValueError, match="read-only"):
            getattr(net, name)[:] = 10**9 if name != "trust" else 2.0
    for engine in FULL_MODEL_ENGINES:
        result = simulate(
            net,
            Params(beta=0.2, gamma=0.2, mix={"usb": 1, "dvd": 1}),
            seeds=3,
            rng=1,
            steps=20,
            engine=engine,
        )
        assert result.counts[-1].sum() == 500
    assert simulate(net, Params(beta=0.2, gamma=0.2), seeds=3, rng=1).final["S"] < 500
    import pickle

    again = pickle.loads(pickle.dumps(net))
    assert again == net and not again.neighbours.flags.writeable


def test_the_callers_arrays_are_not_made_read_only(tmp_path):
    offsets = np.array([0, 1, 2], dtype=np.int64)
    neighbours = np.array([1, 0], dtype=np.int32)
    net = Network.from_csr(offsets, neighbours)
    assert offsets.flags.writeable and not net.offsets.flags.writeable


@pytest.mark.parametrize(
    ("offsets", "neighbours", "trust", "message"),
    [
        ([0, 1, 1], [1], None, "not symmetric"),
        ([0, 1, 2], [0, 1], None, "self-loop"),
        ([0, 2, 3, 4], [2, 1, 0, 0], None, "sorted"),
        ([0, 2, 3, 4], [1, 1, 0, 0], None, "sorted"),
        ([0, 1, 2], [1, 5], None, r"agent ids must be in \[0, 1\]"),
        ([0, 1, 3], [1, 0], None, "offsets: must"),
        ([0, 1, 2], [1, 0], [0.5, 0.7], "not symmetric"),
        ([0, 1, 2], [1, 0], [0.5, 1.5], r"trust: 1.5 is not in \(0, 1\]"),
    ],
)
def test_csr_constructors_check_consistency(offsets, neighbours, trust, message):
    with pytest.raises(ValueError, match=message):
        Network.from_csr(offsets, neighbours, trust)


def test_direct_construction_is_checked_too():
    bad = (
        np.array([0, 1, 2], np.int64),
        np.array([1, 7], np.int32),
        np.ones(2, np.float32),
        np.zeros(2, np.uint8),
    )
    with pytest.raises(ValueError, match="agent ids"):
        Network(*bad)
    with pytest.raises(ValueError, match="kind: 250"):
        Network(bad[0], np.array([1, 0], np.int32), bad[2], np.full(2, 250, np.uint8))


def test_from_edges_argument_errors_name_the_argument():
    with pytest.raises(TypeError, match="n: expected an integer"):
        Network.from_edges("abc", [])
    with pytest.raises(TypeError, match="n: expected an integer"):
        Network.from_edges(1.5, [])
    assert Network.from_edges(1, []).n_nodes == 1  # an empty list is no edges, not float64
    with pytest.raises(ValueError, match=r"n: 4294967296 is not in \[1, 2147483647\]"):
        Network.from_edges(2**32, [])


def test_ulimit_v_counts_as_the_memory_available():
    """The limit of ``ulimit -v`` bounds the memory seen as available (child with RLIMIT_AS)."""
    code = (
        "import resource; resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30));"
        "from diffusion._memory import available_bytes; print(available_bytes())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert 0 < int(out.stdout) < 2 << 30
