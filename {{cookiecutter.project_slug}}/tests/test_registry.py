"""Infrastructure knows no workflow: the registry is the one place that lists the modules."""

from __future__ import annotations

import ast
from pathlib import Path

from {{ cookiecutter.package_name }} import registry

from .helpers import PACKAGE, PROJECT_ROOT

SOURCE = PROJECT_ROOT / "src" / PACKAGE
INFRASTRUCTURE = [
    "cli",
    "config.py",
    "db.py",
    "dev.py",
    "health.py",
    "logs.py",
    "progress.py",
    "temporal",
]


def imported_modules(path: Path) -> set[str]:
    """Every module a Python file imports, as absolute names."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def test_infrastructure_imports_no_workflow_module() -> None:
    files = [p for name in INFRASTRUCTURE for p in sorted((SOURCE / name).glob("**/*.py"))]
    files += [SOURCE / name for name in INFRASTRUCTURE if name.endswith(".py")]
    assert len(files) > len(INFRASTRUCTURE)
    for path in files:
        for imported in imported_modules(path):
            for module in registry.WORKFLOW_MODULES:
                assert not (imported + ".").startswith(module + "."), f"{path} imports {imported}"


def test_every_listed_module_is_loaded_with_names_of_its_own() -> None:
    modules = registry.load()
    assert [module.package for module in modules] == registry.WORKFLOW_MODULES
    types = [module.workflow_type for module in modules]
    tables = [module.table for module in modules]
    assert len(set(types)) == len(types)
    assert len(set(tables)) == len(tables)
    for module in modules:
        assert "CREATE TABLE IF NOT EXISTS" in module.schema_sql()


def module_name(path: Path) -> str:
    parts = path.relative_to(SOURCE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_at_load(path: Path, known: set[str]) -> set[str]:
    """The package's modules that ``path`` imports when it is loaded: its top-level
    imports, those under ``if TYPE_CHECKING:`` too (a circle for the type checker is
    one for the reader), not those deferred into a function."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    statements = [*tree.body]
    statements += [inner for node in tree.body if isinstance(node, ast.If) for inner in node.body]
    found: set[str] = set()
    for node in statements:
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            # `from . import config` imports the module config, not the package's __init__.
            modules = {f"{base}.{alias.name}" for alias in node.names} & known
            found |= modules or {base}
    return found & known - {name}


def circle_in(graph: dict[str, set[str]]) -> list[str]:
    """One circle of imports in ``graph``, as the names around it; empty if there is none."""
    done: set[str] = set()

    def visit(name: str, trail: list[str]) -> list[str]:
        for imported in sorted(graph[name]):
            if imported in trail:
                return [*trail[trail.index(imported) :], imported]
            if imported not in done:
                found = visit(imported, [*trail, imported])
                if found:
                    return found
        done.add(name)
        return []

    for name in sorted(graph):
        found = visit(name, [name]) if name not in done else []
        if found:
            return found
    return []


def test_no_two_modules_of_the_package_import_each_other() -> None:
    paths = sorted(SOURCE.glob("**/*.py"))
    known = {module_name(path) for path in paths}
    graph = {module_name(path): imports_at_load(path, known) for path in paths}
    assert sum(map(len, graph.values())) > len(graph), "the walk found too few imports"
    assert " -> ".join(circle_in(graph)) == ""
