"""Heavy libraries imported on first use, so that ``diffusion --help`` does not load them.

igraph alone took 0.6 s of the 1.4 s of CPU that ``diffusion --help`` spent importing (it loads
matplotlib for its drawing module). A module that uses such a library in several places binds it
at module level with ``lazy_module``; the library is imported when one of its attributes is
first read, i.e. when a network is actually built or read.
"""

from __future__ import annotations

import importlib
from typing import Any


class lazy_module:  # noqa: N801 (used as a module: igraph = lazy_module("igraph"))
    """Stands for the module ``name`` and imports it when one of its attributes is first read.

    Not ``importlib.util.LazyLoader``: that puts a half-imported module in ``sys.modules``,
    which ``inspect.getmodule`` (run by pydantic for every model's field docstrings) touches,
    importing the library anyway.
    """

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        return getattr(importlib.import_module(self._name), attribute)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}>"
