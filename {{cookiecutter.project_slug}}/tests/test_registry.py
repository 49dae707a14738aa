"""Infrastructure knows no workflow: the registry is the one place that lists the modules."""

from __future__ import annotations

import ast
from pathlib import Path

from {{ cookiecutter.package_name }} import registry

from .helpers import PACKAGE, PROJECT_ROOT

SOURCE = PROJECT_ROOT / "src" / PACKAGE
INFRASTRUCTURE = [
    "cli.py",
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
