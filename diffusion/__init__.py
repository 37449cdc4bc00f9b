"""diffusion: how smuggled foreign media spreads over trust networks under state detection."""

from diffusion.network import Network
from diffusion.params import Campaign, Params
from diffusion.population import Population, PopulationConfig, build_population
from diffusion.result import STATES, Result
from diffusion.simulate import simulate
from diffusion.ties import EDGE_KINDS, TIE_KINDS


def __getattr__(name: str) -> str:
    """``__version__``, read from the installed package's metadata on first use (importing
    ``importlib.metadata`` and scanning the installed packages is a tenth of ``--help``)."""
    if name != "__version__":
        raise AttributeError(f"module 'diffusion' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("diffusion")
    except PackageNotFoundError:  # running from a source tree that was never installed
        found = "0+unknown"
    globals()["__version__"] = found
    return found


__all__ = [
    "EDGE_KINDS",
    "STATES",
    "TIE_KINDS",
    "Campaign",
    "Network",
    "Params",
    "Population",
    "PopulationConfig",
    "Result",
    "build_population",
    "simulate",
    "__version__",
]
