"""The layers hold: no import cycle inside registry/, no module over 600 lines nor function over
80, the layout left to ruff format, the pure rules import nothing of the application, the kernel
imports nothing of the registry but itself, and the search layer knows nothing of the request
cycle."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from registry.config import PROJECT_ROOT

ROOT = PROJECT_ROOT / "registry"
# Within a pure rule, only the kernel and the other pure rules.
PURE_MAY_IMPORT = ("registry.kernel", "registry.pure")
APP_LIBRARIES = ("flask", "flask_login", "flask_wtf", "sqlalchemy", "werkzeug")


def _module(path: Path) -> str:
    parts = list(path.relative_to(PROJECT_ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module(p): p for p in ROOT.rglob("*.py")}


def _imported(name: str, path: Path) -> set[str]:
    """Every name imported by a module, at its top or inside a function (relative ones resolved)."""
    found: set[str] = set()
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package[: len(package) - node.level + 1], *filter(None, [base])])
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def _registry_imports(name: str) -> set[str]:
    """The registry modules a module imports (a name imported from a package counts as the
    submodule when there is one, else as the package)."""
    deps = set()
    for target in _imported(name, MODULES[name]):
        while target and target not in MODULES:
            target = target.rpartition(".")[0]
        if target and target != name:
            deps.add(target)
    return deps


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def test_architecture_has_no_import_cycle():
    graph = {name: _registry_imports(name) for name in MODULES}
    assert _cycles(graph) == []


# Rooms small enough to read whole: a module, and a function, that outgrow these are split.
MAX_MODULE_LINES, MAX_FUNCTION_LINES = 600, 80


def test_architecture_rooms_are_small():
    too_long = []
    for name, path in sorted(MODULES.items()):
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > MAX_MODULE_LINES:
            too_long.append(f"{name}: {text.count(chr(10))} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_long.append(f"{name}.{node.name}: {length} lines")
    assert too_long == []


def test_architecture_layout_belongs_to_ruff_format():
    skips = [name for name, path in MODULES.items() if "fmt: skip" in path.read_text("utf-8")]
    assert skips == []


@pytest.mark.parametrize("package", ["registry.pure", "registry.kernel"])
def test_architecture_pure_and_kernel_stand_alone(package):
    allowed = PURE_MAY_IMPORT if package == "registry.pure" else ("registry.kernel",)
    offenders = {
        f"{name} imports {target}"
        for name, path in MODULES.items()
        if name.startswith(package)
        for target in _imported(name, path)
        if (target.startswith("registry") and not target.startswith(allowed))
        or (package == "registry.pure" and target.split(".")[0] in APP_LIBRARIES)
    }
    assert offenders == set()


def test_architecture_search_knows_no_request():
    offenders = {
        f"{name} imports {target}"
        for name, path in MODULES.items()
        if name.startswith("registry.search")
        for target in _imported(name, path)
        if target in {"flask.g", "flask.request", "flask.after_this_request", "flask.session"}
        or target.startswith("registry.web")
    }
    assert offenders == set()
