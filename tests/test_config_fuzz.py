"""Fuzzing the config loader (issue 11): random TOML values in every field give either a valid
config or a ``ConfigError`` whose lines each name a field in one short, printable line; never
another exception. Bounded to 200 examples (a few seconds)."""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from diffusion.config import (
    ConfigError,
    ErdosRenyiNetwork,
    ExperimentConfig,
    RunConfig,
    load_config,
)
from diffusion.params import Medium, Params
from diffusion.sweep.config import ClusterConfig, SweepConfig

BASE = {
    "network": {"type": "erdos_renyi", "n": 100, "mean_degree": 4, "seed": 1},
    "model": {"beta": 0.1, "gamma": 0.2, "campaigns": [{"start": 2, "end": 5, "delta": 0.1}]},
    "run": {"replicates": 2, "seed": 3, "seeds": 2},
    "sweep": {"replicates": 2, "parameters": {"model.delta": [0.0, 0.1]}},
    "cluster": {"type": "local"},
}
FIELDS = (
    [("network", f) for f in ErdosRenyiNetwork.model_fields]
    + [("model", f) for f in Params.model_fields]
    + [("model", m, f) for m in ("usb", "dvd") for f in Medium.model_fields]
    + [("model", "campaigns", 0, f) for f in ("start", "end", "delta")]
    + [("run", f) for f in RunConfig.model_fields]
    + [("sweep", f) for f in SweepConfig.model_fields]
    + [("sweep", "parameters", "model.beta"), ("sweep", "parameters", "network.n")]
    + [("cluster", f) for f in ClusterConfig.model_fields]
    + [(section,) for section in ExperimentConfig.model_fields]
)

scalars = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.booleans(),
    st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31)),
    st.dates(),
    st.sampled_from(["grid", "lhs", "random", "local", "slurm", "edge", "group", "1GB"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(["low", "high", "num", "start", "x"]), inner, max_size=3),
    ),
    max_leaves=8,
)


def toml_value(value) -> str:
    """``value`` as a TOML value (inline tables and arrays for containers)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return ("-inf" if value < 0 else "inf") if math.isinf(value) else repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a TOML basic string
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


def with_field(data: dict, path: tuple, value) -> dict:
    """A copy with ``value`` at ``path`` (missing tables created; a path through a value that an
    earlier change made a scalar is left alone)."""
    result = copy.deepcopy(data)
    node = result
    for key in path[:-1]:
        if isinstance(node, dict):
            node = node.setdefault(key, {})
        elif isinstance(node, list) and isinstance(key, int) and key < len(node):
            node = node[key]
        else:
            return result
    if isinstance(node, dict) or (
        isinstance(node, list) and isinstance(path[-1], int) and path[-1] < len(node)
    ):
        node[path[-1]] = value
    return result


def toml_text(data: dict) -> str:
    return "\n".join(
        f"[{section}]\n" + "\n".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in body.items())
        if isinstance(body, dict)
        else f"{section} = {toml_value(body)}"
        for section, body in sorted(data.items(), key=lambda item: isinstance(item[1], dict))
    )


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(changes=st.lists(st.tuples(st.sampled_from(FIELDS), values), min_size=1, max_size=3))
def test_random_values_give_a_config_or_one_line_per_problem(tmp_path: Path, changes) -> None:
    data = BASE
    for path, value in changes:
        data = with_field(data, path, value)
    config = tmp_path / "fuzz.toml"
    config.write_text(toml_text(data), encoding="utf-8")
    try:
        load_config(config)
    except ConfigError as exc:
        assert exc.lines
        for line in exc.lines:
            assert line and "\n" not in line and len(line) < 400, line
            assert line.isprintable(), line
            head = line.partition(":")[0]
            assert head and " " not in head.replace(str(config), ""), line
