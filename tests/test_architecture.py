"""The shape of the package, as the README describes it: no import cycles (imports inside functions included),
a pure core that never reads the environment, and modules short enough to read.

The layer rules themselves are import-linter contracts in pyproject.toml (`lint-imports`, run by CI).
"""

from __future__ import annotations

import ast
from pathlib import Path

import grimp
import pytest

import mailflow

PACKAGE = Path(mailflow.__file__).parent
MAX_LINES = 500


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), i.e. every import cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in graph.modules or not imported.startswith("mailflow"):
                continue
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(graph.modules):
        if module.startswith("mailflow") and module not in index:
            visit(module)
    return found


def test_no_module_imports_itself_back_even_from_inside_a_function() -> None:
    graph = grimp.build_graph("mailflow")  # grimp reads imports inside functions too
    assert _cycles(graph) == []


def test_the_cycle_finder_sees_a_cycle() -> None:
    graph = grimp.ImportGraph()
    for module in ("mailflow.a", "mailflow.b", "mailflow.c"):
        graph.add_module(module)
    graph.add_import(importer="mailflow.a", imported="mailflow.b")
    graph.add_import(importer="mailflow.b", imported="mailflow.a")
    graph.add_import(importer="mailflow.b", imported="mailflow.c")
    assert _cycles(graph) == [["mailflow.a", "mailflow.b"]]


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_is_longer_than_a_reader_can_hold(path: Path) -> None:
    assert len(path.read_text(encoding="utf-8").splitlines()) <= MAX_LINES


def _reads_environment(tree: ast.AST) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "environb"):
            return True
        if isinstance(node, ast.ImportFrom) and node.module == "os":
            return any(alias.name in ("environ", "getenv", "environb") for alias in node.names)
    return False


@pytest.mark.parametrize(
    "path",
    [p for p in _modules() if p.relative_to(PACKAGE).parts[0] in ("core", "settings.py", "errors.py")],
    ids=lambda p: str(p.relative_to(PACKAGE)),
)
def test_the_core_never_reads_the_environment(path: Path) -> None:
    assert not _reads_environment(ast.parse(path.read_text(encoding="utf-8")))


def test_the_environment_check_sees_a_read() -> None:
    assert _reads_environment(ast.parse("import os\nos.environ.get('X')"))
    assert _reads_environment(ast.parse("from os import getenv"))
    assert not _reads_environment(ast.parse("import os.path\nos.path.join('a')"))
