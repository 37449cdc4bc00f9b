"""Field types and the section base shared by the config sections of every layer.

Every count and seed has an upper bound, so that no value can make a run allocate without limit
or overflow the 64-bit integers of the result files: seeds are below 2**63 (Parquet's int64),
replicates and sweep points at most ``MAX_REPLICATES`` and ``MAX_POINTS``, agents below 2**31
(the kernels' int32 ids).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from diffusion.network import MAX_AGENTS

MAX_REPLICATES = 10**6
"""Most replicates of a run or of a sweep point."""
MAX_POINTS = 10**6
"""Most points of a sweep design."""

Seed = Annotated[int, Field(ge=0, lt=2**63)]
"""A random seed: stored as a 64-bit signed integer in the result files."""
AgentCount = Annotated[int, Field(ge=1, le=MAX_AGENTS)]
AgentId = Annotated[int, Field(ge=0, lt=MAX_AGENTS)]
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]
Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.@+-]{1,64}$")]
"""A queue or account name: goes into a batch script, so no spaces, quotes or newlines."""


class Section(BaseModel):
    """Base of every config section: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)
