"""The scenarios that take the fit carry its posterior medians: what docs/apply_fit.py writes from
the committed posterior is what the files hold, and the values load as the config's fields."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from diffusion.config import load_config

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("apply_fit", ROOT / "docs" / "apply_fit.py")
apply_fit = importlib.util.module_from_spec(spec)
spec.loader.exec_module(apply_fit)


def test_the_calibrated_scenario_holds_the_posterior_medians():
    """``make docs-data`` rewrites it; a hand edit or a newer fit not applied fails here."""
    committed = apply_fit.CALIBRATED.read_text(encoding="utf-8")
    assert committed == apply_fit.calibrated_text(), "run python docs/apply_fit.py"


def test_the_strategy_experiment_holds_the_fitted_behaviour():
    committed = apply_fit.STRATEGY.read_text(encoding="utf-8")
    assert committed == apply_fit.strategy_text(), "run python docs/apply_fit.py"


def value_at(config, path: str):
    """The value at dotted ``path`` of a loaded config (a number indexes a list)."""
    node = config.resolved()
    for key in path.split("."):
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node


def test_the_written_values_are_the_fields_the_configs_load():
    medians = apply_fit.medians()
    calibrated = load_config(apply_fit.CALIBRATED)
    strategy = load_config(apply_fit.STRATEGY)
    assert medians, "the posterior has no parameters"
    for path, (median, _, _) in medians.items():
        expected = float(apply_fit.number(median))
        assert value_at(calibrated, path) == expected, path
        if path in apply_fit.STRATEGY_PATHS:
            assert value_at(strategy, apply_fit.STRATEGY_PATHS[path]) == expected, path


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("model.beta", 0.0123456, "beta = 0.0123  # c"),
        ("model.entry.1.rate", 7.0, "{ start = 1, rate = 7.0 }"),
        ("model.public.0.p", 0.25, "p = 0.25 }]"),
    ],
)
def test_set_value_replaces_exactly_the_named_value(path, value, expected):
    text = (
        "beta = 0.01  # c\nentry = [\n    { start = 0, rate = 1.0 },  # [E5]\n"
        "    { start = 1, rate = 2.0 },\n]\n"
        "public = [{ start = 2, p = 0.0 }]\n"
    )
    new = apply_fit.set_value(text, path, value)
    assert expected in new
    assert len(new.splitlines()) == len(text.splitlines())
    assert sum(a != b for a, b in zip(new.splitlines(), text.splitlines(), strict=True)) == 1


def test_set_value_refuses_a_value_that_is_not_there():
    with pytest.raises(ValueError, match="model.gamma"):
        apply_fit.set_value("beta = 0.01\n", "model.gamma", 0.1)
    with pytest.raises(ValueError, match="has 1 entries"):
        apply_fit.set_value("entry = [{ rate = 1.0 }]\n", "model.entry.3.rate", 0.1)
