"""Our kernel and the numpy baseline as timed jobs: prepare a run (untimed), then run it."""

from __future__ import annotations

import numpy as np

import diffusion
from benchmarks.harness import Job, Outcome
from benchmarks.numpy_sir import numpy_sir
from benchmarks.workloads import ModelSpec


def kernel(
    net: diffusion.Network, model: ModelSpec, seeds: np.ndarray, repeat: int, engine: str = "event"
) -> Job:
    """``diffusion.simulate`` to extinction, as a user calls it (argument checks included).

    ``event`` is the default engine on a plain network; ``calendar`` and ``step`` are the full
    model's kernels, which do not count the ties they examine.
    """
    params = model.params

    def run() -> Outcome:
        result = diffusion.simulate(net, params, seeds=seeds, rng=repeat, engine=engine)
        examined = result.edges_examined if engine == "event" else None
        return Outcome(int(result.reach[-1]) / net.n_nodes, examined)

    return run


def numpy_baseline(net: diffusion.Network, model: ModelSpec, seeds: np.ndarray, repeat: int) -> Job:
    """The vectorised-numpy baseline of ``benchmarks/numpy_sir.py``."""
    rng = np.random.default_rng(repeat)

    def run() -> Outcome:
        final, examined = numpy_sir(
            net.offsets, net.neighbours, seeds, model.beta, model.gamma, model.delta, rng
        )
        return Outcome((net.n_nodes - final["S"]) / net.n_nodes, examined)

    return run
