"""What a run produces: ``result`` (the ``Result`` of one run and how each person was reached),
``io`` (the Parquet tables of a run folder), ``folder`` (writing a run folder as a unit, with
its lock) and ``plots`` (the figures drawn from a folder)."""

from diffusion.results.result import STATES, Reached, Result, gini

__all__ = ["STATES", "Reached", "Result", "gini"]
