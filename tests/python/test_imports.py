"""The runner's modules import each other without a circle: not at the top, and not inside a
function either (an import there hides a circle until the function runs)."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import shotzones

PACKAGE_DIR = Path(shotzones.__file__).parent


def module_names() -> dict[str, Path]:
    """shotzones.x.y -> its file, for every module of the package."""
    names = {}
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        parts = ["shotzones", *path.relative_to(PACKAGE_DIR).with_suffix("").parts]
        names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return names


def imported(name: str, path: Path, modules: set[str]) -> set[str]:
    """The shotzones modules `name` imports anywhere in its file, each with the packages its import
    runs first (those that do not hold `name`)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1], base]).strip(".")
            # `from shotzones import ledger` imports the module shotzones.ledger
            targets |= {f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names}
    found = set()
    for target in targets & modules:
        parts = target.split(".")
        found |= {
            ancestor
            for ancestor in (".".join(parts[:end]) for end in range(1, len(parts) + 1))
            if ancestor in modules and not (name == ancestor or name.startswith(ancestor + "."))
        }
    return found


def import_graph() -> dict[str, set[str]]:
    modules = module_names()
    return {name: imported(name, path, set(modules)) for name, path in modules.items()}


def find_circle(graph: dict[str, set[str]]) -> list[str] | None:
    """One circle of the graph, as the path around it, or None."""
    done: set[str] = set()
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        if node in path:
            return path[path.index(node) :] + [node]
        if node in done:
            return None
        path.append(node)
        for target in sorted(graph[node]):
            circle = visit(target)
            if circle:
                return circle
        path.pop()
        done.add(node)
        return None

    for node in sorted(graph):
        circle = visit(node)
        if circle:
            return circle
    return None


def test_every_module_imports():
    for name in module_names():
        importlib.import_module(name)


def test_no_module_imports_another_in_a_circle():
    circle = find_circle(import_graph())
    assert circle is None, "import circle: " + " -> ".join(circle)


def test_a_circle_through_an_import_inside_a_function_is_found(tmp_path):
    (tmp_path / "a.py").write_text("from shotzones import b\n")
    (tmp_path / "b.py").write_text("def later():\n    from shotzones.a import thing\n")
    modules = {"shotzones", "shotzones.a", "shotzones.b"}
    graph = {"shotzones": set()} | {
        f"shotzones.{n}": imported(f"shotzones.{n}", tmp_path / f"{n}.py", modules) for n in "ab"
    }
    assert find_circle(graph) == ["shotzones.a", "shotzones.b", "shotzones.a"]
    assert find_circle({"a": {"b"}, "b": set()}) is None
