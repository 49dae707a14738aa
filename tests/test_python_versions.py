"""The Python versions a baked service claims are the ones it is proven on.

Its CI runs its tests on the oldest and the newest version it supports (the matrix in
.github/workflows/ci.yml); here a default bake's own `make test` (ruff, mypy --strict, the
quick tests against real servers) runs on each of those two, in a venv that interpreter
creates from uv.lock. A version missing from this machine fails the test with its name
(tests/pythons.py looks as uv and pyenv would); it is never skipped.

These carry the ``pythons`` marker: `make test-pythons` runs them, apart from `make test`.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from helpers import Cookies, bake_ok, run_make_test
from pythons import PythonNotFoundError, find_python, runs_as, version_key


def claimed_versions(project: Path) -> list[str]:
    """The Python versions the baked CI tests on, oldest first."""
    workflow = yaml.safe_load((project / ".github/workflows/ci.yml").read_text(encoding="utf-8"))
    versions: list[str] = workflow["jobs"]["test"]["strategy"]["matrix"]["python"]
    return sorted(versions, key=version_key)


def test_the_readme_pyproject_ci_and_image_claim_the_same_versions(cookies: Cookies) -> None:
    project = bake_ok(cookies, {})
    oldest, *_, newest = claimed_versions(project)
    pyproject = (project / "pyproject.toml").read_text(encoding="utf-8")
    assert f'requires-python = ">={oldest}"' in pyproject
    assert re.search(rf'python_version = "{re.escape(oldest)}"', pyproject)  # mypy's target
    readme = (project / "README.md").read_text(encoding="utf-8")
    assert f"Python {oldest} or newer" in readme
    # The image's default base is the newest version the service supports.
    dockerfile = (project / "Dockerfile").read_text(encoding="utf-8")
    assert f"ARG PYTHON_IMAGE=docker.io/library/python:{newest}-slim" in dockerfile


def test_a_missing_interpreter_fails_naming_it() -> None:
    with pytest.raises(PythonNotFoundError, match=r"Python 3\.99 is not on this machine"):
        find_python("3.99")


@pytest.mark.pythons
@pytest.mark.parametrize("end", ["oldest", "newest"])
def test_the_bake_passes_its_make_test_on_the_claimed_python(
    cookies: Cookies, baked_venv: Path, end: str
) -> None:
    project = bake_ok(cookies, {})
    versions = claimed_versions(project)
    version = versions[0] if end == "oldest" else versions[-1]
    try:
        python = find_python(version)
    except PythonNotFoundError as missing:
        pytest.fail(str(missing))
    # A venv of this interpreter's own beside the shared one, which belongs to the machine's
    # python3; kept between runs as that one is. Not under pytest's temporary directory:
    # each pytest run makes that private again, and the embedded PostgreSQL, which runs
    # as a user of its own when the tests run as root, could no longer reach its binaries.
    venv = baked_venv.with_name(f"{baked_venv.name}-python{version}")
    run_make_test(project, venv, target="test", python=python)
    assert runs_as(venv / "bin" / "python", version), f"{venv} is not Python {version}"
