"""Entry strategies: where, to whom and when to send copies, compared with common random numbers.

``config`` (the ``[strategy]`` section), ``placement`` (a rule to the copies of one run),
``evaluate`` (strategies x replicates on Dask, one file per finished task, resumable),
``report`` (means, intervals and paired differences), ``search`` (lazy-greedy placement),
``pareto`` (the reach-vs-arrests front), ``plots`` and ``cli`` (``diffusion strategy``).
"""
