"""Parameter sweeps on Dask: ``designs`` (grid, random, Latin hypercube), ``run`` (points as
tasks, deterministic seeds, resume), ``clusters`` (local, scheduler, SLURM/PBS) and ``cli``
(the ``diffusion sweep`` command)."""
