"""Bake the template with several sets of answers and inspect what comes out."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from conftest import (
    REPO_ROOT,
    Cookies,
    Variant,
    bake_ok,
    text_files,
    toml_error,
    uncompilable_python,
    unrendered_jinja,
    variant_params,
)
from cookiecutter.main import cookiecutter

# How much of a failing `make test` to show: enough for the error, not the whole install.
LOG_TAIL_LINES = 200
# Installing the shared venv the first time downloads temporalio and PostgreSQL.
MAKE_TEST_TIMEOUT_SECONDS = 3600


def test_defaults_bake_the_kardashian_tracker(cookies: Cookies) -> None:
    project = bake_ok(cookies, {})

    assert project.name == "kardashian-tracker"
    module = project / "src" / "kardashian_tracker" / "kardashian"
    for path in [
        module / "workflow_interface.py",
        module / "workflow.py",
        module / "schema.sql",
        project / "examples" / "kardashian.json",
        project / "README.md",
        project / "Makefile",
        project / "pyproject.toml",
    ]:
        assert path.is_file(), f"missing {path.relative_to(project)}"


@pytest.mark.parametrize("variant", variant_params())
def test_variant_renders_completely(cookies: Cookies, variant: Variant) -> None:
    project = bake_ok(cookies, variant.answers)

    assert project.name == variant.project_slug
    assert unrendered_jinja(project) == []
    assert uncompilable_python(project) == []
    assert toml_error(project / "pyproject.toml") is None
    for path, _ in text_files(project):
        if path.suffix == ".json":
            json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("variant", variant_params())
def test_variant_uses_the_derived_names(cookies: Cookies, variant: Variant) -> None:
    project = bake_ok(cookies, variant.answers)
    module = project / variant.module_dir
    name = variant.workflow_name

    interface = (module / "workflow_interface.py").read_text(encoding="utf-8")
    assert f"class {name}Workflow" in interface
    assert f"class {name}Activities" in interface
    assert f'"{variant.task_queue}"' in interface
    assert f"{name}WorkflowImpl" in (module / "workflow.py").read_text(encoding="utf-8")
    assert variant.table_name in (module / "schema.sql").read_text(encoding="utf-8")
    assert (project / "examples" / f"{variant.workflow_module}.json").is_file()
    readme = (project / "README.md").read_text(encoding="utf-8")
    assert readme.splitlines()[0] == f"# {variant.project_name}"


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


def last_lines(text: str, count: int) -> str:
    """The last ``count`` lines of ``text``."""
    return "\n".join(text.splitlines()[-count:])


@pytest.mark.slow
@pytest.mark.parametrize("variant", variant_params())
def test_baked_project_make_test(cookies: Cookies, variant: Variant, baked_venv: Path) -> None:
    """The baked service passes its own lint, type check and tests against real servers."""
    project = bake_ok(cookies, variant.answers)

    completed = subprocess.run(
        ["make", "test", f"VENV={baked_venv}"],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=MAKE_TEST_TIMEOUT_SECONDS,
        check=False,
    )

    # pytest.fail rather than assert: the assertion rewriter would also print the whole log.
    if completed.returncode != 0:
        pytest.fail(
            f"`make test` failed in {project} (exit {completed.returncode}); last "
            f"{LOG_TAIL_LINES} lines:\n{last_lines(completed.stdout, LOG_TAIL_LINES)}"
        )


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
