"""Fixtures of the template's tests; helpers live in helpers.py, variants in variants.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers import REPO_ROOT


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    """Bake this repository unless --template names another template.

    pytest-cookies defaults to the current directory, which is only the template when
    pytest runs from the repository root.
    """
    template = Path(config.option.template)
    if not (template / "cookiecutter.json").is_file():
        config.option.template = str(REPO_ROOT)


@pytest.fixture(scope="session")
def baked_venv() -> Path:
    """The virtual environment every baked project's `make test` shares.

    Installing temporalio, the Temporal CLI and PostgreSQL once, instead of once per
    variant, is what keeps the slow tests affordable.
    """
    return Path(os.environ.get("BAKED_VENV", REPO_ROOT / ".venv-baked")).resolve()
