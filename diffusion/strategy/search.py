"""Where to put a fixed number of copies: a lazy-greedy search (CELF) on Monte-Carlo estimates.

The value of a placement (a set of agents, one copy each on one day) is the mean over fixed
replicates of ``reach - price * detected``. Replicate ``r`` is the scenario's replicate ``r`` for
every placement, so with common random numbers the value is a fixed function of the set and two
sets differ only through where their copies go. The greedy search adds, ``copies`` times, the
candidate with the largest gain. CELF (Leskovec et al. 2007, "Cost-effective outbreak detection
in networks", KDD) keeps each candidate's last gain as an upper bound and rescores only the
candidates that could still be best: exact for a submodular value, which spread in a network
often nearly is (an estimate is not guaranteed to be). With a price per arrest the value is not
submodular, so every candidate is rescored every round (plain greedy). Placements are scored a
batch at a time (one Dask task each), as many as there are workers, so a round runs in
parallel; the picks do not depend on the batch.
"""

from __future__ import annotations

import heapq
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from diffusion.config import ExperimentConfig
from diffusion.entry import EntrySchedule
from diffusion.simulate import simulate
from diffusion.strategy.evaluate import replicate_seed, task_config
from diffusion.strategy.pareto import non_dominated
from diffusion.strategy.placement import Country, recipients
from diffusion.strategy.report import interval
from diffusion.sweep.run import NETWORKS

Placement = tuple[int, ...]
"""Agents receiving one copy each, sorted."""


@dataclass(frozen=True)
class Score:
    """A placement's mean reach and detections over the fixed replicates, with standard errors."""

    reach: float
    detected: float
    reach_se: float
    detected_se: float

    @classmethod
    def of(cls, reach: np.ndarray, detected: np.ndarray) -> Score:
        (r, *_, r_se), (d, *_, d_se) = interval(reach), interval(detected)
        return cls(r, d, r_se, d_se)

    def value(self, price: float) -> float:
        return self.reach - price * self.detected


def score_placement(payload: str, network_key: str, agents: Placement) -> Score:
    """Run a placement on the search's replicates (a Dask task; the network from the cache)."""
    config = task_config(payload)
    search = config.strategy.search
    world = Country.of(NETWORKS.get(network_key, config)).world
    steps = config.steps()
    medium = config.model.media_names.index(search.medium)
    n = len(agents)
    entry = EntrySchedule.from_arrivals(steps, [search.day] * n, agents, [medium] * n)
    params, holders = config.for_agents(world.n_agents)
    reach, detected = [], []
    for replicate in range(search.replicates):
        seed = replicate_seed(config.run.seed, replicate)
        result = simulate(
            world, params, seeds=holders, rng=seed, steps=steps, engine="calendar", entry=entry
        )
        reach.append(result.reach[-1])
        detected.append(result.state("D")[-1])
    return Score.of(np.array(reach), np.array(detected))


class Scorer:
    """Scores placements, each once: a batch goes to ``run_batch`` (in parallel on Dask)."""

    def __init__(self, run_batch: Callable[[list[Placement]], list[Score]]) -> None:
        self.run_batch = run_batch
        self.scores: dict[Placement, Score] = {}

    def __call__(self, placements: Sequence[Placement]) -> list[Score]:
        new = list(dict.fromkeys(p for p in placements if p not in self.scores))
        if new:
            self.scores.update(zip(new, self.run_batch(new), strict=True))
        return [self.scores[p] for p in placements]


@dataclass
class Greedy:
    """One greedy search: the agents picked in order, the value after each pick and its gain."""

    price: float
    chosen: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    gains: list[float] = field(default_factory=list)
    rescored: int = 0
    """Candidate scorings after the first round (what laziness saves is the rest)."""


def celf(
    candidates: Sequence[int], copies: int, scorer: Scorer, price: float = 0.0, batch: int = 1
) -> Greedy:
    """Pick ``copies`` of ``candidates`` greedily by ``reach - price * detected``.

    At price 0 (reach alone, which spread often nearly makes submodular) the search is lazy
    (CELF). With a price per arrest the value ``reach - price * detected`` is not submodular and
    a candidate's last gain is no bound: every candidate is rescored in every round (plain
    greedy). ``batch`` is only how many placements are scored at once (the workers): the lazy
    search scores the ``batch`` most promising stale candidates ahead but takes them one at a
    time as CELF does, so the picks never depend on it. Ties go to the smallest agent id.
    """
    if price > 0:
        return _plain_greedy(candidates, copies, scorer, price)
    greedy = Greedy(price)
    current = scorer([()])[0].value(price)
    first = scorer([(c,) for c in candidates])
    # heap of (-gain, candidate, size of the set the gain was computed for)
    heap = [(-(s.value(price) - current), c, 0) for c, s in zip(candidates, first, strict=True)]
    heapq.heapify(heap)
    while heap and len(greedy.chosen) < copies:
        size = len(greedy.chosen)
        if heap[0][2] == size:  # fresh: no other candidate's bound is higher
            gain, best, _ = heapq.heappop(heap)
            greedy.chosen.append(best)
            current -= gain
            greedy.values.append(current)
            greedy.gains.append(-gain)
            continue
        ahead = [c for _, c, at in heapq.nsmallest(batch, heap) if at != size]
        scorer([tuple(sorted((*greedy.chosen, c))) for c in ahead])  # in parallel, cached
        _, c, _ = heapq.heappop(heap)
        score = scorer([tuple(sorted((*greedy.chosen, c)))])[0]
        greedy.rescored += 1
        heapq.heappush(heap, (-(score.value(price) - current), c, size))
    return greedy


def _plain_greedy(candidates: Sequence[int], copies: int, scorer: Scorer, price: float) -> Greedy:
    """Greedy without laziness: each round scores every remaining candidate added to the set."""
    greedy = Greedy(price)
    current = scorer([()])[0].value(price)
    remaining = sorted(dict.fromkeys(candidates))
    while remaining and len(greedy.chosen) < copies:
        sets = [tuple(sorted((*greedy.chosen, c))) for c in remaining]
        gains = [score.value(price) - current for score in scorer(sets)]
        if greedy.chosen:
            greedy.rescored += len(sets)
        k = int(np.argmax(gains))  # the first maximum: the smallest agent id
        greedy.chosen.append(remaining.pop(k))
        current += gains[k]
        greedy.values.append(current)
        greedy.gains.append(gains[k])
    return greedy


def candidate_pool(
    country: Country, config: ExperimentConfig, rng: np.random.Generator
) -> list[int]:
    """The search's candidates: the ``pool`` first agents of its rule, distinct."""
    search = config.strategy.search
    agents = recipients(country, search.who, search.where, search.pool, rng, search.agents)
    return [int(a) for a in dict.fromkeys(agents.tolist())]


def dask_batch(client: Any, payload: str, network_key: str) -> Callable:
    """A ``run_batch`` for ``Scorer`` that scores each placement as one task on ``client``."""

    def run(placements: list[Placement]) -> list[Score]:
        futures = [
            client.submit(score_placement, payload, network_key, p, pure=False) for p in placements
        ]
        return client.gather(futures)

    return run


@dataclass(frozen=True)
class SearchResult:
    """Every greedy search (one per price), every placement scored, and the time it took."""

    searches: list[Greedy]
    scores: dict[Placement, Score]
    seconds: float


def run_search(
    candidates: Sequence[int],
    copies: int,
    prices: Sequence[float],
    run_batch: Callable[[list[Placement]], list[Score]],
    batch: int,
) -> SearchResult:
    """One CELF search per price, sharing the scores of the placements they have in common."""
    start = time.perf_counter()
    scorer = Scorer(run_batch)
    searches = [celf(candidates, copies, scorer, price, batch) for price in prices]
    return SearchResult(searches, scorer.scores, time.perf_counter() - start)


def search_payload(config: ExperimentConfig) -> str:
    """The config the search's tasks carry, as JSON text (without ``[cluster]``)."""
    data = config.resolved()
    data.pop("cluster", None)
    return json.dumps(data, sort_keys=True)


def search_tables(result: SearchResult) -> dict[str, pa.Table]:
    """``search_steps`` (per price, each pick with the value after it and its gain) and
    ``search_scored`` (every placement scored, with whether it is on the reach-vs-detections
    front)."""
    steps = [
        {"price": g.price, "pick": k + 1, "agent": agent, "value": value, "gain": gain,
         "rescored": g.rescored}
        for g in result.searches
        for k, (agent, value, gain) in enumerate(zip(g.chosen, g.values, g.gains, strict=True))
    ]  # fmt: skip
    placements = list(result.scores)
    scores = [result.scores[p] for p in placements]
    reach = np.array([s.reach for s in scores])
    detected = np.array([s.detected for s in scores])
    scored = pa.table(
        {
            "agents": [" ".join(map(str, p)) for p in placements],
            "size": [len(p) for p in placements],
            "reach": reach,
            "reach_se": [s.reach_se for s in scores],
            "detected": detected,
            "detected_se": [s.detected_se for s in scores],
            "on_front": non_dominated(reach, detected),
        }
    )
    return {"search_steps": pa.Table.from_pylist(steps), "search_scored": scored}
