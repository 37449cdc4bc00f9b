"""The benchmarks that hang on other parts of the project: population build, full model, sweeps.

Each is run when the part it measures exists and recorded as "not yet available" otherwise, so
the suite works at every stage of the project. A failure inside one is recorded with its error
rather than stopping the suite: the other figures are still worth having.
"""

from __future__ import annotations

import importlib
import os
import resource
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import diffusion
from diffusion import Campaign, Params

ERAS = Path(__file__).resolve().parent.parent / "experiments" / "media-eras.toml"
"""The 2000-2020 scenario: four media, dated entry and mix, census provinces."""

COUNTRY_AGENTS = 25_000_000
YEAR = 365

FULL_MODEL = Params(
    beta=0.05,
    gamma=0.05,
    delta=0.002,
    campaigns=(Campaign(start=120, end=180, delta=0.02),),
    mode="group",
    host_prob=0.3,
    mix={"usb": 0.7, "dvd": 0.3},
    acceptance_market=1.5,
    acceptance_older=0.7,
    informant_risk=3.0,
    p_bribe=0.3,
    p_implicate=0.2,
    fear_factor=0.5,
    fear_steps=14,
    entry_rate=20.0,
)
"""Every mechanism of docs/model.md sections 3-5 switched on (values for timing, not calibrated)."""

EDGE_WISE = Params(beta=0.05, gamma=0.2, delta=0.01)


def not_available(what: str) -> dict[str, str]:
    return {"status": "not yet available", "reason": what}


def guarded(measure: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run one optional benchmark; an error is recorded (last traceback line), not raised."""
    try:
        return {"status": "ok"} | measure()
    except Exception as error:
        last = traceback.format_exception_only(error)[-1].strip()
        return {"status": "failed", "reason": last}


def _optional_module(name: str):
    """The module, or None when it does not exist yet (an error inside it still raises)."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name != name:
            raise
        return None


def population(sizes: list[int], log) -> dict[str, Any]:
    """Build time and peak memory per size, from ``benchmarks/population_scale.measure``."""
    module = _optional_module("benchmarks.population_scale")
    if module is None:
        return not_available("benchmarks/population_scale.py (population builder) not written yet")
    results = {}
    for n in sizes:
        log(f"population {n:.1e}")
        results[str(n)] = guarded(lambda n=n: module.measure(n))
    return {"status": "ok", "sizes": results}


def full_model(log) -> dict[str, Any]:
    """The full model on the 25 M country for one year, beside the edge-wise model there."""
    if not hasattr(diffusion, "build_population"):
        return not_available("diffusion.build_population (population builder) not exported yet")

    def measure() -> dict[str, Any]:
        log("full model: building the country")
        start = time.perf_counter()
        country = diffusion.build_population(COUNTRY_AGENTS, seed=1)
        built = time.perf_counter() - start
        out: dict[str, Any] = {
            "agents": COUNTRY_AGENTS,
            "edges": country.network.n_edges,
            "steps": YEAR,
            "build_s": built,
        }
        runs = (
            ("full_model", country, FULL_MODEL, "calendar"),  # per-region counts
            ("full_model_step", country, FULL_MODEL, "step"),  # the day-by-day reference
            ("edge_wise_event", country.network, EDGE_WISE, "event"),
        )
        for label, world, params, engine in runs:
            log(f"full model: one year, {label}")
            load = os.getloadavg()[0]
            start, cpu = time.perf_counter(), time.process_time()
            result = diffusion.simulate(world, params, seeds=10, rng=1, steps=YEAR, engine=engine)
            out[label] = {
                "seconds": time.perf_counter() - start,
                "cpu_seconds": time.process_time() - cpu,
                "load_average_before": load,
                "load_average_after": os.getloadavg()[0],
                **result.summary(),
            }
        for label in ("full_model_step", "edge_wise_event"):
            out[f"full_vs_{label}"] = out["full_model"]["cpu_seconds"] / out[label]["cpu_seconds"]
        out["process_peak_rss_gib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        return out

    return guarded(measure)


def full_model_ratio(agents: int, repeats: int, log) -> dict[str, Any]:
    """The full model (calendar and step kernels) against the edge-wise event kernel on one
    census country for one year, CPU medians of ``repeats`` interleaved runs in this process."""
    from benchmarks.guard import median_cpu

    def measure() -> dict[str, Any]:
        log(f"full model against edge-wise, {agents:.0e} agents")
        country = diffusion.build_population(agents, seed=1)

        def run(world, params, engine):
            return lambda i: diffusion.simulate(
                world, params, seeds=10, rng=i, steps=YEAR, engine=engine
            )

        load = os.getloadavg()[0]
        medians = median_cpu(
            {
                "calendar": run(country, FULL_MODEL, "calendar"),
                "step": run(country, FULL_MODEL, "step"),
                "edge_wise_event": run(country.network, EDGE_WISE, "event"),
            },
            repeats,
        )
        return {
            "agents": agents,
            "repeats": repeats,
            "cpu_medians": medians,
            "calendar_vs_edge_wise": medians["calendar"] / medians["edge_wise_event"],
            "step_vs_edge_wise": medians["step"] / medians["edge_wise_event"],
            "step_vs_calendar": medians["step"] / medians["calendar"],
            "load_average_before": load,
            "load_average_after": os.getloadavg()[0],
        }

    return guarded(measure)


def twenty_years(sizes: list[int], log) -> dict[str, Any]:
    """One run of ``experiments/media-eras.toml`` (2000-2020, 7,671 daily steps) per size."""
    from diffusion.config import load_config

    def measure(n: int) -> dict[str, Any]:
        config = load_config(ERAS).with_overrides({"network.n_agents": n})
        start = time.perf_counter()
        country = config.network.build()
        built = time.perf_counter() - start
        start = time.perf_counter()
        result = diffusion.simulate(country, config.model, seeds=0, rng=1, steps=config.steps())
        seconds = time.perf_counter() - start
        return {
            "build_s": built,
            "seconds": seconds,
            "seconds_per_year": seconds / (result.steps / 365.25),
            "steps": result.steps,
            "reach_share": result.summary()["reach_share"],
            "peak_holders": result.summary()["peak_holders"],
        }

    results = {}
    for n in sizes:
        log(f"twenty years, {n:.1e} agents")
        results[str(n)] = guarded(lambda n=n: measure(n))
    return {"status": "ok", "sizes": results}


def sweep(quick: bool, log) -> dict[str, Any]:
    """Sweep speed-up on 1 vs 2 local Dask workers, from ``benchmarks/sweep_scaling.measure``."""
    module = _optional_module("benchmarks.sweep_scaling")
    if module is None:
        return not_available("benchmarks/sweep_scaling.py (sweeps) not written yet")
    log("sweep on 1 and 2 workers")
    return guarded(lambda: module.measure(quick))


def common_random_numbers(quick: bool, log) -> dict[str, Any]:
    """Standard error of a strategy difference with and without common random numbers."""
    from benchmarks import common_random_numbers as crn

    log("common random numbers: two nearby strategies, paired and unpaired")
    return guarded(lambda: crn.measure(quick))
