"""What a validated config will do, said without running it: ``diffusion check`` and warnings.

``describe`` turns an ``ExperimentConfig`` into ``(label, text)`` lines (network, agents, steps,
replicates, the kernel that will run, the sweep and where it runs); ``warnings`` lists what is
valid but almost certainly not meant, such as a scenario in which no one can ever be reached.
Neither builds the network, so both are instant even for the 25-million-agent country.
"""

from __future__ import annotations

import difflib
import math

from diffusion._memory import check_fits, format_bytes
from diffusion.config import ConfigError, ExperimentConfig, FileNetwork, PopulationNetwork
from diffusion.params import DEFAULT_MEDIA, MAX_STEPS, Params
from diffusion.sensitivity.config import SensitivityConfig

N_STATES = 5
"""Counts recorded per region and step (S, W, I, R, D: ``diffusion._media``)."""
SERIES_COLUMNS = N_STATES + 1
"""Counts of the whole run recorded per step (the states and the new detections)."""
PER_MEDIUM = 6
"""Counts recorded per medium and step (``diffusion._media.MEDIUM_COLUMNS``)."""
BUFFER_COPIES = 3
"""Peak memory of a run's result buffers in multiples of their size: a C++ vector grows by
doubling (up to twice the size held) and is copied into numpy when the run ends."""
BYTES_PER_COPY = 24
"""Memory of one placed copy while a strategy's entry is drawn (day, recipient, medium and the
sort that orders them)."""

MECHANISMS: tuple[tuple[str, str], ...] = (
    ("mode", "group viewings"),
    ("campaigns", "crackdown campaigns"),
    ("informant_risk", "informants"),
    ("p_bribe", "bribes"),
    ("p_implicate", "implication"),
    ("fear_steps", "fear"),
)
"""``Params`` fields whose non-default value switches on a mechanism beyond plain SIR."""


def describe(config: ExperimentConfig) -> list[tuple[str, str]]:
    """The run that ``config`` asks for, as ``(label, text)`` lines for a terminal."""
    network, model, run = config.network, config.model, config.run
    n = network.size()
    lines = [("network", _network_text(config)), ("agents", f"{n:,}" if n else "from the file")]
    seeds = run.seeds if isinstance(run.seeds, int) else len(run.seeds)
    entry = ", then smuggled copies (model.entry_rate, model.entry)" if model.has_entry() else ""
    lines.append(("initial holders", f"{seeds}{entry}"))
    steps = config.steps()
    calendar = f" from {model.start}" if model.start and steps else ""
    lines.append(("steps", f"{steps}{calendar}" if steps else "until no one holds a copy"))
    lines.append(("media in use", ", ".join(_medium_text(model, m) for m in model.media_in_use())))
    lines.append(("replicates", f"{run.replicates} (root seed {run.seed})"))
    lines.append(("kernel", kernel(config)))
    default = type(model).model_fields
    on = [name for field, name in MECHANISMS if getattr(model, field) != default[field].default]
    on += ["smuggled entry"] if model.has_entry() else []
    lines.append(("mechanisms", ", ".join(on) if on else "none beyond SIR with detection"))
    if config.sweep is not None:
        sweep = config.sweep
        paths = ", ".join(sweep.parameters)
        text = f"{sweep.design} design over {paths}; {sweep.replicates} replicates per point"
        lines.append(("sweep", text))
        lines.append(("sweep runs on", config.cluster.type))
    if config.calibration is not None:
        fit = config.calibration
        text = f"priors on {', '.join(fit.priors)}; targets {fit.targets.name}; seed {fit.seed}"
        lines.append(("calibration", text))
    if config.sensitivity is not None or config.calibration is not None:
        lines.append(("sensitivity", _sensitivity_text(config)))
    if config.strategy is not None:
        strategy = config.strategy
        names = ", ".join(s.name for s in strategy.compare)
        search = strategy.search
        search = "" if search is None else f"; a search for {search.copies} copies"
        text = f"{len(strategy.compare)} strategies ({names}), reference {strategy.reference_name}"
        lines.append(("strategy", text + search))
    lines.append(("memory", memory_text(config, config.run.replicates)))
    return lines


def _sensitivity_text(config: ExperimentConfig) -> str:
    """The analysed parameters and sample sizes of ``diffusion sensitivity`` on ``config``."""
    settings = config.sensitivity or SensitivityConfig()
    ranges = settings.ranges(config)
    return (
        f"{len(ranges)} parameters ({', '.join(ranges)}); Morris {settings.morris.trajectories} "
        f"trajectories, Sobol N = {settings.sobol.samples}"
    )


def horizon(config: ExperimentConfig) -> int:
    """Steps a run of ``config`` takes: ``run.steps`` (or ``run.end``), else an estimate.

    Without a step count a run goes on until no one holds a copy. Each holder stops with
    probability at least ``q`` a step (it ceases, ``gamma``, or the least detectable medium in
    use is detected, after the last campaign); the last of ``n`` holders then stops after about
    ``ln(n) / q`` steps, counted from the last campaign. A run that would take more than
    ``MAX_STEPS`` is a ``ConfigError`` asking for ``run.steps``, as one over it given is.
    """
    steps = config.steps()
    if steps is not None:
        return steps
    model = config.model
    least = min((model.detection_probability(m) for m in model.media_in_use()), default=1.0)
    q = 1 - (1 - model.gamma) * (1 - least)
    n = config.network.size() or 2
    last = max((model.step_of(c.end) for c in model.campaigns), default=0)
    expected = last + math.log(max(n, 2)) / q if q > 0 else math.inf
    if expected > MAX_STEPS:
        raise ConfigError(
            [
                f"run.steps: required: holders stop with probability {q:.3g} a step, so a run "
                f"would last about {expected:.3g} steps (at most {MAX_STEPS}); set run.steps"
            ]
        )
    return math.ceil(expected)


def memory_needed(config: ExperimentConfig, results_held: int = 1) -> tuple[int, str]:
    """Bytes a run of ``config`` needs, and what they are for, before anything is built.

    The network (or population) as it is built, the result buffers of a run (steps x regions x
    media counts, at their peak while they grow) and the ``results_held`` - 1 finished runs kept
    beside it (``diffusion run`` keeps every replicate's results), and a strategy's copies.
    """
    network = config.network
    n = network.size()
    steps = horizon(config)
    regions = network.n_regions if isinstance(network, PopulationNetwork) else 1
    media = len(config.model.media)
    per_step = 8 * (SERIES_COLUMNS + media * PER_MEDIUM + regions * N_STATES)
    buffers = (steps + 1) * per_step
    copies = 0
    if config.strategy is not None and n is not None:
        strategy = config.strategy
        budgets = [s.budget or strategy.budget for s in strategy.compare]
        per_year = max((sum(b.values()) for b in budgets), default=0.0)
        copies = math.ceil(per_year * steps / 365 * n / strategy.population)
    needed = (
        network.memory_bytes()
        + buffers * (BUFFER_COPIES + max(0, results_held - 1))
        + BYTES_PER_COPY * copies
    )
    agents = f"{n} agents" if n is not None else "the file's agents"
    what = f"the {network.type} network of {agents} and"
    what += f" {steps + 1} steps x {regions} regions x {media} media of results"
    if results_held > 1:
        what += f" for {results_held} replicates"
    if copies:
        what += f" and {copies:,} placed copies"
    return needed, what


def check_memory(config: ExperimentConfig, results_held: int = 1) -> None:
    """Refuse (``NotEnoughMemory``, one line) a run that cannot fit, before building anything."""
    needed, what = memory_needed(config, results_held)
    check_fits(needed, what)


def memory_text(config: ExperimentConfig, results_held: int = 1) -> str:
    """The memory a run needs, for ``diffusion check``."""
    needed, what = memory_needed(config, results_held)
    return f"about {format_bytes(needed)} ({what})"


def _network_text(config: ExperimentConfig) -> str:
    """The network's type and its main settings."""
    network = config.network
    if isinstance(network, PopulationNetwork):
        border = (
            "border: the provinces on China"
            if network.regions == "census"
            else f"{network.border_regions} border"
        )
        return (
            f"population: {network.n_regions} {network.regions} regions ({border}), "
            f"travel {network.travel:g}, seed {network.seed}"
        )
    if isinstance(network, FileNetwork):
        return f"file: {network.path}"
    settings = network.model_dump(exclude={"type"})
    return f"{network.type}: " + ", ".join(f"{k} {v}" for k, v in settings.items())


def _medium_text(model: Params, name: str) -> str:
    """A medium in use and how it spreads: ``usb (copied)``."""
    return f"{name} ({model.media[name].spread})"


def kernel(config: ExperimentConfig) -> str:
    """Which kernel ``simulate(engine="auto")`` will pick for this config, and why."""
    population = isinstance(config.network, PopulationNetwork) or (
        isinstance(config.network, FileNetwork) and config.network.path.suffix.lower() == ".npz"
    )
    if population:
        return "calendar (full model; a population records per-region counts)"
    if config.model.reduces_to_sir():
        return "event (the edge-wise SIR reduction, exact and fastest)"
    return "calendar (full model: a mechanism beyond the SIR reduction is on)"


def warnings(config: ExperimentConfig) -> list[str]:
    """Valid settings that make a run pointless; each line names the fields to change."""
    found = []
    run, model = config.run, config.model
    no_seeds = run.seeds == 0 or run.seeds == []
    if no_seeds and not model.has_entry():
        found.append(
            "no one can ever be reached: run.seeds is 0 and no copies enter "
            "(set run.seeds to a number of initial holders, or model.entry_rate > 0)"
        )
    found += [_unused_medium(model, name) for name in unused_media(config)]
    return found


def unused_media(config: ExperimentConfig) -> list[str]:
    """Media the config declares (new, or a shipped one changed) that nothing can ever carry.

    A medium is used when a mix (``model.mix``, an entry's mix) or a strategy names it (a sweep
    cannot change a mix, so it cannot bring a medium into use). Anything else is most often a
    misspelt table name (``[model.media.ubs]``), which pydantic accepts as a new medium while
    the intended ``usb`` setting is silently dropped.
    """
    model = config.model
    named: set[str] = set(model.mix)
    named.update(m for change in model.entry if change.mix is not None for m in change.mix)
    if config.strategy is not None:
        named.update(config.strategy.budget)
        for strategy in config.strategy.compare:
            named.update(strategy.budget or {})
        if config.strategy.search is not None:
            named.add(config.strategy.search.medium)
    declared = [
        name
        for name, medium in model.media.items()
        if name not in DEFAULT_MEDIA or medium != DEFAULT_MEDIA[name]
    ]
    return [name for name in declared if name not in named]


def _unused_medium(model: Params, name: str) -> str:
    """``model.media.ubs: declared but never used by a mix or entry (did you mean 'usb'?)``."""
    others = [m for m in model.media if m != name]
    close = difflib.get_close_matches(name, others, n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"model.media.{name}: declared but never used by a mix or entry{hint}"
