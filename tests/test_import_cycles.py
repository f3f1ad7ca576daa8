"""The package's imports form no cycle, and every module says in its first line what it is for.

The data flows one way (task → format → split → dataset repo → train → generate → score → card
→ publish), so a module can be read without the ones above it. The graph is drawn from the
source with ``ast``: every ``import`` / ``from … import`` of a package module counts, including
those inside functions (a lazy import hides a cycle, it does not remove it). ``from pkg import
sub`` counts as importing ``pkg.sub``, not the package itself.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "hf_reasoning"


def module_files() -> dict[str, Path]:
    modules = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    return modules


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                subs = [f"{source}.{a.name}" for a in node.names if f"{source}.{a.name}" in modules]
                targets = subs + ([source] if len(subs) < len(node.names) else [])
            else:
                continue
            graph[name].update(t for t in targets if t in modules and t != name)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_package_has_no_import_cycle():
    graph = import_graph(module_files())
    found = cycles(graph)
    assert not found, "import cycles: " + "; ".join(
        " ↔ ".join(c) + " (" + ", ".join(f"{a} → {b}" for a in c for b in sorted(graph[a] & set(c))) + ")" for c in found)


def test_the_cycle_finder_finds_cycles():
    """The detector itself, on a graph with a known cycle and a known acyclic part."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_graph_sees_lazy_and_relative_imports(tmp_path):
    """A function-level relative import is an edge (the hub → cards → evaluation → hub circle was one)."""
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text('"""p."""\n')
    (pkg / "a.py").write_text('"""a."""\ndef f():\n    from .b import g\n')
    (pkg / "b.py").write_text('"""b."""\nfrom . import a\n')
    modules = {"pkg": pkg / "__init__.py", "pkg.a": pkg / "a.py", "pkg.b": pkg / "b.py"}
    assert cycles(import_graph(modules)) == [["pkg.a", "pkg.b"]]


@pytest.mark.parametrize("name", sorted(module_files()))
def test_every_module_opens_with_a_docstring_line(name):
    path = module_files()[name]
    docstring = ast.get_docstring(ast.parse(path.read_text()))
    assert docstring and docstring.splitlines()[0].strip(), f"{path} has no docstring saying what it is for"
