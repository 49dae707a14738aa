"""The baked replay guard can fail: a non-deterministic edit to the workflow breaks its
replay test, naming the history and the event; a deterministic edit passes it.

A guard that cannot fail is worthless, so this bakes a service and edits its workflow
the way a team would, then runs the service's own ``tests/test_replay.py``.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from helpers import Cookies, bake_ok, make

WORKFLOW = Path("src/kardashian_tracker/kardashian/workflow.py")
# The first line of the workflow's run(): the comment on its first step.
RUN_BEGINS = "        # 1. Refuse a job whose values are wrong, before any activity runs.\n"
NON_DETERMINISTIC = {
    # A timer the recorded runs never started.
    "timer": "        await workflow.sleep(0.01)\n",
    # An activity the recorded runs never scheduled, ahead of the others.
    "extra activity": (
        "        await workflow.execute_activity_method(\n"
        "            KardashianActivities.upsert, {'records': []}, **UPSERT_OPTIONS\n"
        "        )\n"
    ),
}
DETERMINISTIC = (
    "        # A comment and a log line change no decision of the workflow.\n"
    '        workflow.logger.info("upserting a job of %s", sorted(job))\n'
)


def replay_tests(project: Path, venv: Path) -> subprocess.CompletedProcess[str]:
    return make(project, venv, "pytest", "PYTEST_WORKERS=0", "PYTEST_ARGS=tests/test_replay.py")


def all_passed(run: subprocess.CompletedProcess[str]) -> bool:
    """The replay tests ran, and every one passed: none failed, none was skipped."""
    return run.returncode == 0 and " passed" in run.stdout and "skipped" not in run.stdout


def edit_run(project: Path, inserted: str) -> None:
    """Insert lines at the start of the workflow's run(), before its first step."""
    path = project / WORKFLOW
    code = path.read_text(encoding="utf-8")
    assert code.count(RUN_BEGINS) == 1
    path.write_text(code.replace(RUN_BEGINS, inserted + RUN_BEGINS), encoding="utf-8")


@pytest.fixture
def project(cookies: Cookies, baked_venv: Path) -> Path:
    baked = bake_ok(cookies, {})
    untouched = replay_tests(baked, baked_venv)
    assert all_passed(untouched), untouched.stdout[-3000:]
    return baked


@pytest.mark.slow
@pytest.mark.parametrize("edit", sorted(NON_DETERMINISTIC))
def test_a_non_deterministic_edit_fails_naming_the_history_and_the_event(
    project: Path, baked_venv: Path, edit: str
) -> None:
    edit_run(project, NON_DETERMINISTIC[edit])
    replayed = replay_tests(project, baked_venv)
    assert replayed.returncode != 0
    assert "kardashian_small.json no longer replays: [TMPRL1100] Nondeterminism" in replayed.stdout
    assert "kardashian_fan_out.json no longer replays" in replayed.stdout
    assert "HistoryEvent(id: 5," in replayed.stdout


@pytest.mark.slow
def test_a_deterministic_edit_passes(project: Path, baked_venv: Path) -> None:
    edit_run(project, DETERMINISTIC)
    replayed = replay_tests(project, baked_venv)
    assert all_passed(replayed), replayed.stdout[-3000:]
