"""Experiment configs: TOML parsing, validation errors naming the field, overrides and hashes."""

from pathlib import Path

import pytest

from diffusion import Network, Params
from diffusion.config import ConfigError, ExperimentConfig, load_config, validate_config

BASE = """
[network]
type = "erdos_renyi"
n = 500
mean_degree = 6
seed = 2

[model]
beta = 0.1
gamma = 0.2
delta = 0.02
campaigns = [{start = 5, end = 9, delta = 0.1}]

[model.media.usb]
concealment = 0.5

[run]
replicates = 3
seed = 7
seeds = 5
"""


def write(tmp_path: Path, text: str, name: str = "exp.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def errors(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    return info.value.lines


def test_a_valid_config_resolves_every_section(tmp_path):
    config = load_config(write(tmp_path, BASE))
    assert isinstance(config.model, Params)
    assert config.model.media["usb"].concealment == 0.5
    assert config.model.campaigns[0].delta == 0.1
    assert (config.run.replicates, config.run.seed, config.run.seeds, config.run.steps) == (
        3,
        7,
        5,
        None,
    )
    assert config.sweep is None and config.cluster.type == "local"
    network = config.network.build()
    assert isinstance(network, Network) and network.n_nodes == 500
    assert network == Network.erdos_renyi(500, 6, seed=2)


@pytest.mark.parametrize(
    ("edit", "line"),
    [
        (("beta = 0.1", "beta = 1.7"), "model.beta: 1.7 is not in [0, 1]"),
        (("replicates = 3", "replicates = -3"), "run.replicates: -3 is not in [1, 1000000]"),
        (("[run]", "[run]\nsteps = 'ten'"), "run.steps: 'ten' is not an integer"),
        (("gamma = 0.2", "gamma = 0.2\nfoo = 1"), "model.foo: unknown key"),
        (
            ("concealment = 0.5", "concealment = -0.5"),
            "model.media.usb.concealment: -0.5 is not in [0, 1000]",
        ),
        (("n = 500", "n = -500"), "network.n: -500 is not in [1, 2147483647]"),
        (("end = 9, delta = 0.1", "end = 9, delta = 2"), "model.campaigns.0.delta: 2 is not in"),
        (("end = 9", "end = 3"), "model.campaigns.0: end (3) must be >= start (5)"),
        (('type = "erdos_renyi"', 'type = "lattice"'), "network.type: 'lattice' is not one"),
        (("seeds = 5", "seeds = 501"), "run.seeds: 501 is not an integer in [0, 500]"),
        (("[run]", "[output]\nx = 1\n[run]"), "output: unknown key"),
        # no silent conversions (issue 20, C7): a number is no date, a quoted date no date
        (("end = 9,", "end = 315532800,"), "model.campaigns.0.end: 315532800 must be <= 10000000"),
        (
            ("gamma = 0.2", 'gamma = 0.2\nstart = "2000-01-01"'),
            "model.start: '2000-01-01' is not a date (TOML dates are unquoted",
        ),
        (("gamma = 0.2", "gamma = 0.2\nstart = 946684800"), "model.start: 946684800 is not a date"),
    ],
)
def test_each_mistake_gives_one_line_naming_the_field(tmp_path, edit, line):
    lines = errors(tmp_path, BASE.replace(*edit))
    assert len(lines) == 1
    assert lines[0].startswith(line)


def test_several_mistakes_are_all_reported(tmp_path):
    text = BASE.replace("beta = 0.1", "beta = 1.7").replace("replicates = 3", "replicates = 0")
    assert errors(tmp_path, text) == [
        "model.beta: 1.7 is not in [0, 1]",
        "run.replicates: 0 is not in [1, 1000000]",
    ]


def test_steps_are_required_when_holders_never_stop(tmp_path):
    text = BASE.replace("gamma = 0.2", "gamma = 0").replace("delta = 0.02", "delta = 0")
    (line,) = errors(tmp_path, text)
    assert line.startswith("run.steps: required")
    assert load_config(write(tmp_path, text.replace("[run]", "[run]\nsteps = 30"))).run.steps == 30


def test_not_toml_and_missing_file(tmp_path):
    (line,) = errors(tmp_path, "[network\ntype=1")
    assert "not valid TOML" in line
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "absent.toml")


def test_file_network_relative_to_the_config_and_missing_file(tmp_path):
    generated = 'type = "erdos_renyi"\nn = 500\nmean_degree = 6\nseed = 2'
    (tmp_path / "nets").mkdir()
    (tmp_path / "nets" / "g.txt").write_text("0 1 1\n1 2 0.5\n2 3 1\n")
    text = BASE.replace(generated, 'type = "file"\npath = "nets/g.txt"').replace("seeds = 5", "")
    network = load_config(write(tmp_path, text)).network.build()
    assert (network.n_nodes, network.n_edges) == (4, 3)
    lines = errors(tmp_path, text.replace("nets/g.txt", "x.txt"))
    assert lines == ["network.path: no such file: x.txt"]


def test_content_hash_follows_the_network_section_and_file_contents(tmp_path):
    config = load_config(write(tmp_path, BASE))
    same = load_config(write(tmp_path, BASE.replace("beta = 0.1", "beta = 0.3"), "b.toml"))
    other = load_config(write(tmp_path, BASE.replace("seed = 2", "seed = 3"), "c.toml"))
    assert config.content_hash() == same.content_hash() != other.content_hash()
    edges = tmp_path / "g.txt"
    edges.write_text("0 1\n1 2\n")
    data = {"network": {"type": "file", "path": str(edges)}, "model": {"beta": 0.1, "gamma": 0.1}}
    before = validate_config(data).content_hash()
    assert validate_config(data).content_hash() == before
    edges.write_text("0 1\n1 2\n2 0\n")
    assert validate_config(data).content_hash() != before


def test_overrides_apply_dotted_paths_and_validate_again(tmp_path):
    config = load_config(write(tmp_path, BASE))
    changed = config.with_overrides({"model.delta": 0.05, "model.media.usb.concealment": 0.2})
    assert isinstance(changed, ExperimentConfig)
    assert (changed.model.delta, changed.model.media["usb"].concealment) == (0.05, 0.2)
    assert config.model.delta == 0.02  # the original is untouched
    assert changed.with_overrides({"network.n": 800}).network.build().n_nodes == 800
    with pytest.raises(ConfigError, match=r"model.delta: 1.5 is not in \[0, 1\]"):
        config.with_overrides({"model.delta": 1.5})
    with pytest.raises(ConfigError, match="model.nope: no such parameter"):
        config.with_overrides({"model.nope": 1})


SWEEP = """
[sweep]
design = "grid"
seed = 3
[sweep.parameters]
"model.delta" = {low = 0.0, high = 0.2, num = 3}
"model.media.usb.concealment" = [0.2, 1.0]
"""


def test_sweep_section_and_its_defaults(tmp_path):
    config = load_config(write(tmp_path, BASE + SWEEP))
    assert config.sweep.replicates == config.run.replicates == 3
    assert config.sweep.parameters["model.delta"].num == 3
    assert config.sweep.parameters["model.media.usb.concealment"] == [0.2, 1.0]
    assert not config.sweep.time_series


@pytest.mark.parametrize(
    ("edit", "line"),
    [
        (('"model.delta"', '"model.deltaa"'), "sweep.parameters.model.deltaa: no such parameter"),
        (
            ("[0.2, 1.0]", "[0.2, -1.0]"),
            "sweep.parameters.model.media.usb.concealment: -1.0 is not",
        ),
        ((", num = 3}", "}"), "sweep.parameters.model.delta.num: required for a grid design"),
        (('"grid"', '"lhs"'), "sweep.points: required for a lhs design"),
        (('"grid"', '"sobol"'), "sweep.design: 'sobol' is not one of"),
        (("high = 0.2", "high = -0.2"), "sweep.parameters.model.delta: high (-0.2) must be >="),
        (('"model.delta"', '"run.seed"'), "sweep.parameters.run.seed: must start with"),
    ],
)
def test_sweep_mistakes_name_the_parameter(tmp_path, edit, line):
    lines = errors(tmp_path, BASE + SWEEP.replace(*edit))
    assert len(lines) == 1 and lines[0].startswith(line)


@pytest.mark.parametrize(
    ("section", "line"),
    [
        ('type = "slurm"', "cluster.memory: required for a slurm cluster"),
        ('type = "slurm"\nmemory = "lots"', "cluster.memory: 'lots' is not a memory size"),
        ('walltime = "soon"', "cluster.walltime: 'soon' is not a walltime"),
        ("jobs = 0", "cluster.jobs: 0 is not in [1, 10000]"),
        ('type = "k8s"', "cluster.type: 'k8s' is not one of"),
    ],
)
def test_cluster_mistakes(tmp_path, section, line):
    lines = errors(tmp_path, BASE + "\n[cluster]\n" + section + "\n")
    assert len(lines) == 1 and lines[0].startswith(line)


def test_cluster_for_slurm(tmp_path):
    text = BASE + '\n[cluster]\ntype = "slurm"\nqueue = "short"\ncores = 8\nmemory = "16GB"\n'
    cluster = load_config(write(tmp_path, text)).cluster
    assert (cluster.type, cluster.queue, cluster.cores, cluster.memory) == (
        "slurm",
        "short",
        8,
        "16GB",
    )


def test_overrides_index_lists(tmp_path):
    config = load_config(write(tmp_path, BASE))
    changed = config.with_overrides({"model.campaigns.0.delta": 0.3})
    assert changed.model.campaigns[0].delta == 0.3 and config.model.campaigns[0].delta == 0.1
    with pytest.raises(ConfigError, match="model.campaigns.1.delta: no such parameter"):
        config.with_overrides({"model.campaigns.1.delta": 0.3})


EXPERIMENTS = sorted((Path(__file__).parents[1] / "experiments").glob("*.toml"))


@pytest.mark.parametrize("path", EXPERIMENTS, ids=lambda p: p.name)
def test_every_experiment_is_valid_and_says_what_it_asks(path):
    config = load_config(path)
    assert config.steps() is not None  # a fixed horizon, the same for every replicate
    header = path.read_text().split("[network]")[0]
    assert header.startswith("# ") and "Question:" in header
    assert "docs/sources.md" in header and "[S" in header  # sources cited from the docs
    for name, values in (config.sweep.parameters if config.sweep else {}).items():
        for value in values:  # every grid value of the sweep makes a valid scenario
            assert isinstance(config.with_overrides({name: value}), ExperimentConfig)


def test_the_experiments_are_all_there():
    names = {p.name for p in EXPERIMENTS}
    assert {
        "baseline.toml",
        "crackdown.toml",
        "travel-restriction.toml",
        "usb-vs-dvd.toml",
    } <= names
    assert "country.toml" in names
