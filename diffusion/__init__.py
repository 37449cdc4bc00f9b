"""diffusion: how smuggled foreign media spreads over trust networks under state detection."""

from importlib.metadata import PackageNotFoundError, version

from diffusion.network import Network
from diffusion.params import Campaign, Params
from diffusion.population import Population, PopulationConfig, build_population
from diffusion.result import STATES, Result
from diffusion.simulate import simulate
from diffusion.ties import EDGE_KINDS, TIE_KINDS

try:
    __version__ = version("diffusion")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

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
