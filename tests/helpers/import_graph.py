"""The import graph of a package, read from its source with `ast`, and the cycles in it.

An edge a -> b means module a imports module b, whenever that import runs: on loading,
or later inside a function (moving an import into a function changes when it runs, not
that the two modules depend on each other). Only imports under `if TYPE_CHECKING:`,
which never run, are left out. `from x import y` where x.y is a module counts as
importing x.y; otherwise it imports x.

Importing x.y.z also runs x/__init__.py and x/y/__init__.py, so a's edges include those
packages, except the ones that contain a itself: Python has begun loading every package
around a before a's first line runs, so an import in a never runs them. A name read from
one of them (`from forum import create_app`) is still an edge to it, as any import is.
That is what lets a package's `__init__` import its own submodules (the app factory
registering its blueprints) while they import each other.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from pathlib import Path

Graph = dict[str, set[str]]


def module_graph(package_dir: Path) -> Graph:
    """Every module of the package at `package_dir` (its subpackages too), with the
    modules of the same package each one imports, on loading or when a function runs."""
    sources = {_module_name(path, package_dir): path for path in package_dir.rglob("*.py")}
    graph: Graph = {}
    for name, path in sources.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        enclosing = _enclosing_packages(name, is_package)
        graph[name] = {
            module
            for node in _imports(tree.body)
            for target in _targets(node, name, is_package, sources)
            for module in (target, *_parents(target, sources))
            if module == target or module not in enclosing
        }
    return graph


def _module_name(path: Path, package_dir: Path) -> str:
    parts = [package_dir.name, *path.relative_to(package_dir).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _enclosing_packages(name: str, is_package: bool) -> set[str]:
    """The packages Python has begun loading before module `name` runs (itself, if it is
    a package's `__init__`)."""
    parts = name.split(".")
    return {".".join(parts[:end]) for end in range(1, len(parts) + int(is_package))}


def _parents(module: str, known: dict) -> Iterator[str]:
    """The packages that importing `module` loads first, outermost first."""
    parts = module.split(".")
    for end in range(1, len(parts)):
        if (package := ".".join(parts[:end])) in known:
            yield package


def _imports(nodes: Iterable[ast.AST]) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement in `nodes`, at any depth (module level, class bodies,
    functions, try, with, match...), except those under `if TYPE_CHECKING:`."""
    for node in nodes:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from _imports(node.orelse)
        else:
            yield from _imports(ast.iter_child_nodes(node))


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _targets(
    node: ast.Import | ast.ImportFrom, importer: str, is_package: bool, known: dict
) -> Iterator[str]:
    if isinstance(node, ast.Import):
        for alias in node.names:
            if (found := _nearest_module(alias.name, known)) is not None:
                yield found
        return
    base = node.module or ""
    if node.level:
        package = importer if is_package else importer.rpartition(".")[0]
        for _ in range(node.level - 1):
            package = package.rpartition(".")[0]
        base = f"{package}.{base}" if base else package
    for alias in node.names:
        if f"{base}.{alias.name}" in known:
            yield f"{base}.{alias.name}"
        elif (found := _nearest_module(base, known)) is not None:
            yield found


def _nearest_module(dotted: str, known: dict) -> str | None:
    while dotted and dotted not in known:
        dotted = dotted.rpartition(".")[0]
    return dotted or None


def cycles(graph: Graph) -> list[list[str]]:
    """Each import cycle, as a path that starts and ends at the same module: one for every
    strongly connected component of more than one module (or a module importing itself)."""
    found = []
    for component in _strongly_connected(graph):
        start = min(component)
        if len(component) > 1 or start in graph[start]:
            found.append(_path_back(graph, start, component))
    return sorted(found)


def _strongly_connected(graph: Graph) -> list[set[str]]:
    """Tarjan's algorithm, iterative (a deep package must not hit the recursion limit)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    components.append(component)
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return components


def _path_back(graph: Graph, start: str, component: set[str]) -> list[str]:
    """A shortest way from `start` back to itself inside its component."""
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(graph[node] & component):
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return [start, *reversed(path[:-1]), start]
                if child not in came_from:
                    came_from[child] = node
                    following.append(child)
        frontier = following
    raise AssertionError(f"{start} is not on a cycle")
