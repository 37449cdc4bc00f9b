"""The calendar: a step is one day from a start date, so schedules can be written with dates.

Step 1 is the day ``start``; step ``t`` is the day ``start + t - 1``. Row ``t`` of a result's
counts is the state at the end of step ``t``'s day, and row 0 the state before the first day
(dated the day before ``start``).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import numpy.typing as npt


def step_of(start: dt.date, day: dt.date) -> int:
    """The step that falls on ``day`` (1 for ``start`` itself; below 1 before it)."""
    return (day - start).days + 1


def day_of(start: dt.date, step: int) -> dt.date:
    """The day of step ``step``."""
    return start + dt.timedelta(days=step - 1)


def steps_until(start: dt.date, end: dt.date) -> int:
    """Number of steps from ``start`` up to and including ``end``."""
    return step_of(start, end)


def row_dates(start: dt.date, steps: int) -> npt.NDArray[np.datetime64]:
    """The date of each row of a run of ``steps`` steps: the day before ``start``, then each day."""
    return np.datetime64(start, "D") + np.arange(-1, steps, dtype=np.int64)
