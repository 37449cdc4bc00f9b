"""diffusion: how smuggled foreign media spreads over trust networks under state detection."""

from importlib.metadata import PackageNotFoundError, version

from diffusion.network import EDGE_KINDS, Network
from diffusion.params import Campaign, Params
from diffusion.results import STATES, Result
from diffusion.simulate import simulate

try:
    __version__ = version("diffusion")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "EDGE_KINDS",
    "STATES",
    "Campaign",
    "Network",
    "Params",
    "Result",
    "simulate",
    "__version__",
]
