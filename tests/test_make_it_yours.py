"""The baked README's "Make it yours" section, done for real: the tests must still pass.

A team swaps the example record for its own by editing the files that section lists,
in its order, and nothing else. Here an episode index replaces `value` with a
`title` and adds a whole-number `seconds`; the service's own `make test` (lint,
types, every rule's test against real servers) must pass afterwards.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from helpers import Cookies, bake_ok, make, run_make_test
from variants import QUICK_SUITE, variant

EPISODES = variant(
    "episode-index",
    {"project_name": "Episode Index", "workflow_name": "Episode"},
    project_slug="episode-index",
    package_name="episode_index",
    workflow_module="episode",
    task_queue="episode-index.episode",
    table_name="episodes",
)
NAME = EPISODES.names.workflow_name

RECORD = f'''"""An episode: what this service indexes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

MAX_TITLE_LENGTH = 500


class {NAME}RecordDict(TypedDict):
    key: str
    title: str
    seconds: int


@dataclass(frozen=True)
class {NAME}Record:
    key: str
    title: str
    seconds: int

    def __post_init__(self) -> None:
        if not self.key:
            raise ValueError("key must not be empty")
        if len(self.key) > 200:
            raise ValueError(f"key is {{len(self.key):,}} characters long, over 200")
        if len(self.title) > MAX_TITLE_LENGTH:
            raise ValueError(f"title is over {{MAX_TITLE_LENGTH}} characters")
        if self.seconds < 0:
            raise ValueError("seconds must not be negative")

    def to_dict(self) -> {NAME}RecordDict:
        return {{"key": self.key, "title": self.title, "seconds": self.seconds}}

    @classmethod
    def from_dict(cls, data: {NAME}RecordDict) -> {NAME}Record:
        return cls(key=data["key"], title=data["title"], seconds=data["seconds"])

    @classmethod
    def numbered(cls, number: int) -> {NAME}Record:
        return cls(key=f"episode-{{number}}", title=f"Episode {{number}}", seconds=number % 3600)
'''

SCHEMA = f"""CREATE TABLE IF NOT EXISTS {EPISODES.names.table_name} (
    id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key     TEXT NOT NULL UNIQUE CHECK (key <> '' AND char_length(key) <= 200),
    title   TEXT NOT NULL CHECK (char_length(title) <= 500),
    seconds INTEGER NOT NULL CHECK (seconds >= 0)
);
"""

UPSERT = """
    INSERT INTO {} (key, title, seconds)
    VALUES (%(key)s, %(title)s, %(seconds)s)
    ON CONFLICT (key) DO UPDATE SET title = EXCLUDED.title, seconds = EXCLUDED.seconds
"""

EXAMPLE_RECORDS = [
    {"key": "pilot", "title": "Pilot", "seconds": 1820},
    {"key": "finale", "title": "The Finale", "seconds": 3540},
]


def make_it_yours(project: Path) -> None:
    """The README's steps, in order, on the files it names."""
    module = project / EPISODES.module_dir
    (module / "record.py").write_text(RECORD, encoding="utf-8")
    (module / "schema.sql").write_text(SCHEMA, encoding="utf-8")
    workflow = module / "workflow.py"
    code, replaced = re.subn(
        r'UPSERT_SQL = sql\.SQL\("""\n.*?"""\)',
        f'UPSERT_SQL = sql.SQL("""{UPSERT}""")',
        workflow.read_text(encoding="utf-8"),
        flags=re.DOTALL,
    )
    assert replaced == 1, "workflow.py keeps its SQL in UPSERT_SQL"
    workflow.write_text(code, encoding="utf-8")
    for example in (project / "examples").glob("*.json"):
        job = json.loads(example.read_text(encoding="utf-8"))
        job["records"] = EXAMPLE_RECORDS
        example.write_text(json.dumps(job, indent=2) + "\n", encoding="utf-8")


def test_the_readme_lists_the_files_this_test_edits(cookies: Cookies) -> None:
    project = bake_ok(cookies, EPISODES.answers)
    readme = (project / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Make it yours", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^\d+\. `([^`]+)`", section, flags=re.MULTILINE)
    module = f"src/{EPISODES.names.package_name}/{EPISODES.names.workflow_module}"
    assert listed == [
        f"{module}/record.py",
        f"{module}/schema.sql",
        f"{module}/workflow.py",
        "examples/",
    ]
    # The recorded histories carry the old record: the section says to record anew.
    assert "`make histories`" in section


@pytest.mark.slow
def test_a_new_record_passes_the_services_own_tests(cookies: Cookies, baked_venv: Path) -> None:
    project = bake_ok(cookies, EPISODES.answers)
    make_it_yours(project)
    # Histories recorded with the old record no longer replay (tests/test_replay.py):
    # the README's step after the edits records them anew.
    recorded = make(project, baked_venv, "histories")
    assert recorded.returncode == 0, recorded.stdout[-3000:]
    # The rule tests are the ones a new record meets; the fault tests only drive the machinery.
    run_make_test(project, baked_venv, QUICK_SUITE)
