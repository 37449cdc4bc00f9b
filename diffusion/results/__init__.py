"""What a run produces, kept: ``io`` (the Parquet tables of a run folder), ``folder`` (writing
a run folder as a unit, with its lock) and ``plots`` (the figures drawn from a folder).

The ``Result`` of one ``simulate`` call (and how each person was reached) belongs to the model
layer, ``diffusion.result``; it is re-exported here, where the tables are made of it."""

from diffusion.result import STATES, Reached, Result, gini

__all__ = ["STATES", "Reached", "Result", "gini"]
