"""What common random numbers buy: the standard error of the difference between two nearby entry
strategies, with and without them, at the same number of replicates.

Two strategies place the same USB drives with the same border traders, the second three days
later. With common random numbers replicate r of both runs under one key, so the scenario's own
smuggling and every agent's draws agree wherever their histories do and the difference is
measured pair by pair; without, the second strategy's replicates run under other keys
(independent samples). Same runs, same cost: the ratio of the two variances is how many times
more replicates the independent comparison needs for the same precision.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

import diffusion
from diffusion.config import load_config
from diffusion.entry import EntrySchedule
from diffusion.world import World

BASELINE = Path(__file__).resolve().parent.parent / "experiments" / "baseline.toml"
SEED = 2026
DELAY = 3
"""Days the second strategy's copies arrive after the first's."""


def placements(world: World, steps: int, copies: int, medium: int, delay: int) -> EntrySchedule:
    """``copies`` drives of ``medium`` to border traders, one every few days from day 10."""
    chooser = np.random.default_rng(SEED)
    who = chooser.choice(world.traders, size=copies, replace=False)
    when = np.linspace(10, steps - 30, copies).astype(np.int64) + delay
    return EntrySchedule.from_arrivals(steps, when, who, np.full(copies, medium))


def measure(quick: bool) -> dict[str, Any]:
    """Reach at the horizon for both strategies over ``replicates`` runs, paired and unpaired."""
    agents, replicates = (20_000, 24) if quick else (100_000, 64)
    config = load_config(BASELINE).with_overrides(
        {"network.n_agents": agents, "model.entry_rate": 0.3 * agents / 100_000, "run.steps": 180}
    )
    world = World.of(config.network.build())
    steps = config.steps()
    usb = config.model.media_names.index("usb")
    first = placements(world, steps, 60, usb, 0)
    later = placements(world, steps, 60, usb, DELAY)

    def reach(entry: EntrySchedule, key: int) -> float:
        stream = np.random.SeedSequence(SEED, spawn_key=(key,))
        result = diffusion.simulate(world, config.model, seeds=0, rng=stream, steps=steps,
                                    entry=entry)  # fmt: skip
        return result.reach[-1] / world.n_agents

    a = np.array([reach(first, r) for r in range(replicates)])
    b_common = np.array([reach(later, r) for r in range(replicates)])
    b_independent = np.array([reach(later, replicates + r) for r in range(replicates)])
    se_common = float(np.std(a - b_common, ddof=1) / np.sqrt(replicates))
    se_independent = float(
        np.sqrt((np.var(a, ddof=1) + np.var(b_independent, ddof=1)) / replicates)
    )
    return {
        "agents": agents,
        "steps": steps,
        "replicates": replicates,
        "delay_days": DELAY,
        "mean_reach_first": float(a.mean()),
        "difference_common": float((a - b_common).mean()),
        "se_common": se_common,
        "difference_independent": float((a - b_independent).mean()),
        "se_independent": se_independent,
        "variance_ratio": (se_independent / se_common) ** 2 if se_common > 0 else float("inf"),
    }
