"""Bake the template with several sets of answers and inspect what comes out."""

from __future__ import annotations

import dataclasses
import itertools
import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cookiecutter.main import cookiecutter
from helpers import (
    REPO_ROOT,
    Cookies,
    bake_ok,
    make,
    run_make_test,
    text_files,
    toml_error,
    uncompilable_python,
    unrendered_jinja,
)
from variants import Variant, variant_params

# The guide's story: the defaults' example data may tell it, nothing else may.
GUIDE_STORY = re.compile(
    r"kardashian|jenner|\bkim\b|\bfamil(y|ies)\b|surname|\bfans\b(?!\s+out)|known_for",
    re.IGNORECASE,
)


def test_a_bake_records_its_template_commit_and_answers_for_cruft(cookies: Cookies) -> None:
    project = bake_ok(cookies, {"workflow_name": "PodcastEpisode"})
    state = json.loads((project / ".cruft.json").read_text(encoding="utf-8"))
    head = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"], capture_output=True, text=True
    )
    assert state["template"] == str(REPO_ROOT)
    assert state["commit"] == head.stdout.strip()
    assert state["directory"] is None
    answers = state["context"]["cookiecutter"]
    assert answers["workflow_name"] == "PodcastEpisode"
    assert answers["workflow_module"] == "podcast_episode"
    assert answers["_template"] == str(REPO_ROOT)
    # Paths of the machine that baked it are no part of the service's story.
    assert not {"_output_dir", "_repo_dir", "_checkout"} & set(answers)


def test_defaults_bake_the_kardashian_tracker(cookies: Cookies) -> None:
    project = bake_ok(cookies, {})

    assert project.name == "kardashian-tracker"
    module = project / "src" / "kardashian_tracker" / "kardashian"
    for path in [
        module / "record.py",
        module / "workflow_interface.py",
        module / "workflow.py",
        module / "schema.sql",
        project / "src" / "kardashian_tracker" / "registry.py",
        project / "examples" / "kardashian.json",
        project / "README.md",
        project / "Makefile",
        project / "pyproject.toml",
    ]:
        assert path.is_file(), f"missing {path.relative_to(project)}"


@pytest.mark.parametrize("variant", variant_params())
def test_variant_renders_completely(cookies: Cookies, variant: Variant) -> None:
    project = bake_ok(cookies, variant.answers)

    assert unrendered_jinja(project) == []
    assert uncompilable_python(project) == []
    assert toml_error(project / "pyproject.toml") is None
    for path, _ in text_files(project):
        if path.suffix == ".json":
            json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("variant", variant_params())
def test_variant_uses_the_derived_names(cookies: Cookies, variant: Variant) -> None:
    project = bake_ok(cookies, variant.answers)
    names = variant.names
    module = project / variant.module_dir
    name = names.workflow_name

    assert project.name == names.project_slug
    interface = (module / "workflow_interface.py").read_text(encoding="utf-8")
    assert f"class {name}Workflow" in interface
    assert f"class {name}Activities" in interface
    assert f'"{names.task_queue}"' in interface
    record = (module / "record.py").read_text(encoding="utf-8")
    assert f"class {names.record_name}:" in record
    assert f"class {names.record_name}Dict(TypedDict):" in record
    assert f"{name}WorkflowImpl" in (module / "workflow.py").read_text(encoding="utf-8")
    assert names.table_name in (module / "schema.sql").read_text(encoding="utf-8")
    registry = (project / "src" / names.package_name / "registry.py").read_text(encoding="utf-8")
    assert f'    "{names.package_name}.{names.workflow_module}",\n' in registry
    assert (project / "examples" / f"{names.workflow_module}.json").is_file()
    readme = (project / "README.md").read_text(encoding="utf-8")
    assert readme.splitlines()[0] == f"# {names.project_name}"


@pytest.mark.parametrize("variant", variant_params())
def test_a_service_with_names_of_its_own_speaks_only_those(
    cookies: Cookies, variant: Variant
) -> None:
    project = bake_ok(cookies, variant.answers)
    own_names = " ".join(dataclasses.astuple(variant.names)).lower()
    story = [
        f"{path.relative_to(project)}: {match.group(0)}"
        for path, text in text_files(project)
        for match in GUIDE_STORY.finditer(text)
        if match.group(0).lower() not in own_names
    ]
    # The defaults may tell the guide's story in their example data (the examples, the
    # example schedule's job) and README.
    schedules = f"{variant.module_dir}/schedules.py"
    allowed = set() if variant.speaks_its_own_names else {"README.md", "examples", schedules}
    assert [
        entry
        for entry in story
        if entry.split(":")[0] not in allowed and entry.split("/")[0] not in allowed
    ] == []


# A credential written into a file: a password in a URL, or a secret-looking name
# assigned a literal value. Reading one from the environment is fine.
SECRET_IN_FILE = re.compile(
    r"\w+://[^/\s:@]+:[^@\s*{]+@"
    r"|(password|passwd|secret|api_key|apikey|token)\s*[=:]\s*[\"'][^\"'\s$]+[\"']",
    re.IGNORECASE,
)


@pytest.mark.parametrize("variant", variant_params())
def test_no_secret_is_written_into_a_baked_file(cookies: Cookies, variant: Variant) -> None:
    project = bake_ok(cookies, variant.answers)
    leaks = [
        f"{path.relative_to(project)}: {match.group(0)}"
        for path, text in text_files(project)
        for match in SECRET_IN_FILE.finditer(text)
    ]
    assert leaks == []


def test_secret_pattern_catches_what_it_should() -> None:
    assert SECRET_IN_FILE.search("postgresql://app:hunter2@db/app")
    assert SECRET_IN_FILE.search('TEMPORAL_API_KEY = "abc123"')
    assert not SECRET_IN_FILE.search("postgresql://app@db/app")
    assert not SECRET_IN_FILE.search('api_key = os.environ["TEMPORAL_API_KEY"]')


@pytest.mark.slow
@pytest.mark.parametrize("variant", variant_params())
def test_baked_project_make_test(cookies: Cookies, variant: Variant, baked_venv: Path) -> None:
    """The baked service passes its own lint, type check and tests against real servers."""
    options = [variant.suite] if variant.suite else []
    run_make_test(bake_ok(cookies, variant.answers), baked_venv, *options)


def write_config(tmp_path: Path) -> Path:
    """A cookiecutter config that keeps clones and replay files out of the home directory."""
    config = tmp_path / "cookiecutter-config.yaml"
    # JSON strings are valid YAML scalars, so any path is quoted correctly.
    config.write_text(
        f"cookiecutters_dir: {json.dumps(str(tmp_path / 'cookiecutters'))}\n"
        f"replay_dir: {json.dumps(str(tmp_path / 'replay'))}\n",
        encoding="utf-8",
    )
    return config


def test_post_gen_prints_the_next_steps(
    cookies: Cookies, capfd: pytest.CaptureFixture[str]
) -> None:
    project = bake_ok(cookies, {})

    out = capfd.readouterr().out
    assert f"Baked Kardashian Tracker in {project.resolve()}." in out
    assert "make dev" in out
    assert "make test" in out
    assert "README.md" in out
    assert "make prove-rules" in out
    # pytest-cookies bakes from this checkout's path: the message says update-template needs it.
    assert f"The template came from a local path, {REPO_ROOT}, and .cruft.json records it:" in out
    assert "`make update-template` needs the template there later" in out


def test_post_gen_cd_is_relative_to_the_shell_directory(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Baking into the directory the shell is in gives the short `cd <slug>`."""
    output_dir = tmp_path / "out"
    output_dir.mkdir()
    # The hook learns the shell's directory from $PWD, which it inherits unchanged.
    monkeypatch.setenv("PWD", str(output_dir))

    cookiecutter(
        str(REPO_ROOT),
        no_input=True,
        output_dir=str(output_dir),
        config_file=str(write_config(tmp_path)),
    )

    assert "  cd kardashian-tracker\n" in capfd.readouterr().out


@pytest.mark.slow
def test_make_bench_runs_and_writes_its_figures(cookies: Cookies, baked_venv: Path) -> None:
    """A smoke test at a tiny size: the command works on a fresh bake. No figure is judged."""
    project = bake_ok(cookies, {"workflow_name": "ReconcileLedger"})
    completed = make(project, baked_venv, "bench", "BENCH_ARGS=--items 300 --rounds 1")
    assert completed.returncode == 0, completed.stdout[-3000:]
    report = json.loads((project / "bench.json").read_text(encoding="utf-8"))
    assert report["workflow"] == "ReconcileLedgerWorkflow"
    direct = [f"{path}/{n}" for path in ("executemany", "unnest", "copy") for n in (1, 8)]
    files = ["file/1", "file/4"]
    services = ["service", "service_inline", "staged"]
    assert report["items"] == dict.fromkeys(
        [*direct, "per_item_noop", "guide_style", *files, *services], 300
    )
    assert all(rate > 0 for rate in report["items_per_second"].values())
    # Inserted into an empty table, then the same keys again, for the direct paths, the
    # file paths and the services; the best direct and file path of each case is named.
    assert set(report["items_per_second_update"]) == {*direct, *files, *services}
    assert all(rate > 0 for rate in report["items_per_second_update"].values())
    assert set(report["best_direct"].values()) <= set(direct)
    assert set(report["best_file"].values()) <= set(files)
    for ratio in (
        "service_vs_direct",
        "service_vs_direct_update",
        "service_inline_vs_direct",
        "staged_vs_file",
        "staged_vs_file_update",
        "service_vs_per_item_noop",
        "service_vs_guide_style",
        "service_microseconds_per_item",
    ):
        assert report[ratio] > 0
    assert report["largest_history_events"] > 0
    # A load's payloads are references: its id and ranges, never its rows.
    assert 0 < report["largest_payload_bytes"] < 4096
    assert "design" in completed.stdout and "service" in completed.stdout
    # One design alone, as a run at ten million items would ask; an unknown one refused.
    alone = make(project, baked_venv, "bench", "BENCH_ARGS=--items 300 --rounds 1 --designs copy/8")
    assert alone.returncode == 0, alone.stdout[-3000:]
    report = json.loads((project / "bench.json").read_text(encoding="utf-8"))
    assert list(report["items"]) == ["copy/8"] and report["service_vs_direct"] is None
    wrong = make(project, baked_venv, "bench", "BENCH_ARGS=--designs copy/9")
    assert wrong.returncode != 0 and "--designs: no design copy/9; choose from" in wrong.stdout


# The README stays a page one reads to the end; the rest lives in docs/, one topic a file.
README_MAX_LINES = 160
DOCS_MAX_LINE = 100
FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^#{1,6} +(.+?) *#*$")
INLINE_CODE = re.compile(r"`[^`]*`")
# [text](target) and [text][id] in prose; [id]: target at a line's start.
INLINE_LINK = re.compile(r"\]\(([^)\s]+)\)")
REFERENCE_USE = re.compile(r"\]\[([^\]]+)\]")
REFERENCE_DEFINITION = re.compile(r"^ {0,3}\[([^\]]+)\]: *(\S+)")


def prose_lines(text: str) -> Iterator[str]:
    """The lines of a markdown page outside its fenced code blocks."""
    fenced = False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            yield line


def github_anchors(text: str) -> set[str]:
    """The anchors GitHub gives a page's headings: lowercase, punctuation dropped, spaces
    to hyphens, and -1, -2... after a repeated one."""
    anchors: set[str] = set()
    for line in prose_lines(text):
        heading = HEADING.match(line)
        if heading:
            anchor = re.sub(r"[^\w\- ]", "", heading[1].lower()).replace(" ", "-")
            repeated = itertools.count(1)
            unique = anchor
            while unique in anchors:
                unique = f"{anchor}-{next(repeated)}"
            anchors.add(unique)
    return anchors


def link_targets(text: str) -> list[str]:
    """Every link target of a page, inline or by reference; an undefined reference
    shows as its own target, which never resolves."""
    inline: list[str] = []
    used: list[str] = []
    defined: dict[str, str] = {}
    for line in prose_lines(text):
        definition = REFERENCE_DEFINITION.match(line)
        if definition:
            defined[definition[1].lower()] = definition[2]
            continue
        prose = INLINE_CODE.sub("", line)
        inline += INLINE_LINK.findall(prose)
        used += REFERENCE_USE.findall(prose)
    undefined = [f"[{name}] (undefined)" for name in used if name.lower() not in defined]
    return inline + list(defined.values()) + undefined


@pytest.mark.parametrize("variant", variant_params())
def test_the_readme_is_short_and_its_docs_are_linked_and_resolve(
    cookies: Cookies, variant: Variant
) -> None:
    project = bake_ok(cookies, variant.answers)
    readme = project / "README.md"
    docs = sorted((project / "docs").glob("*.md"))
    pages = {page: page.read_text(encoding="utf-8") for page in [readme, *docs]}

    assert len(pages[readme].splitlines()) <= README_MAX_LINES
    assert [page.name for page, text in pages.items() if not text.startswith("# ")] == []
    # Code blocks included: a long name renders into them too, so they wrap like prose.
    assert [
        f"{page.relative_to(project)}:{number}: {len(line)} characters"
        for page, text in pages.items()
        for number, line in enumerate(text.splitlines(), 1)
        if len(line) > DOCS_MAX_LINE
    ] == []
    broken = []
    linked_from_readme = set()
    for page, text in pages.items():
        for target in link_targets(text):
            if re.match(r"[a-z]+:", target):  # https:, mailto:: not ours to check
                continue
            path, _, anchor = target.partition("#")
            resolved = (page.parent / path).resolve() if path else page
            if page == readme:
                linked_from_readme.add(resolved)
            where = f"{page.relative_to(project)}: {target}"
            if not resolved.exists():
                broken.append(f"{where}: no such file")
                continue
            headed = resolved.suffix == ".md" and resolved.is_file()
            anchors = github_anchors(resolved.read_text(encoding="utf-8")) if headed else set()
            if anchor and headed and anchor not in anchors:
                broken.append(f"{where}: no such heading")
    assert broken == []
    assert [doc.name for doc in docs if doc.resolve() not in linked_from_readme] == []
    assert docs, "the README's topics moved to docs/, and none is there"
