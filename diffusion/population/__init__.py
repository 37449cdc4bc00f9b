"""The synthetic country: agents in regions nested in the census provinces, households, viewing
circles, traders and informants, and the trust network their groups imply.

``config`` holds the builder's options, ``provinces`` the census figures they follow, ``build``
the vectorised construction, ``population`` the ``Population`` it returns, ``io`` its ``.npz``
storage and ``summary`` its description with igraph.
"""

from diffusion.population.config import PopulationConfig
from diffusion.population.population import (
    AGENT_ARRAYS,
    FORMAT_VERSION,
    Groups,
    Population,
    build_population,
)
from diffusion.population.provinces import PROVINCES

__all__ = [
    "AGENT_ARRAYS",
    "FORMAT_VERSION",
    "PROVINCES",
    "Groups",
    "Population",
    "PopulationConfig",
    "build_population",
]
