"""Shared pieces of the template's tests: the variants to bake, typed views of
pytest-cookies' untyped objects, and helpers that inspect a baked project."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent

# Jinja that should have been rendered: a placeholder or a block tag left in a baked file.
UNRENDERED = re.compile(r"\{\{\s*cookiecutter\.|\{%")


class BakeResult(Protocol):
    """What pytest-cookies' ``Result`` offers (the package ships no type hints)."""

    exception: BaseException | None
    exit_code: int | str | None

    @property
    def project_path(self) -> Path | None: ...


class Cookies(Protocol):
    """What pytest-cookies' ``cookies`` fixture offers."""

    def bake(self, extra_context: dict[str, str] | None = None) -> BakeResult: ...


@dataclass(frozen=True)
class Variant:
    """Answers to bake with, and the names the template must derive from them."""

    id: str
    answers: dict[str, str]
    project_name: str
    project_slug: str
    package_name: str
    workflow_name: str
    workflow_module: str
    task_queue: str
    table_name: str
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def module_dir(self) -> str:
        """Where the workflow's module lives inside the baked project."""
        return f"src/{self.package_name}/{self.workflow_module}"


# 80 characters, the most the pre-generation hook allows.
LONGEST_QUEUE = "reality-television-archive.keeping-up-with-the-kardashians-daily.v1.ingest-batch"

VARIANTS = [
    Variant(
        id="defaults",
        answers={},
        project_name="Kardashian Tracker",
        project_slug="kardashian-tracker",
        package_name="kardashian_tracker",
        workflow_name="Kardashian",
        workflow_module="kardashian",
        task_queue="kardashian-tracker.kardashian",
        table_name="kardashians",
    ),
    Variant(
        id="podcast",
        answers={"project_name": "Podcast Transcriber", "workflow_name": "PodcastEpisode"},
        project_name="Podcast Transcriber",
        project_slug="podcast-transcriber",
        package_name="podcast_transcriber",
        workflow_name="PodcastEpisode",
        workflow_module="podcast_episode",
        task_queue="podcast-transcriber.podcast-episode",
        table_name="podcast_episodes",
    ),
    Variant(
        id="explicit-names",
        answers={
            "workflow_name": "HTTPFetch",
            "workflow_module": "fetcher",
            "task_queue": "fetch_jobs.v2",
            "table_name": "fetched_pages",
            "package_name": "crawler_core",
        },
        project_name="Kardashian Tracker",
        project_slug="kardashian-tracker",
        package_name="crawler_core",
        workflow_name="HTTPFetch",
        workflow_module="fetcher",
        task_queue="fetch_jobs.v2",
        table_name="fetched_pages",
    ),
    Variant(
        # Every name at its longest: the baked code must still be lint-clean.
        id="longest-names",
        answers={
            "project_name": "Reality Television Archive",
            "workflow_name": "KeepingUpWithTheKardashiansDay",
            "workflow_module": "keeping_up_with_kardashians_dy",
            "package_name": "reality_television_archive_svc",
            "task_queue": LONGEST_QUEUE,
            "table_name": "kardashian_episode_appearances_recorded_by_the_archive_services",
        },
        project_name="Reality Television Archive",
        project_slug="reality-television-archive",
        package_name="reality_television_archive_svc",
        workflow_name="KeepingUpWithTheKardashiansDay",
        workflow_module="keeping_up_with_kardashians_dy",
        task_queue=LONGEST_QUEUE,
        table_name="kardashian_episode_appearances_recorded_by_the_archive_services",
    ),
    Variant(
        # Quotes and non-ASCII letters in the name; cookiecutter's slugify transliterates.
        id="unicode-name",
        answers={"project_name": 'Café "Ørsted" l\'Été'},
        project_name='Café "Ørsted" l\'Été',
        project_slug="cafe-orsted-l-ete",
        package_name="cafe_orsted_l_ete",
        workflow_name="Kardashian",
        workflow_module="kardashian",
        task_queue="cafe-orsted-l-ete.kardashian",
        table_name="kardashians",
    ),
]


def variant_params() -> list[object]:
    """The variants as pytest parameters, named by their ids."""
    return [pytest.param(variant, id=variant.id) for variant in VARIANTS]


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


def bake_ok(cookies: Cookies, answers: dict[str, str]) -> Path:
    """Bake ``answers`` and return the project directory, failing loudly if the bake fails."""
    result = cookies.bake(extra_context=answers)
    assert result.exit_code == 0, f"bake failed: {result.exception!r}"
    assert result.exception is None
    assert result.project_path is not None
    return result.project_path


def is_text(data: bytes) -> bool:
    """True if ``data`` looks like a text file: UTF-8 without NUL bytes."""
    if b"\0" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def text_files(root: Path) -> Iterator[tuple[Path, str]]:
    """Every text file under ``root`` with its contents; binaries are skipped."""
    for path in sorted(root.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            if is_text(data):
                yield path, data.decode("utf-8")


def unrendered_jinja(root: Path) -> list[str]:
    """Files, or file and directory names, under ``root`` that still hold template syntax."""
    found = [str(path) for path in root.rglob("*") if "{{" in path.name or "{%" in path.name]
    found += [str(path) for path, text in text_files(root) if UNRENDERED.search(text)]
    return found


def uncompilable_python(root: Path) -> list[str]:
    """Every ``.py`` file under ``root`` that is not valid Python, with the reason."""
    broken = []
    for path in sorted(root.rglob("*.py")):
        try:
            compile(path.read_text(encoding="utf-8"), str(path), "exec")
        except SyntaxError as error:
            broken.append(f"{path}: {error}")
    return broken


def toml_error(path: Path) -> str | None:
    """Why ``path`` is not valid TOML, or None; Pythons before 3.11 cannot tell."""
    if sys.version_info >= (3, 11):
        import tomllib

        try:
            tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as error:
            return str(error)
    return None


def leftover_files(root: Path) -> list[str]:
    """Every file under ``root``; a refused bake must leave none."""
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if not path.is_dir())
