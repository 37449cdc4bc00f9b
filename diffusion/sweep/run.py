"""Parameter sweeps on a Dask cluster: deterministic seeds, a network cache per worker, resume.

A sweep runs the replicates of every point of a design (``diffusion.sweep.designs``) and writes one
Parquet file per finished point into ``DIR/points`` (and ``DIR/series`` for time series), next to
a manifest ``DIR/sweep.json``. How it stays correct when things go wrong:

* **Seeds.** Replicate ``r`` of every point runs with ``SeedSequence(seed, spawn_key=(r,))``
  (``seed`` is ``sweep.seed``), the seed of replicate ``r`` of ``diffusion run`` with
  ``run.seed = seed``: its results do not depend on which worker ran it, on how many workers
  there were, or on the order tasks finished, and the points of a design share their replicates'
  random numbers (common random numbers, ``diffusion.streams``), so the difference between two
  points is measured replicate by replicate rather than drowned in independent noise.
* **Statistics.** Each replicate's row holds its ``Result.summary()`` and, when the config has a
  ``[calibration]`` section, the model value of each fitted target (``target:<name>``,
  ``diffusion.calibration.targets``), so sweeps over a fitted scenario can be compared with the
  survey figures.
* **Tasks.** One task runs all replicates of a point, so the scheduler's cost per task (about a
  millisecond) is shared by them; tasks carry the config as a short JSON text, never the network.
* **Networks.** Each worker process builds a network once and keeps it in a cache keyed by the
  content hash of its resolved ``[network]`` section; points that share a network are submitted
  together, so a worker rarely needs more than one at a time.
* **Files.** The client writes each point's file when its task returns: to a hidden temporary
  name (ignored by Parquet readers), then ``os.replace``. A point file is complete or absent.
* **Resume.** Re-running into the same folder with the same sweep skips the points whose files
  exist; a different sweep is refused. If a worker dies, Dask reruns its tasks elsewhere.
* **One writer.** ``run_sweep`` holds a lock on the folder (``diffusion._lock``): a second sweep
  into a running sweep's folder is refused instead of deleting its temporary files.
* **No workers.** When no worker has been connected for ``worker_timeout`` seconds (all died and
  none came back), or a task has killed its workers repeatedly, the sweep stops with
  ``WorkersLost``; the points written so far stay, and rerunning resumes.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import numpy as np

import diffusion
from diffusion._io import atomic_write, remove_temporaries
from diffusion._json import canonical, changed_identity
from diffusion._lazy import lazy_module
from diffusion._lock import FolderLock
from diffusion.config import ConfigError, ExperimentConfig, network_content_hash, validate_config
from diffusion.errors import DiffusionError, StoppedError
from diffusion.results import STATES
from diffusion.results.io import write_parquet
from diffusion.runner import replicate_seeds
from diffusion.simulate import Engine, simulate
from diffusion.sweep.config import Range
from diffusion.sweep.designs import Design, make_design
from diffusion.world import World

distributed = lazy_module("distributed")  # Dask and pyarrow are imported when a sweep runs
dask_client = lazy_module("distributed.client")
pa = lazy_module("pyarrow")

MANIFEST = "sweep.json"
POINTS = "points"
SERIES = "series"
FORMAT = 1
"""Version of the folder layout, stored in the manifest."""
TARGET = "target:"
"""Prefix of the summary columns holding a calibration target's model value."""

NETWORK_CACHE_BYTES = 4 << 30
"""Networks a worker process keeps beyond the one in use (least recently used go first)."""


WORKER_TIMEOUT = 120.0
"""Seconds without any connected worker after which a sweep gives up (``WorkersLost``)."""


class SweepError(DiffusionError, ValueError):
    """A sweep that cannot run into its folder (e.g. the folder holds a different sweep)."""


class WorkersLost(StoppedError):
    """The sweep's workers are gone and do not come back; the message says what happened."""


# ---------------------------------------------------------------------------------- the plan
@dataclass(frozen=True)
class Sweep:
    """A sweep ready to run: the validated config, its design, and each point's network hash."""

    config: ExperimentConfig
    design: Design
    network_keys: tuple[str, ...]
    """Content hash of the network of each point (points may sweep network parameters)."""
    engine: Engine = "calendar"
    """The kernel every run of the sweep takes (``design_engine``): one for the whole design,
    so that neighbouring points share their random numbers (common random numbers)."""

    @classmethod
    def from_config(cls, config: ExperimentConfig) -> Sweep:
        """The design of ``config``'s ``[sweep]`` section; every point is validated here."""
        if config.sweep is None:
            raise ConfigError(["sweep: the config has no [sweep] section"])
        spec = config.sweep
        parameters = {
            path: value.model_dump(exclude_none=True) if isinstance(value, Range) else value
            for path, value in spec.parameters.items()
        }
        try:
            design = make_design(spec.design, parameters, points=spec.points, seed=spec.seed)
        except ValueError as exc:
            raise ConfigError([str(exc)]) from None
        base = validate_config(_without_sweep(config))
        hashes: dict[str, str] = {}
        keys, configs = [], []
        for point in design.points:
            try:
                configs.append(base.with_overrides(point))
            except ConfigError as exc:
                raise ConfigError([f"sweep point {point}: {line}" for line in exc.lines]) from None
            network = configs[-1].network
            section = canonical(network.model_dump(mode="json"))
            if section not in hashes:
                hashes[section] = network_content_hash(network)
            keys.append(hashes[section])
        return cls(config, design, tuple(keys), design_engine(configs))

    @property
    def replicates(self) -> int:
        return self.config.sweep.replicates

    @cached_property
    def identity(self) -> dict[str, Any]:
        """What must match for a folder to be resumed: everything that changes a result.

        The ``[cluster]`` section (where it runs) and the ``[sensitivity]`` section (settings of
        another command) are left out; the network's content hash is in, so that a network file
        edited in place is noticed.
        """
        resolved = self.config.resolved()
        resolved.pop("cluster", None)
        resolved.pop("sensitivity", None)
        return {
            "format": FORMAT,
            "config": resolved,
            "network_hash": network_content_hash(self.config.network),
            "design": self.design.to_json(),
        }

    def task_payload(self) -> str:
        """The config that tasks carry: JSON text without the ``[sweep]`` and ``[cluster]``."""
        return json.dumps(_without_sweep(self.config), sort_keys=True)


def design_engine(configs: Sequence[ExperimentConfig]) -> Engine:
    """The one kernel for every run of a design: ``event`` only when every point is the SIR
    reduction on a plain network, else ``calendar``.

    Picking the kernel point by point (``engine="auto"``) would switch kernels at the edge of a
    range (``p_implicate = 0`` against ``1e-9``), and the kernels address their draws
    differently: the two runs of one replicate would differ by chance, not by the parameter.
    """
    for config in configs:
        network = config.network
        population = network.type == "population" or (
            network.type == "file" and network.path.suffix.lower() == ".npz"
        )
        if population or not config.model.reduces_to_sir():
            return "calendar"
    return "event"


def _without_sweep(config: ExperimentConfig) -> dict[str, Any]:
    """The resolved config of a single scenario: no ``[sweep]``, no ``[cluster]``."""
    data = config.resolved()
    data.pop("sweep", None)
    data.pop("cluster", None)
    return data


# ---------------------------------------------------------------------------------- the folder
def point_path(out: Path, point: int, kind: str = POINTS) -> Path:
    """The file of a finished point: ``DIR/points/part-000042.parquet`` (or ``DIR/series/...``)."""
    return Path(out) / kind / f"part-{point:06d}.parquet"


def finished_points(out: str | Path) -> set[int]:
    """Indices of the points whose summary files exist in ``out``."""
    folder = Path(out) / POINTS
    if not folder.is_dir():
        return set()
    return {int(p.stem.removeprefix("part-")) for p in folder.glob("part-*.parquet")}


def read_manifest(out: str | Path) -> dict[str, Any] | None:
    """The manifest of the sweep in ``out``, or None when there is none."""
    path = Path(out) / MANIFEST
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def prepare(sweep: Sweep, out: str | Path) -> list[int]:
    """Make ``out`` hold ``sweep`` (writing or checking its manifest); return the points to run."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise SweepError(f"--out: {out} exists and is not a folder")
    identity = sweep.identity
    existing = read_manifest(out)
    if existing is None:
        if out.is_dir() and any(out.iterdir()):
            raise SweepError(f"--out: {out} is not empty and holds no {MANIFEST}; use a new folder")
        out.mkdir(parents=True, exist_ok=True)
        manifest = {
            **identity,
            "version": diffusion.__version__,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "replicates": sweep.replicates,
            "seed_scheme": "SeedSequence(sweep.seed, spawn_key=(replicate,)) for every point",
        }
        atomic_write(out / MANIFEST, json.dumps(manifest, indent=1).encode())
    else:
        changed = changed_identity(existing, identity)
        if changed:
            raise SweepError(
                f"--out: {out} holds a different sweep (differs in {changed}); "
                "use a new folder, or delete it to start again"
            )
    for kind in (POINTS, SERIES) if sweep.config.sweep.time_series else (POINTS,):
        (out / kind).mkdir(exist_ok=True)
        remove_temporaries(out / kind)  # interrupted writes (the caller holds the lock)
    done = finished_points(out)
    return [i for i in range(len(sweep.design)) if i not in done]


# ---------------------------------------------------------------------------------- workers
@dataclass(frozen=True)
class PointResult:
    """What a task returns: per-replicate summaries, optional series, and its compute time."""

    point: int
    summaries: list[dict[str, float]]
    series: list[dict[str, np.ndarray]] | None
    seconds: float


class NetworkCache:
    """The networks of one worker process, keyed by content hash, least recently used first."""

    def __init__(self, budget_bytes: int = NETWORK_CACHE_BYTES) -> None:
        self.budget_bytes = budget_bytes
        self.builds = 0
        self._items: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str, config: ExperimentConfig) -> Any:
        """The network with content hash ``key``, built from ``config.network`` if not cached."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            network = config.network.build()
            self.builds += 1
            self._items[key] = network
            while len(self._items) > 1 and self._bytes() > self.budget_bytes:
                self._items.popitem(last=False)
            return network

    def _bytes(self) -> int:
        return sum(getattr(item, "nbytes", 0) for item in self._items.values())


NETWORKS = NetworkCache()
"""The cache of this process (each Dask worker process has its own)."""


def network_builds() -> int:
    """Networks this process has built for sweeps (``client.run(network_builds)`` per worker)."""
    return NETWORKS.builds


@lru_cache(maxsize=4)
def _config(payload: str) -> ExperimentConfig:
    return validate_config(json.loads(payload))


def run_point(
    payload: str,
    network_key: str,
    point: int,
    values: dict[str, Any],
    sweep_seed: int,
    replicates: int,
    time_series: bool,
    engine: Engine = "calendar",
) -> PointResult:
    """Run the replicates of one point (a Dask task); the network comes from the worker's cache."""
    start = time.perf_counter()
    config = _config(payload).with_overrides(values)
    world = World.of(NETWORKS.get(network_key, config))  # once for all replicates of the point
    params, holders = config.for_agents(world.n_agents)
    targets = config.calibration.load_targets() if config.calibration is not None else None
    summaries, series = [], [] if time_series else None
    for seed in replicate_seeds(sweep_seed, replicates):
        result = simulate(
            world, params, seeds=holders, rng=seed, steps=config.steps(), engine=engine
        )
        summary = result.summary()
        if targets is not None:
            statistics = targets.simulated(result, world)
            summary.update({f"{TARGET}{name}": value for name, value in statistics.items()})
        summaries.append(summary)
        if series is not None:
            columns = {name: result.counts[:, i] for i, name in enumerate(STATES)}
            series.append({**columns, "new_detections": result.new_detections})
    return PointResult(point, summaries, series, time.perf_counter() - start)


# ---------------------------------------------------------------------------------- the client
@dataclass(frozen=True)
class SweepOutcome:
    """How a sweep call went: points run now, points found finished, and the task times."""

    total: int
    skipped: int
    ran: int
    task_seconds: float


Progress = Callable[[int, int], None]
"""Called with (points finished, points in the sweep) at the start and after every point."""


def run_sweep(
    sweep: Sweep,
    out: str | Path,
    client: distributed.Client,
    progress: Progress | None = None,
    worker_timeout: float | None = WORKER_TIMEOUT,
) -> SweepOutcome:
    """Run the unfinished points of ``sweep`` on ``client``'s cluster, writing each as it ends.

    At most a few tasks per worker thread are in flight, so a sweep of any size keeps the
    scheduler's state small and an interrupt (Ctrl-C) cancels little work. Point files are
    written by one background thread, so the next tasks are handed out while a file is synced;
    on an interrupt the files already queued are finished, and rerunning resumes. Raises
    ``WorkersLost`` when no worker is connected for ``worker_timeout`` seconds (None: wait
    forever) or a task keeps killing its workers, and ``FolderLocked`` when another process is
    writing into ``out``.
    """
    with FolderLock(out):
        return _run_locked(sweep, Path(out), client, progress, worker_timeout)


def _run_locked(
    sweep: Sweep,
    out: Path,
    client: distributed.Client,
    progress: Progress | None,
    worker_timeout: float | None,
) -> SweepOutcome:
    pending = prepare(sweep, out)
    total = len(sweep.design)
    skipped = total - len(pending)
    if progress:
        progress(skipped, total)
    payload, digest, spec = sweep.task_payload(), _digest(sweep), sweep.config.sweep
    queue = iter(_by_network(sweep, pending))
    window = _Window(client)
    watch = _WorkerWatch(client, worker_timeout)
    futures = {}
    writes: deque[concurrent.futures.Future] = deque()
    written, task_seconds = 0, 0.0

    def submit() -> None:
        for point, key in _take(queue, window.size() - len(futures)):
            future = client.submit(
                run_point,
                payload,
                key,
                point,
                sweep.design.points[point],
                spec.seed,
                spec.replicates,
                spec.time_series,
                sweep.engine,
                key=f"diffusion-point-{digest}-{point}",
            )
            futures[point] = future

    def reap(block: bool) -> None:
        nonlocal written
        while writes and (block or writes[0].done()):
            writes.popleft().result()  # a failed write raises here
            written += 1
            if progress:
                progress(skipped + written, total)

    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="sweep-writer") as writer:
        try:
            submit()
            while futures:
                for future in _finished(list(futures.values())):
                    result = _result(future, lambda: watch.check(skipped + written, total))
                    futures.pop(result.point).release()
                    task_seconds += result.seconds
                    writes.append(writer.submit(write_point, out, sweep, result))
                submit()
                reap(block=False)
                watch.check(done=skipped + written, total=total)
            reap(block=True)
        finally:
            if futures:
                client.cancel(list(futures.values()))
    return SweepOutcome(total, skipped, written, task_seconds)


class _Window:
    """Tasks to keep in flight: four per worker thread (at least 16), rechecked every second."""

    def __init__(self, client: distributed.Client) -> None:
        self.client = client
        self._size = 0
        self._checked = -np.inf

    def size(self) -> int:
        now = time.monotonic()
        if now - self._checked > 1.0:
            self._size = max(16, 4 * sum(self.client.nthreads().values()))
            self._checked = now
        return self._size


class _WorkerWatch:
    """Notices when a cluster has had no worker for ``timeout`` seconds (see ``WorkersLost``)."""

    def __init__(self, client: distributed.Client, timeout: float | None) -> None:
        self.client = client
        self.timeout = timeout
        self._last_seen = time.monotonic()
        self._checked = -np.inf

    def check(self, done: int, total: int) -> None:
        now = time.monotonic()
        if self.timeout is None or now - self._checked < 1.0:
            return
        self._checked = now
        if self.client.nthreads():
            self._last_seen = now
        elif now - self._last_seen > self.timeout:
            raise WorkersLost(
                f"no worker has been connected for {now - self._last_seen:.0f} s "
                f"(all died and none came back), with {done} of {total} points done"
            )


def _finished(futures: list) -> set:
    """The futures among ``futures`` that finish within a second (maybe none)."""
    try:
        return distributed.wait(futures, timeout=1.0, return_when="FIRST_COMPLETED").done
    except TimeoutError:
        return set()


class _DropAbandonedWaits(logging.Filter):
    """Drops asyncio's "Task exception was never retrieved" for Dask's ``AllExit``: the one-second
    waits of ``_result`` that a sweep abandons when its workers are gone end that way when the
    client closes. It is expected, and a user should see only the sweep's own message."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], dask_client.AllExit))


logging.getLogger("asyncio").addFilter(_DropAbandonedWaits())


def _result(future, check_workers: Callable[[], None]) -> PointResult:
    """A task's result; a task that killed its workers again and again is ``WorkersLost``.

    A finished task's result may sit on a worker that dies before it is fetched: Dask then
    reruns the task, so the wait is in one-second slices that check for live workers between.
    """
    while True:
        try:
            return future.result(timeout=1.0)
        except TimeoutError:
            check_workers()
        except distributed.KilledWorker as exc:
            raise WorkersLost(
                "the workers running one task died repeatedly (out of memory, or killed)"
            ) from exc


def _take(iterator: Iterator, count: int) -> list:
    return [item for _, item in zip(range(count), iterator, strict=False)]


def _digest(sweep: Sweep) -> str:
    """A short hash of the sweep, to name its tasks on a shared scheduler."""
    return hashlib.sha256(canonical(sweep.identity).encode()).hexdigest()[:12]


def _by_network(sweep: Sweep, pending: list[int]) -> list[tuple[int, str]]:
    """Pending points with their network's content hash, those sharing a network together."""
    tagged = [(point, sweep.network_keys[point]) for point in pending]
    first_seen = {key: i for i, (_, key) in reversed(list(enumerate(tagged)))}
    return sorted(tagged, key=lambda item: (first_seen[item[1]], item[0]))


# ---------------------------------------------------------------------------------- writing
def write_point(out: Path, sweep: Sweep, result: PointResult) -> None:
    """Write a finished point: its series file, then its summary file (which marks it done)."""
    values = sweep.design.points[result.point]
    replicates = len(result.summaries)
    key = {
        "point": pa.array(np.full(replicates, result.point), pa.int64()),
        "replicate": pa.array(np.arange(replicates), pa.int64()),
    }
    params = {name: pa.array([values[name]] * replicates) for name in sweep.design.names}
    metadata = {b"diffusion.sweep": json.dumps({"point": result.point, "values": values}).encode()}
    if result.series is not None:
        lengths = [len(s["S"]) for s in result.series]
        repeat = np.repeat(np.arange(replicates), lengths)
        columns = {
            "point": pa.array(np.full(len(repeat), result.point), pa.int64()),
            "replicate": pa.array(repeat, pa.int64()),
            **{name: pa.array([values[name]] * len(repeat)) for name in sweep.design.names},
            "step": pa.array(np.concatenate([np.arange(n) for n in lengths]), pa.int64()),
        }
        for name in result.series[0]:
            columns[name] = pa.array(np.concatenate([s[name] for s in result.series]), pa.int64())
        _write_table(point_path(out, result.point, SERIES), pa.table(columns), metadata)
    summary = {name: [s[name] for s in result.summaries] for name in result.summaries[0]}
    table = pa.table({**key, **params, **{k: pa.array(v) for k, v in summary.items()}})
    _write_table(point_path(out, result.point), table, metadata)


def _write_table(path: Path, table: pa.Table, metadata: dict[bytes, bytes]) -> None:
    write_parquet(table.replace_schema_metadata(metadata), path)
