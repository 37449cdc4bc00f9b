"""Benchmarks of the diffusion kernels: ``python -m benchmarks [--quick] [--json FILE]``.

See ``benchmarks/README.md`` for what is measured and ``benchmarks/harness.py`` for why the
timing uses the standard library's ``timeit``.
"""
