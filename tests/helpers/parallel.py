"""A pytest plugin (`-p tests.helpers.parallel` in pyproject's addopts): run on two
pytest-xdist workers by default, the process tests kept together (`--dist loadgroup`).

It adds `-n 2 --dist loadgroup` only when xdist is loaded and the command names neither
`-n`/`--numprocesses` nor `--dist`, so `pytest -n 0` and `pytest -p no:xdist` run in one
process as before. Two workers because these machines have two cores; see workers.py for
what each worker gets to itself.
"""

from __future__ import annotations

import os

DEFAULT_WORKERS = "2"


def pytest_load_initial_conftests(early_config, parser, args):
    if os.environ.get("PYTEST_XDIST_WORKER") or not early_config.pluginmanager.has_plugin("xdist"):
        return
    options = early_config.known_args_namespace
    if getattr(options, "numprocesses", None) is not None or any(
        arg == "--dist" or arg.startswith("--dist=") for arg in args
    ):
        return
    args[:] = ["-n", DEFAULT_WORKERS, "--dist", "loadgroup", *args]
