"""The base of every error a user can act on, so the command line reports them all alike.

A ``DiffusionError`` is a mistake in what was asked (a config field, an output folder, a
scheduler address) or a condition that stops the work (memory, lost workers). The command line
(``diffusion.command``) prints its message as one line on standard error and exits with its
``exit_code``: 2 for a mistake found before any work, 1 for work that stopped. Subclasses keep
their older built-in base too (``ValueError``, ``MemoryError``, ...), so callers of the library
that catch those still do. This module imports nothing, so every layer may raise these.
"""

from __future__ import annotations


class DiffusionError(Exception):
    """A problem the user can act on; the message says what and what to do."""

    exit_code: int = 2
    """Exit status of the command line: 2 for a mistake found before any work, 1 for work that
    stopped (it can be resumed)."""


class OutputError(DiffusionError, ValueError):
    """The output folder cannot be used (the message says why and what to do)."""


class StoppedError(DiffusionError, RuntimeError):
    """Work that started and stopped (workers lost, disk full); what is done is kept."""

    exit_code = 1
