"""Prepare arrays for a kernel, run it, and wrap what it returns in a ``Result``.

Three kernels implement the model. ``event`` (``diffusion._sir``) samples the edge-wise reduction
of docs/model.md section 6 event by event, in time proportional to the ties of agents ever reached.
``calendar`` (``diffusion._media``) runs the full model on a calendar of days: each holder's next
viewing, share, sale, detection and ceasing are waiting times drawn from its own streams, so a day
costs the events of that day. ``step`` (same module) visits every holder every day: the day-by-day
reading of docs/model.md that ``calendar`` is checked against in distribution. The default,
``auto``, takes ``event`` for a plain network whose parameters reduce to SIR with detection, and
``calendar`` otherwise (a population always gets per-region counts).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt

from diffusion._checks import check_simulate_args, seed_problem
from diffusion._media import MEDIUM_COLUMNS, SERIES_COLUMNS, run_media, willingness_uniforms
from diffusion._sir import run_sir
from diffusion.entry import EntrySchedule, draw_entry
from diffusion.network import Network
from diffusion.params import Params
from diffusion.result import Reached, Result
from diffusion.streams import (
    SEED_MEDIA,
    SEED_MEDIUM,
    SEEDS,
    RngSpec,
    RunStreams,
    addressed_uniforms,
    inverse_cdf,
)
from diffusion.ties import ENTRY_CHANNEL, KIND, SALE_CHANNEL, SEED_CHANNEL, grouped_flags
from diffusion.world import World

if TYPE_CHECKING:
    from diffusion.population import Population

MEDIUM_DTYPE = np.dtype([("share", "<f8"), ("conceal", "<f8"), ("p_copy", "<f8"), ("lent", "u1")])
"""The medium table's row, as ``kernels/model.pxd`` declares ``MediumSpec``."""

EVENT_PARAMS_DTYPE = np.dtype(
    [
        ("beta", "<f8"),
        ("gamma", "<f8"),
        ("p_copy", "<f8"),
        ("horizon", "<i8"),
        ("uniform_trust", "u1"),
        ("track_kinds", "u1"),
    ]
)
"""The event kernel's parameters, as ``kernels/event.pxd`` declares ``EventParams``."""

MEDIA_PARAMS_FROM_PARAMS = (
    ("beta", "<f8"),
    ("gamma", "<f8"),
    ("host_prob", "<f8"),
    ("informant_risk", "<f8"),
    ("p_bribe", "<f8"),
    ("p_implicate", "<f8"),
    ("fear_factor", "<f8"),
    ("deterrence", "<f8"),
    ("attendance", "<f8"),
    ("market_rate", "<f8"),
    ("acceptance_older", "<f8"),
    ("acceptance_market", "<f8"),
    ("fear_steps", "<i8"),
    ("deterrence_steps", "<i8"),
)
"""The fields of ``MediaParams`` copied from ``Params`` under the same name."""

MEDIA_PARAMS_DTYPE = np.dtype(
    [
        *MEDIA_PARAMS_FROM_PARAMS,
        ("horizon", "<i8"),
        ("group_mode", "u1"),
        ("market_kind", "u1"),
        ("sale_channel", "u1"),
        ("entry_channel", "u1"),
        ("calendar", "u1"),
    ]
)
"""The full-model kernels' parameters, as ``kernels/model.pxd`` declares ``MediaParams``."""

SeedSpec = int | npt.ArrayLike
Engine = Literal["auto", "event", "calendar", "step"]
FULL_MODEL_ENGINES = ("calendar", "step")
"""The kernels of the full model (both take entry, populations and every mechanism)."""


def simulate(
    world: Network | Population | World,
    params: Params,
    seeds: SeedSpec = 1,
    rng: RngSpec = None,
    steps: int | None = None,
    engine: Engine = "auto",
    entry: EntrySchedule | None = None,
) -> Result:
    """Run the model once on a network or a population and return the state counts per step.

    ``seeds`` is a number of initial holders drawn uniformly at random, or an array of agent ids.
    ``rng`` is an integer seed, a ``SeedSequence``, a numpy ``Generator`` or ``BitGenerator``;
    a seed makes the run reproducible bit for bit, and each purpose draws from its own stream
    (``diffusion.streams``). ``steps`` fixes the number of steps; by default the run goes on
    until no holder remains. ``engine`` picks the kernel (see above). ``entry`` adds copies the
    caller places (an entry strategy) to the scenario's own smuggling; it needs ``steps``.
    """
    check_simulate_args(world, params, rng, steps)
    # A bare network's World (per-agent arrays for the full model) is built only if a full-model
    # kernel runs: the event kernel needs the network alone.
    network = world if isinstance(world, Network) else World.of(world).network
    is_population = not isinstance(world, Network) and World.of(world).is_population
    n_agents = network.n_nodes
    params = params.for_agents(n_agents)  # entry rates given per agents, for this network
    if entry is not None:
        if steps is None:
            raise ValueError("steps: required when copies are placed (entry)")
        entry.check(n_agents, len(params.media_names), int(steps))
    if steps is None and not params.holders_stop():
        raise ValueError(
            "steps: required when holders never stop (gamma = 0 and a medium in use is never "
            "detected: delta * concealment * (1 - p_bribe) = 0)"
        )
    if steps is None and params.has_entry():
        raise ValueError("steps: required when copies keep entering (entry)")
    placed = entry is not None  # even empty: a strategy's runs all take the kernel with entry
    if engine == "auto":
        event = not is_population and params.reduces_to_sir() and not placed
        engine = "event" if event else "calendar"
    if engine == "event" and placed:
        raise ValueError("engine: 'event' has no entry; placed copies need engine 'calendar'")
    if engine == "event" and not params.reduces_to_sir():
        raise ValueError(
            "engine: 'event' runs only the edge-wise reduction (docs/model.md section 6)"
        )
    if engine != "event" and engine not in FULL_MODEL_ENGINES:
        raise ValueError(f"engine: {engine!r} is not one of 'auto', 'event', 'calendar', 'step'")

    streams = RunStreams.of(rng)
    seed_ids = choose_seeds(n_agents, seeds, streams.generator(SEEDS))
    horizon = -1 if steps is None else int(steps)
    label = int(rng) if isinstance(rng, int | np.integer) else None
    if engine == "event":
        return _run_event(network, params, seed_ids, horizon, streams, label)
    return _run_full(World.of(world), params, seed_ids, horizon, streams, label, entry, engine)


def _new_reached(
    n_agents: int,
    seed_ids: np.ndarray,
    seed_media: np.ndarray,
    full: bool = False,
    witnessed: bool = False,
) -> Reached:
    """Per-agent records of how each was reached, the initial holders filled in (step 0); the
    full model also records the media each watched and (with public trials) who attended one."""
    reached = Reached(
        step=np.full(n_agents, -1, dtype=np.int32),
        channel=np.zeros(n_agents, dtype=np.uint8),
        medium=np.zeros(n_agents, dtype=np.uint8),
        tie_detected=np.full(n_agents, -1, dtype=np.int32),
        seen=np.zeros(n_agents, dtype=np.uint32) if full else None,
        witnessed=np.full(n_agents, -1, dtype=np.int32) if witnessed else None,
    )
    reached.step[seed_ids] = 0
    reached.channel[seed_ids] = SEED_CHANNEL
    reached.medium[seed_ids] = seed_media
    return reached


def _run_event(network: Network, params, seed_ids, horizon, streams: RunStreams, label) -> Result:
    """The edge-wise reduction; the medium's share, concealment and bribes fold into beta and
    delta exactly as the full-model kernels apply them (``Params.reduces_to_sir``)."""
    medium = params.sir_medium()
    starts, deltas = params.delta_segments()
    deltas = np.array([params.detection_probability(medium, d) for d in deltas])
    single_kind = network.single_kind()
    track_kinds = single_kind is None
    medium_index = params.media_names.index(medium)
    reached = _new_reached(network.n_nodes, seed_ids, np.uint8(medium_index))
    record = np.array(
        [
            (
                params.beta * params.media[medium].share,
                params.gamma,
                params.media[medium].p_copy,
                horizon,
                network.uniform_trust(),
                track_kinds,
            )
        ],
        dtype=EVENT_PARAMS_DTYPE,
    )
    out = run_sir(
        network.offsets,
        network.neighbours,
        network.trust,
        network.kind,
        record,
        starts,
        deltas,
        seed_ids,
        reached.step,
        reached.channel,
        reached.tie_detected,
        streams.kernel_key(),
    )
    # The agents the kernel reached (step > 0) hold channel 0 (when kinds are not tracked) and
    # medium 0 so far: adding is exact, and a tenth of the cost of a masked assignment.
    informed = (reached.step > 0).view(np.uint8)
    if not track_kinds and single_kind:
        reached.channel[:] += informed * np.uint8(single_kind)
    if medium_index:
        reached.medium[:] += informed * np.uint8(medium_index)
    return Result.from_events(
        network.n_nodes,
        len(seed_ids),
        out,
        seed=label,
        edges_examined=out["ties_examined"],
        reached=reached,
        media=params.media_names,
        start=params.start,
    )


def _run_full(
    world: World, params, seed_ids, horizon, streams: RunStreams, label, placed, engine: str
) -> Result:
    """The full model on kernel ``engine``; ``placed`` copies arrive besides the scenario's."""
    network = world.network
    if params.mode == "group" and len(world.agents["group_members"]) == 0:
        raise ValueError("mode: 'group' needs groups (viewing circles): simulate a population")
    names = params.media_names
    _, _, mixes = params.entry_segments()
    seed_media = holders_media(seed_ids, mixes[0], streams)
    entry = draw_entry(world, params, horizon, streams)
    if placed is not None:
        entry = entry.merged(placed.padded(entry.steps))
    trials = params.has_public_trials() and params.attendance > 0
    reached = _new_reached(network.n_nodes, seed_ids, seed_media, full=True, witnessed=trials)
    agents = dict(world.agents)
    agents["willing"] = willingness(world, params, streams)
    media = np.array(
        [(m.share, m.concealment, m.p_copy, m.lent) for m in params.media.values()],
        dtype=MEDIUM_DTYPE,
    )
    starts, deltas = params.delta_segments()
    public_starts, public_p = params.public_segments()
    record = np.zeros(1, dtype=MEDIA_PARAMS_DTYPE)
    for name, _ in MEDIA_PARAMS_FROM_PARAMS:
        record[name] = getattr(params, name)
    record["horizon"] = horizon
    record["group_mode"] = params.mode == "group"
    record["market_kind"] = KIND["market"]
    record["sale_channel"] = SALE_CHANNEL
    record["entry_channel"] = ENTRY_CHANNEL
    record["calendar"] = engine == "calendar"
    out = run_media(
        {
            "offsets": network.offsets,
            "neighbours": network.neighbours,
            "trust": network.trust,
            "kind": network.kind,
        },
        agents,
        record,
        media,
        grouped_flags(),
        seed_ids,
        seed_media,
        entry.offsets,
        entry.agents,
        entry.media,
        starts,
        deltas,
        public_starts,
        public_p,
        {
            "step": reached.step,
            "channel": reached.channel,
            "medium": reached.medium,
            "tie_detected": reached.tie_detected,
            "witnessed": reached.witnessed if trials else np.zeros(0, np.int32),
            "seen": reached.seen,
        },
        streams.kernel_key(),
    )
    series, by_medium = out["series"], out["media"]
    column = SERIES_COLUMNS.index
    entered = series[:, column("entered")]  # copies taken up: not a holder's second copy
    return Result(
        counts=series[:, : column("D") + 1],
        new_detections=series[:, column("new_detections")],
        seed=label,
        region_counts=out["regions"],
        media=names,
        medium_counts=by_medium[:, :, : MEDIUM_COLUMNS.index("D") + 1],
        lent_copies=by_medium[:, :, MEDIUM_COLUMNS.index("copies")],
        entered=entered,
        reached=reached,
        start=params.start,
        region_seen=out["seen"],
        public_trials=series[:, column("public_trials")],
    )


def willingness(world: World, params: Params, streams: RunStreams) -> npt.NDArray[np.float32]:
    """Each person's multiplier on acceptance, drawn once per run at its own address (agent,
    step 0, ``WILLING``): 0 for those who refuse (the share of their cohort), else a
    Beta(mean * c, (1 - mean) * c) draw with ``c = willingness_concentration`` (1 when the mean
    is 1). Empty when everyone accepts at the full rate (the kernel then reads no array)."""
    if not params.has_willingness():
        return np.zeros(0, dtype=np.float32)
    from scipy.special import betaincinv

    uniforms = willingness_uniforms(streams.kernel_key(), world.n_agents)
    refusal = np.array([params.refusal_older, params.refusal_market])
    refuses = uniforms[:, 0] < refusal[np.asarray(world.agents["cohort"], dtype=np.intp)]
    mean, c = params.willingness_mean, params.willingness_concentration
    multiplier = (
        np.ones(world.n_agents)
        if mean >= 1.0
        else betaincinv(mean * c, (1.0 - mean) * c, uniforms[:, 1])
    )
    return np.where(refuses, 0.0, multiplier).astype(np.float32)


def holders_media(
    seed_ids: npt.NDArray[np.int32], mix: npt.NDArray[np.float64], streams: RunStreams
) -> npt.NDArray[np.uint8]:
    """Each initial holder's medium, drawn from ``mix`` at an address keyed by the agent (not
    by its place in the list): adding, removing or reordering holders changes no other
    holder's medium (common random numbers)."""
    u = addressed_uniforms(streams.key(SEED_MEDIA), seed_ids, 0, SEED_MEDIUM)[:, 0]
    return inverse_cdf(u, mix).astype(np.uint8)


def choose_seeds(n_agents: int, seeds: SeedSpec, generator: np.random.Generator) -> np.ndarray:
    """Initial holders: ``seeds`` distinct agents drawn at random, or the given ids checked."""
    problem = seed_problem(seeds, n_agents)
    if problem:
        raise ValueError(f"seeds: {problem}")
    if np.ndim(seeds) == 0:
        return np.sort(generator.choice(n_agents, size=int(seeds), replace=False)).astype(np.int32)
    return np.asarray(seeds).astype(np.int32)
