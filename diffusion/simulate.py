"""Prepare arrays for a kernel, run it, and wrap what it returns in a ``Result``.

Two kernels implement the model. ``event`` (``diffusion._sir``) samples the edge-wise reduction
of MODEL.md section 6 event by event, in time proportional to the ties of agents ever reached.
``step`` (``diffusion._media``) steps the full model day by day over the active holders. The
default, ``auto``, takes ``event`` for a plain network whose parameters reduce to SIR with
detection, and ``step`` otherwise (a population always gets per-region counts).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt

from diffusion._media import run_media
from diffusion._sir import run_sir
from diffusion.network import Network
from diffusion.params import MAX_STEPS, Params
from diffusion.results import Result

if TYPE_CHECKING:
    from diffusion.population import Population

SeedSpec = int | npt.ArrayLike
RngSpec = int | np.random.SeedSequence | np.random.Generator | np.random.BitGenerator | None
Engine = Literal["auto", "event", "step"]


def simulate(
    world: Network | Population,
    params: Params,
    seeds: SeedSpec = 1,
    rng: RngSpec = None,
    steps: int | None = None,
    engine: Engine = "auto",
) -> Result:
    """Run the model once on a network or a population and return the state counts per step.

    ``seeds`` is a number of initial holders drawn uniformly at random, or an array of agent ids.
    ``rng`` is an integer seed, a ``SeedSequence``, a numpy ``Generator`` or ``BitGenerator``;
    a seed makes the run reproducible bit for bit. ``steps`` fixes the number of steps; by
    default the run goes on until no holder remains. ``engine`` picks the kernel (see above).
    """
    network = world if isinstance(world, Network) else world.network
    if steps is not None and (int(steps) != steps or not 0 <= steps <= MAX_STEPS):
        raise ValueError(f"steps: {steps} is not an integer in [0, {MAX_STEPS}]")
    if steps is None and not params.holders_stop():
        raise ValueError(
            "steps: required when holders never stop (gamma = 0 and a medium in use is never "
            "detected: delta * concealment * (1 - p_bribe) = 0)"
        )
    if steps is None and params.entry_rate > 0:
        raise ValueError("steps: required when entry_rate > 0 (copies keep arriving)")
    if engine == "auto":
        engine = "event" if isinstance(world, Network) and params.reduces_to_sir() else "step"
    if engine == "event" and not params.reduces_to_sir():
        raise ValueError("engine: 'event' runs only the edge-wise reduction (MODEL.md section 6)")
    if engine not in ("event", "step"):
        raise ValueError(f"engine: {engine!r} is not one of 'auto', 'event', 'step'")

    bit_generator = _bit_generator(rng)
    generator = np.random.Generator(bit_generator)
    seed_ids = choose_seeds(network.n_nodes, seeds, generator)
    horizon = -1 if steps is None else int(steps)
    label = int(rng) if isinstance(rng, int | np.integer) else None
    if engine == "event":
        return _run_event(network, params, seed_ids, horizon, bit_generator, label)
    return _run_step(world, network, params, seed_ids, horizon, generator, label)


def _run_event(network, params, seed_ids, horizon, bit_generator, label) -> Result:
    """The edge-wise reduction; USB sharing, concealment and bribes fold into beta and delta
    exactly as the step kernel applies them (``Params.reduces_to_sir``)."""
    starts, deltas = params.delta_segments()
    deltas = np.array([params.detection_probability("usb", d) for d in deltas])
    events, examined = run_sir(
        network.offsets,
        network.neighbours,
        network.trust,
        network.uniform_trust(),
        seed_ids,
        params.beta * params.usb.share,
        params.gamma,
        params.p_copy,
        starts,
        deltas,
        horizon,
        bit_generator,
    )
    return Result.from_events(
        network.n_nodes, len(seed_ids), events, seed=label, edges_examined=examined
    )


def _run_step(world, network, params, seed_ids, horizon, generator, label) -> Result:
    """The full model, stepped day by day."""
    agents = _agent_arrays(world, network.n_nodes)
    if params.mode == "group" and len(agents["group_members"]) == 0:
        raise ValueError("mode: 'group' needs groups (viewing circles): simulate a population")
    seed_media = (generator.random(len(seed_ids)) < params.dvd_share).astype(np.uint8)
    entry_offsets, entrants, entrant_media = _draw_entry(world, agents, params, horizon, generator)
    starts, deltas = params.delta_segments()
    series, regions = run_media(
        {
            "offsets": network.offsets,
            "neighbours": network.neighbours,
            "trust": network.trust,
            "kind": network.kind,
        },
        agents,
        {
            "beta": params.beta,
            "gamma": params.gamma,
            "p_copy": params.p_copy,
            "host_prob": params.host_prob,
            "informant_risk": params.informant_risk,
            "p_bribe": params.p_bribe,
            "p_implicate": params.p_implicate,
            "fear_factor": params.fear_factor,
            "fear_steps": params.fear_steps,
            "group_mode": params.mode == "group",
            "share": (params.usb.share, params.dvd.share),
            "conceal": (params.usb.concealment, params.dvd.concealment),
            "accept": (params.acceptance_older, params.acceptance_market),
        },
        seed_ids,
        seed_media,
        entry_offsets,
        entrants,
        entrant_media,
        starts,
        deltas,
        horizon,
        generator.bit_generator,
    )
    entered = np.zeros(len(series), dtype=np.int64)
    arrivals = np.diff(entry_offsets)
    entered[1 : 1 + len(arrivals)] = arrivals
    return Result(
        counts=series[:, :5],
        new_detections=series[:, 15],
        seed=label,
        region_counts=regions,
        medium_counts=series[:, 5:15].reshape(-1, 2, 5),
        discs=series[:, 16],
        entered=entered,
    )


def _agent_arrays(world, n_agents: int) -> dict:
    """Per-agent attributes and groups for the step kernel; a bare network is one region."""
    if isinstance(world, Network):
        return {
            "region": np.zeros(n_agents, dtype=np.int16),
            "n_regions": 1,
            "cohort": np.ones(n_agents, dtype=np.uint8),
            "informant": np.zeros(n_agents, dtype=np.uint8),
            "group_offsets": np.zeros(1, dtype=np.int64),
            "group_members": np.zeros(0, dtype=np.int32),
            "agent_group_offsets": np.zeros(n_agents + 1, dtype=np.int64),
            "agent_groups": np.zeros(0, dtype=np.int32),
        }
    groups = world.groups
    return {
        "region": np.ascontiguousarray(world.region, dtype=np.int16),
        "n_regions": int(world.n_regions),
        "cohort": np.ascontiguousarray(world.cohort, dtype=np.uint8),
        "informant": np.ascontiguousarray(world.informant, dtype=np.uint8),
        "group_offsets": np.ascontiguousarray(groups.offsets, dtype=np.int64),
        "group_members": np.ascontiguousarray(groups.members, dtype=np.int32),
        "agent_group_offsets": np.ascontiguousarray(groups.agent_offsets, dtype=np.int64),
        "agent_groups": np.ascontiguousarray(groups.agent_groups, dtype=np.int32),
    }


def _draw_entry(world, agents: dict, params: Params, horizon: int, generator: np.random.Generator):
    """Smuggled copies per step (Poisson), their recipients in border regions and their media.

    A share ``entry_trader_share`` of copies goes to border-region traders (when there are any),
    the rest to any border-region agent. A bare network counts as one border region.
    """
    steps = max(horizon, 0)
    per_step = generator.poisson(params.entry_rate, size=steps) if params.entry_rate else None
    if per_step is None or per_step.sum() == 0:
        return np.zeros(steps + 1, dtype=np.int64), np.zeros(0, np.int32), np.zeros(0, np.uint8)
    if isinstance(world, Network):
        border = np.arange(world.n_nodes)
        traders = border[:0]
    else:
        border = np.flatnonzero(np.isin(agents["region"], world.border_regions))
        if len(border) == 0:
            raise ValueError(
                "entry_rate: copies enter through border regions, and this population has none "
                "(set border_regions >= 1, or entry_rate = 0)"
            )
        traders = border[np.asarray(world.trader)[border]]
    total = int(per_step.sum())
    to_trader = generator.random(total) < params.entry_trader_share if len(traders) else False
    entrants = np.where(
        to_trader,
        traders[generator.integers(len(traders), size=total)] if len(traders) else 0,
        border[generator.integers(len(border), size=total)],
    ).astype(np.int32)
    media = (generator.random(total) < params.dvd_share).astype(np.uint8)
    offsets = np.zeros(steps + 1, dtype=np.int64)
    np.cumsum(per_step, out=offsets[1:])
    return offsets, entrants, media


def choose_seeds(n_agents: int, seeds: SeedSpec, generator: np.random.Generator) -> np.ndarray:
    """Initial holders: ``seeds`` distinct agents drawn at random, or the given ids checked."""
    if np.ndim(seeds) == 0:
        count = seeds
        if int(count) != count or not 0 <= count <= n_agents:
            raise ValueError(f"seeds: {count} is not an integer in [0, {n_agents}] (the agents)")
        return np.sort(generator.choice(n_agents, size=int(count), replace=False)).astype(np.int32)
    ids = np.asarray(seeds)
    if ids.ndim != 1 or (ids.size and not np.issubdtype(ids.dtype, np.integer)):
        raise ValueError("seeds: an array of seeds must be a 1-D array of integer agent ids")
    if ids.size and (ids.min() < 0 or ids.max() >= n_agents):
        raise ValueError(f"seeds: agent ids must be in [0, {n_agents - 1}]")
    if len(np.unique(ids)) != len(ids):
        raise ValueError("seeds: agent ids must be distinct")
    return ids.astype(np.int32)


def _bit_generator(rng: RngSpec) -> np.random.BitGenerator:
    """The run's bit generator: PCG64 for an integer seed or None, else the one given."""
    if isinstance(rng, np.random.Generator):
        return rng.bit_generator
    if isinstance(rng, np.random.BitGenerator):
        return rng
    if isinstance(rng, np.random.SeedSequence):
        return np.random.PCG64(rng)
    if rng is not None and (int(rng) != rng or rng < 0):
        raise ValueError(f"rng: {rng} must be a non-negative integer seed")
    return np.random.PCG64(rng)
