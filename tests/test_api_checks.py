"""API argument checks (issue 11, item 10): a wrong argument is a TypeError or ValueError that
names it, raised before any work.

``diffusion._checks.check_simulate_args`` is what ``simulate`` calls first; the tests marked
``simulate`` call ``simulate`` itself and expect the same errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from diffusion import Network, Params, simulate
from diffusion._checks import MAX_STEPS, check_simulate_args

NET = Network.erdos_renyi(50, 4, seed=1)
PARAMS = Params(beta=0.1, gamma=0.2)

BAD = [
    ({"rng": "abc"}, TypeError, "rng: expected an integer seed"),
    ({"rng": 1.5}, TypeError, "rng: expected an integer seed"),
    ({"rng": -1}, ValueError, r"rng: -1 is not an integer seed in \[0, 2\*\*64\)"),
    ({"rng": 2**64}, ValueError, "rng: 18446744073709551616 is not"),
    ({"steps": math.inf}, ValueError, r"steps: inf is not an integer in \[0, "),
    ({"steps": float("nan")}, ValueError, "steps: nan is not an integer"),
    ({"steps": 2.5}, ValueError, "steps: 2.5 is not an integer"),
    ({"steps": MAX_STEPS + 1}, ValueError, f"steps: {MAX_STEPS + 1} is not an integer"),
    ({"steps": "10"}, TypeError, "steps: expected an integer or None, got str"),
    ({"steps": True}, TypeError, "steps: expected an integer or None, got bool"),
    ({"params": {"beta": 0.1, "gamma": 0.2}}, TypeError, r"params: expected a diffusion.Params"),
    ({"world": [[0, 1]]}, TypeError, "world: expected a diffusion.Network or Population"),
]


def arguments(change: dict) -> dict:
    return {"world": NET, "params": PARAMS, "rng": 1, "steps": None, **change}


@pytest.mark.parametrize(("change", "error", "message"), BAD)
def test_check_simulate_args_names_the_argument(change, error, message):
    with pytest.raises(error, match=message):
        check_simulate_args(**arguments(change))


@pytest.mark.simulate
@pytest.mark.parametrize(("change", "error", "message"), BAD)
def test_simulate_names_the_argument(change, error, message):
    args = arguments(change)
    with pytest.raises(error, match=message):
        simulate(args.pop("world"), args.pop("params"), seeds=2, **args)


@pytest.mark.parametrize(
    "rng",
    [None, 0, 2**64 - 1, np.uint64(5), np.random.SeedSequence(1), np.random.default_rng(1),
     np.random.PCG64(1)],
)  # fmt: skip
def test_good_arguments_pass(rng):
    check_simulate_args(NET, PARAMS, rng, None)
    check_simulate_args(NET, PARAMS, rng, 10)
    check_simulate_args(NET, PARAMS, rng, 10.0)
