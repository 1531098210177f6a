"""Kindred's benchmarks: seeders, page and load runners (see bench/README.md).

Run from the repository root as modules, e.g. `python -m bench.run`.
"""
