"""No import cycle in forum/: each module depends only on modules below it.

A cycle works until someone moves an import line, then fails at start-up with a
half-initialised module; it also means two ideas that cannot be understood apart.
"""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

from tests.helpers.import_graph import cycles, module_graph

FORUM = Path(__file__).resolve().parent.parent / "forum"


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "pkg"
    for name, text in {"__init__.py": "", **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dedent(text), encoding="utf-8")
    return root


def test_forum_has_no_import_cycles():
    found = cycles(module_graph(FORUM))
    assert not found, "import cycles in forum/:\n" + "\n".join(" -> ".join(c) for c in found)


def test_the_graph_of_forum_sees_the_services_imports():
    graph = module_graph(FORUM)
    assert "forum.services.post_state" in graph["forum.services.posting"]
    assert "forum.services.review_items" in graph["forum.services.moderation"]
    assert "forum.services" in graph["forum.services.posting"]  # `from . import audit, ...`
    assert "forum.services.audit" in graph["forum.services.posting"]
    # create_app's imports are edges, with the packages they run first...
    assert {"forum.boards", "forum.boards.views", "forum.cli"} <= graph["forum"]
    # ...and a submodule does not run the package it is part of: no edge back to `forum`.
    assert "forum" not in graph["forum.boards.views"]


def test_a_cycle_of_two_modules_is_found(tmp_path):
    package = _package(
        tmp_path,
        {"a.py": "from . import b\n", "b.py": "from .a import THING\nTHING = 1\n"},
    )
    assert cycles(module_graph(package)) == [["pkg.a", "pkg.b", "pkg.a"]]


def test_a_cycle_of_three_modules_is_found_through_absolute_imports(tmp_path):
    package = _package(
        tmp_path,
        {
            "a.py": "import pkg.sub.b\n",
            "sub/__init__.py": "",
            "sub/b.py": "from pkg import c\n",  # c is a module: this imports pkg.c
            "c.py": "from pkg.a import THING\n",
            "d.py": "import pkg.a\n",  # leads into the cycle, is not part of it
        },
    )
    assert cycles(module_graph(package)) == [["pkg.a", "pkg.sub.b", "pkg.c", "pkg.a"]]


def test_every_separate_cycle_is_named(tmp_path):
    package = _package(
        tmp_path,
        {
            "a.py": "from . import b\n",
            "b.py": "from . import a\n",
            "c.py": "from . import d\n",
            "d.py": "try:\n    from . import c\nexcept ImportError:\n    pass\n",
            "e.py": "import pkg.e\n",
        },
    )
    assert cycles(module_graph(package)) == [
        ["pkg.a", "pkg.b", "pkg.a"],
        ["pkg.c", "pkg.d", "pkg.c"],
        ["pkg.e", "pkg.e"],
    ]


def test_an_import_moved_into_a_function_is_still_a_cycle(tmp_path):
    package = _package(
        tmp_path,
        {
            "a.py": "from . import b\n",
            "b.py": """
                class Later:
                    def method(self):
                        from . import a

                        return a
            """,
        },
    )
    assert module_graph(package)["pkg.b"] == {"pkg.a"}
    assert cycles(module_graph(package)) == [["pkg.a", "pkg.b", "pkg.a"]]


def test_importing_a_submodule_runs_its_package_first(tmp_path):
    package = _package(
        tmp_path,
        {
            "a.py": "import pkg.sub.b\n",  # runs pkg/sub/__init__.py before pkg/sub/b.py
            "sub/__init__.py": "from pkg import a\n",
            "sub/b.py": "",
        },
    )
    assert module_graph(package)["pkg.a"] == {"pkg.sub", "pkg.sub.b"}
    assert cycles(module_graph(package)) == [["pkg.a", "pkg.sub", "pkg.a"]]


_FACTORY = """
    def create_app():
        from .views import bp

        return bp
"""


def test_a_package_factory_may_import_the_submodules_that_import_each_other(tmp_path):
    # pkg/views.py runs only once pkg/__init__.py has begun: importing its sibling does not
    # run the package again, so the factory's import of views is no cycle.
    package = _package(
        tmp_path,
        {
            "__init__.py": _FACTORY,
            "views.py": "from pkg.models import User\nbp = User\n",
            "models.py": "from . import extensions\nUser = 1\n",
            "extensions.py": "",
        },
    )
    assert module_graph(package)["pkg"] == {"pkg.views"}
    assert module_graph(package)["pkg.views"] == {"pkg.models"}
    assert cycles(module_graph(package)) == []


def test_a_submodule_that_reads_a_name_from_its_package_factory_is_a_cycle(tmp_path):
    package = _package(
        tmp_path,
        {
            "__init__.py": _FACTORY,
            "views.py": "bp = 1\n",
            "cli.py": "def run():\n    from pkg import create_app\n",
            "models.py": "import pkg.cli\n",  # pkg.cli is a module: no edge to pkg itself
        },
    )
    assert cycles(module_graph(package)) == []
    (package / "views.py").write_text("from .models import thing\nbp = 1\n", encoding="utf-8")
    (package / "models.py").write_text("from .cli import run\nthing = 1\n", encoding="utf-8")
    assert cycles(module_graph(package)) == [["pkg", "pkg.views", "pkg.models", "pkg.cli", "pkg"]]


def test_an_import_under_type_checking_is_not_a_cycle(tmp_path):
    package = _package(
        tmp_path,
        {
            "a.py": "from . import b\n",
            "b.py": """
                import typing
                from typing import TYPE_CHECKING

                if TYPE_CHECKING:
                    from .a import Thing
                if typing.TYPE_CHECKING:
                    import pkg.a
            """,
        },
    )
    assert cycles(module_graph(package)) == []


def test_the_else_of_type_checking_and_a_class_body_do_run_on_loading(tmp_path):
    package = _package(
        tmp_path,
        {
            "a.py": "from . import b\n",
            "b.py": """
                from typing import TYPE_CHECKING

                if TYPE_CHECKING:
                    pass
                else:
                    from . import c
            """,
            "c.py": "class Late:\n    from . import a\n",
        },
    )
    assert cycles(module_graph(package)) == [["pkg.a", "pkg.b", "pkg.c", "pkg.a"]]
