"""The baked README's "Make it yours" section, done for real: the tests must still pass.

A team adds a field to the record it declared at bake time by editing the files that
section lists, in its order, and nothing else. Here an episode index adds a
whole-number `seconds`; after `make histories`, the service's own `make test` (lint,
types, every rule's test against real servers) must pass.
"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import pytest
from helpers import Cookies, bake_ok, make, run_make_test
from variants import QUICK_SUITE, variant

EPISODES = variant(
    "episode-index",
    {"project_name": "Episode Index", "workflow_name": "Episode", "record_name": "Episode"},
    project_slug="episode-index",
    package_name="episode_index",
    workflow_module="episode",
    task_queue="episode-index.episode",
    table_name="episodes",
)
RECORD = EPISODES.names.record_name


def edited(path: Path, old: str, new: str) -> None:
    """Replace ``old`` (which must be there once) with ``new`` in ``path``."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{path.name} has no single {old!r}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def make_it_yours(project: Path) -> None:
    """The README's steps, in order, on the files it names."""
    module = project / EPISODES.module_dir
    record = module / "record.py"
    edited(record, '    value="str",\n)', '    value="str",\n    seconds="int",\n)')
    for after in ("\n\n\n@dataclass", "\n\n    def to_dict"):  # the TypedDict, the dataclass
        edited(record, f"    value: str{after}", f"    value: str\n    seconds: int{after}")
    edited(module / "schema.sql", "    CONSTRAINT", "    seconds BIGINT NOT NULL,\n    CONSTRAINT")
    # Each record of the example schedule's job, one a line, gains the field.
    seconds = itertools.count(1800)
    schedules = module / "schedules.py"
    jobs = re.sub(
        r"^( +\{.*)\},$",
        lambda record: f'{record[1]}, "seconds": {next(seconds)}}},',
        schedules.read_text(encoding="utf-8"),
        flags=re.MULTILINE,
    )
    assert next(seconds) > 1800, "the example schedule's job holds no record a line"
    schedules.write_text(jobs, encoding="utf-8")
    for example in (project / "examples").glob("*.json"):
        job = json.loads(example.read_text(encoding="utf-8"))
        for number, data in enumerate(job["records"]):
            data["seconds"] = 1800 + number
        example.write_text(json.dumps(job, indent=2) + "\n", encoding="utf-8")
    for example in (project / "examples").glob("*.csv"):  # the same records, for `load`
        header, *rows = example.read_text(encoding="utf-8").splitlines()
        cells = [f"{row},{1800 + number}" for number, row in enumerate(rows)]
        example.write_text("\n".join([f"{header},seconds", *cells]) + "\n", encoding="utf-8")


def test_the_readme_lists_the_files_this_test_edits(cookies: Cookies) -> None:
    project = bake_ok(cookies, EPISODES.answers)
    readme = (project / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Make it yours", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^\d+\. `([^`]+)`", section, flags=re.MULTILINE)
    module = f"src/{EPISODES.names.package_name}/{EPISODES.names.workflow_module}"
    assert listed == [
        f"{module}/record.py",
        f"{module}/schema.sql",
        f"{module}/schedules.py",
        "examples/",
    ]
    # The recorded histories carry the old record: the section says to record anew.
    assert "`make histories`" in section


@pytest.mark.slow
def test_a_new_field_passes_the_services_own_tests(cookies: Cookies, baked_venv: Path) -> None:
    project = bake_ok(cookies, EPISODES.answers)
    make_it_yours(project)
    # Histories recorded with the old record no longer replay (tests/test_replay.py):
    # the README's step after the edits records them anew.
    recorded = make(project, baked_venv, "histories")
    assert recorded.returncode == 0, recorded.stdout[-3000:]
    # The rule tests are the ones a new record meets; the fault tests only drive the machinery.
    run_make_test(project, baked_venv, QUICK_SUITE)
