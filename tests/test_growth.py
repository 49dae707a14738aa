"""A service's second year: it grows by the ``workflow/`` sub-template, takes a newer
template through cruft, and passes its own tests after each step.

Slow by nature (a bake, two more modules, the service's whole `make test`, a `dev`
run, an update), so these tests carry the ``growth`` marker: `make test-growth` runs
them, as a CI job of their own would, and `make test-all` (what `.ci/run` runs) runs
them after `make test`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import (
    DEV_READY,
    REPO_ROOT,
    dev_running,
    make,
    run_make_test,
    unrendered_jinja,
    wait_for_line,
)
from variants import QUICK_SUITE

pytestmark = pytest.mark.growth

COOKIECUTTER = Path(sys.executable).parent / "cookiecutter"
PACKAGE = "kardashian_tracker"
# The defaults' module, then two more added by the sub-template; the last with a task
# queue of its own choosing, which the one worker process must poll as well.
ADDED = [
    {"workflow_name": "Episode"},
    {"workflow_name": "InvoiceLine", "task_queue": "billing.invoice-lines"},
]
MODULES = {
    "kardashian": ("KardashianWorkflow", "kardashian-tracker.kardashian"),
    "episode": ("EpisodeWorkflow", "kardashian-tracker.episode"),
    "invoice_line": ("InvoiceLineWorkflow", "billing.invoice-lines"),
}
DEV_TIMEOUT_SECONDS = 180
# What the newer template commit changes: a line in the service's README, and a test
# that the update brings and the service's suite then runs.
README = "{{cookiecutter.project_slug}}/README.md"
UPDATE_LINE = "Updated from a newer commit of the template."
UPDATE_TEST = "{{cookiecutter.project_slug}}/tests/test_from_the_update.py"
UPDATE_TEST_TEXT = '''"""Brought by a newer template: each registered module ships its example."""

from {{ cookiecutter.package_name }} import registry

from .helpers import PROJECT_ROOT


def test_every_registered_module_has_its_example() -> None:
    for name in registry.WORKFLOW_MODULES:
        assert (PROJECT_ROOT / "examples" / f"{name.rsplit('.', 1)[-1]}.json").is_file()
'''


def run(cwd: Path, *command: str | Path) -> str:
    """Run a command that must succeed; its output, or a failure that shows it."""
    done = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"{command} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.stdout


def git(cwd: Path, *args: str) -> str:
    identity = ["-c", "user.name=Template Tests", "-c", "user.email=tests@example.invalid"]
    return run(cwd, "git", *identity, *args)


@pytest.fixture(scope="module")
def template_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This template's files, committed to a git repository of their own, as teams clone it."""
    repo = tmp_path_factory.mktemp("template")
    listed = run(REPO_ROOT, "git", "ls-files", "--cached", "--others", "--exclude-standard")
    for name in listed.splitlines():
        if (REPO_ROOT / name).is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO_ROOT / name, repo / name)
    git(repo, "init", "--quiet", "--initial-branch=main")
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "-m", "the template, as baked")
    return repo


@pytest.fixture(scope="module")
def grown(template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A service baked from the template repository, grown to three modules, committed."""
    out = tmp_path_factory.mktemp("services")
    run(out, COOKIECUTTER, "--no-input", "--output-dir", out, template_repo)
    service = out / "kardashian-tracker"
    for answers in ADDED:
        names = [f"{key}={value}" for key, value in answers.items()]
        run(service, COOKIECUTTER, template_repo, "--directory", "workflow", "--no-input", *names)
    git(service, "init", "--quiet", "--initial-branch=main")
    git(service, "add", "--all")
    git(service, "commit", "--quiet", "-m", "baked, with two more workflows")
    return service


def test_the_grown_service_passes_its_tests_and_one_worker_runs_every_example(
    grown: Path, baked_venv: Path, tmp_path: Path
) -> None:
    registry = (grown / "src" / PACKAGE / "registry.py").read_text(encoding="utf-8")
    for module in MODULES:
        assert f'    "{PACKAGE}.{module}",\n' in registry
        assert (grown / "tests" / "modules" / f"test_{module}.py").is_file()
    assert unrendered_jinja(grown) == []
    # The everyday `make test`: the defaults' bake runs `make test-all`, fault tests and all.
    run_make_test(grown, baked_venv, target="test")
    # The large example on worker processes of each role, and on three (marked `large`,
    # left out of the service's `make test`).
    large = make(grown, baked_venv, "test-large")
    assert large.returncode == 0, large.stdout[-3000:]
    assert "2 passed" in large.stdout

    # Each example started by its type name with the temporal CLI, as any client
    # could; the one `dev` process runs the workers of all three task queues.
    temporal = str(baked_venv / "bin" / "temporal")
    with dev_running(grown, baked_venv, PACKAGE, tmp_path / "dev.log") as dev:
        wait_for_line(dev.output, dev.process, DEV_READY, DEV_TIMEOUT_SECONDS)
        identities = set()
        for module, (workflow_type, task_queue) in MODULES.items():
            workflow_id = f"growth-{module}"
            started = [temporal, "workflow", "execute", "--address", dev.address]
            started += ["--type", workflow_type, "--task-queue", task_queue]
            started += ["--workflow-id", workflow_id, "--input-file", f"examples/{module}.json"]
            # A module no worker serves times out in a minute instead of hanging the test.
            started += ["--execution-timeout", "60s", "--output", "json"]
            result = json.loads(run(grown, *started))
            assert result["status"] == "COMPLETED", result
            assert result["result"] == {"upserted": 6}, result
            shown = [temporal, "workflow", "show", "--address", dev.address]
            history = json.loads(run(grown, *shown, "--workflow-id", workflow_id, "-o", "json"))
            identities |= {
                attributes["identity"]
                for event in history["events"]
                for key, attributes in event.items()
                if key.endswith("EventAttributes")
                and attributes.get("identity")
                and key != "workflowExecutionStartedEventAttributes"
            }
    assert len(identities) == 1, identities
    assert identities.pop().startswith(f"{dev.process.pid}@")


def test_a_newer_template_arrives_as_a_diff_and_the_tests_still_pass(
    grown: Path, template_repo: Path, baked_venv: Path
) -> None:
    baked_from = json.loads((grown / ".cruft.json").read_text(encoding="utf-8"))["commit"]
    assert baked_from == git(template_repo, "rev-parse", "HEAD").strip()
    with (template_repo / README).open("a", encoding="utf-8") as readme:
        readme.write(f"\n{UPDATE_LINE}\n")
    (template_repo / UPDATE_TEST).write_text(UPDATE_TEST_TEXT, encoding="utf-8")
    git(template_repo, "add", "--all")
    git(template_repo, "commit", "--quiet", "-m", "a newer template")
    newer = git(template_repo, "rev-parse", "HEAD").strip()

    updated = make(grown, baked_venv, "update-template")
    assert updated.returncode == 0, updated.stdout[-3000:]

    # The change arrived, uncommitted, for the team to review; their modules stayed.
    changed = git(grown, "diff", "HEAD", "--name-status").splitlines()
    assert sorted(changed) == [
        "A\ttests/test_from_the_update.py",
        "M\t.cruft.json",
        "M\tREADME.md",
    ]
    assert UPDATE_LINE in (grown / "README.md").read_text(encoding="utf-8")
    assert json.loads((grown / ".cruft.json").read_text(encoding="utf-8"))["commit"] == newer
    registry = (grown / "src" / PACKAGE / "registry.py").read_text(encoding="utf-8")
    assert all(f'"{PACKAGE}.{module}"' in registry for module in MODULES)
    run_make_test(grown, baked_venv, QUICK_SUITE)
    # The test the update brought runs, and passes, in the service's own suite.
    tested = make(grown, baked_venv, "pytest", "PYTEST_ARGS=tests/test_from_the_update.py")
    assert tested.returncode == 0, tested.stdout[-3000:]
    assert "1 passed" in tested.stdout
