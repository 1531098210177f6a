"""The suite's own shape: shared helpers live in tests/helpers/, so that no test module
imports another test module or a conftest (each can be read, run and moved on its own)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent


def imported_modules(source: str, package: str) -> list[str]:
    """Every module `source` imports, relative imports resolved against `package`."""
    parts = package.split(".")
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = parts[: len(parts) - node.level + 1] if node.level else []
            module = ".".join([*base, node.module] if node.module else base)
            found.append(module)
            found += [f"{module}.{alias.name}" for alias in node.names]  # from . import test_x
    return found


def is_test_module_or_conftest(module: str) -> bool:
    last = module.rsplit(".", 1)[-1]
    return last == "conftest" or last.startswith("test_")


def forbidden_imports(source: str, package: str) -> list[str]:
    return [m for m in imported_modules(source, package) if is_test_module_or_conftest(m)]


def test_no_test_module_imports_another_test_module_or_a_conftest():
    offenders = {}
    for path in sorted(TESTS.rglob("*.py")):
        package = ".".join(["tests", *path.relative_to(TESTS).parent.parts])
        if found := forbidden_imports(path.read_text(encoding="utf-8"), package):
            offenders[str(path.relative_to(TESTS))] = found
    assert offenders == {}


@pytest.mark.parametrize(
    ("source", "module"),
    [
        ("from tests.conftest import TEST_PASSWORD", "tests.conftest"),
        ("from .conftest import log_in", "tests.e2e.conftest"),
        ("from . import test_display", "tests.e2e.test_display"),
        ("import tests.test_digests", "tests.test_digests"),
        ("from ..test_queries import count_queries", "tests.test_queries"),
        ("def f():\n    from tests.test_content import PAYLOADS", "tests.test_content"),
    ],
)
def test_the_check_catches_each_way_of_importing_one(source, module):
    assert module in forbidden_imports(source, "tests.e2e")


def test_the_check_lets_helpers_and_libraries_through():
    source = "import pytest\nfrom tests.helpers.app import TEST_PASSWORD\nfrom . import helpers\n"
    assert forbidden_imports(source, "tests") == []
