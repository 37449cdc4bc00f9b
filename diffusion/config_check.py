"""What a validated config will do, said without running it: ``diffusion check`` and warnings.

``describe`` turns an ``ExperimentConfig`` into ``(label, text)`` lines (network, agents, steps,
replicates, the kernel that will run, the sweep and where it runs); ``warnings`` lists what is
valid but almost certainly not meant, such as a scenario in which no one can ever be reached.
Neither builds the network, so both are instant even for the 25-million-agent country.
"""

from __future__ import annotations

from diffusion.config import ExperimentConfig, FileNetwork, PopulationNetwork

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
    return lines


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


def _medium_text(model, name: str) -> str:
    """A medium in use and how it spreads: ``usb (copied)``."""
    return f"{name} ({model.media[name].spread})"


def kernel(config: ExperimentConfig) -> str:
    """Which kernel ``simulate(engine="auto")`` will pick for this config, and why."""
    population = isinstance(config.network, PopulationNetwork) or (
        isinstance(config.network, FileNetwork) and config.network.path.suffix.lower() == ".npz"
    )
    if population:
        return "step (full model; a population records per-region counts)"
    if config.model.reduces_to_sir():
        return "event (the edge-wise SIR reduction, exact and fastest)"
    return "step (full model: a mechanism beyond the SIR reduction is on)"


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
    return found
