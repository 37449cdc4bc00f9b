"""Global sensitivity analysis of a scenario (``diffusion sensitivity``, SALib).

Morris screening first (``design``, ``analysis``), then Sobol indices with bootstrap intervals
on the parameters that survive it; each stage's runs are a sweep of listed points on Dask
(``diffusion.sweep``), so a stage resumes and its runs do not depend on the workers
(``run``). ``report`` writes the tables, the figures and the summary; ``config`` is the
``[sensitivity]`` section.
"""
