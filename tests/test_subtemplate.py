"""The ``workflow/`` sub-template: adds a module to a baked service, or refuses and writes nothing.

Run as a person runs it, from inside the service:
``cookiecutter <template> --directory workflow workflow_name=...``. The grown service's
own tests run in test_growth.py.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from helpers import REPO_ROOT, Cookies, bake_ok, unrendered_jinja

COOKIECUTTER = Path(sys.executable).parent / "cookiecutter"


def add_workflow(service: Path, *answers: str) -> subprocess.CompletedProcess[str]:
    command = [str(COOKIECUTTER), str(REPO_ROOT), "--directory", "workflow", "--no-input"]
    return subprocess.run(
        [*command, *answers], cwd=service, capture_output=True, text=True, timeout=120
    )


def fingerprint(root: Path) -> dict[str, str]:
    """Every file under ``root`` with a hash of its contents."""
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def test_a_new_module_gets_the_whole_pattern_and_its_registry_line(cookies: Cookies) -> None:
    service = bake_ok(cookies, {})
    added = add_workflow(
        service,
        "workflow_name=PodcastEpisode",
        "record_name=Episode",
        "record_fields=show:str key, number:int key, title:str, aired_on:date?",
        "schedule=every 1h",
    )
    assert added.returncode == 0, added.stderr
    module = service / "src" / "kardashian_tracker" / "podcast_episode"
    names = sorted(path.name for path in module.iterdir())
    assert names == [
        "__init__.py",
        "record.py",
        "schedules.py",
        "schema.sql",
        "workflow.py",
        "workflow_interface.py",
    ]
    interface = (module / "workflow_interface.py").read_text(encoding="utf-8")
    assert 'TASK_QUEUE = "kardashian-tracker.podcast-episode"' in interface
    assert 'WORKFLOW_TYPE = "PodcastEpisodeWorkflow"' in interface
    assert 'name="PodcastEpisodeActivities.upsert"' in interface
    # Its own record, declared when it was added; its table is named after the record.
    workflow = (module / "workflow.py").read_text("utf-8")
    assert 'TABLE_NAME = "episodes"' in workflow
    assert "UPSERT = BulkUpsert(TABLE_NAME, FIELDS)" in workflow
    assert "ON CONFLICT on the key\n#     show, number\n# DO UPDATE," in workflow
    record = (module / "record.py").read_text("utf-8")
    assert "class Episode:" in record
    assert '    aired_on="date?",\n)' in record
    assert "    aired_on DATE,\n" in (module / "schema.sql").read_text("utf-8")
    # Its schedule, asked for when it was added, created paused by `schedules apply`.
    schedules = (module / "schedules.py").read_text("utf-8")
    assert 'id="kardashian-tracker.podcast-episode",' in schedules
    assert "        every=timedelta(hours=1),\n" in schedules
    assert "        paused=True,\n" in schedules
    test = service / "tests" / "modules" / "test_podcast_episode.py"
    assert "serving(" in test.read_text(encoding="utf-8")  # stops with stop_worker_faster()
    assert (service / "examples" / "podcast_episode.json").is_file()
    for case in ("small", "fan_out"):
        assert (service / "tests" / "histories" / f"podcast_episode_{case}.json").is_file()
    registry = (service / "src" / "kardashian_tracker" / "registry.py").read_text("utf-8")
    assert registry.count('    "kardashian_tracker.') == 2
    assert '    "kardashian_tracker.podcast_episode",\n]' in registry
    # Both deploy paths' KEDA scalers watch the new queue too, beside the first module's;
    # the worker controller's keeps its versioning keys for the controller to fill.
    plain = yaml.safe_load(
        (service / "deploy" / "kubernetes" / "keda-scaledobject.yaml").read_text("utf-8")
    )
    versioned = yaml.safe_load(
        (service / "deploy" / "worker-controller" / "workerresourcetemplate.yaml").read_text(
            "utf-8"
        )
    )["spec"]["template"]
    for scaler in (plain, versioned):
        queues = [trigger["metadata"]["taskQueue"] for trigger in scaler["spec"]["triggers"]]
        assert queues == ["kardashian-tracker.kardashian", "kardashian-tracker.podcast-episode"]
    assert versioned["spec"]["triggers"][1]["metadata"]["workerDeploymentBuildId"] == ""
    for file in ("keda-scaledobject.yaml", "workerresourcetemplate.yaml"):
        assert f"{file} scales the workers on kardashian-tracker.podcast-episode" in added.stdout
    assert unrendered_jinja(service) == []
    assert not list(service.glob(".new-workflow-*")), "the staging directory must go"
    assert "Added PodcastEpisodeWorkflow" in added.stdout


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        # The service's own names.
        (["workflow_name=Kardashian", "workflow_module=people"], "workflow_name='Kardashian'"),
        (
            ["workflow_name=Person", "workflow_module=kardashian"],
            "src/kardashian_tracker/kardashian exists",
        ),
        (["workflow_name=Person", "table_name=kardashians"], "table_name='kardashians' clashes"),
        # The main template's rules, unchanged.
        (["workflow_name=person"], "workflow_name='person' is invalid: must be CamelCase"),
        (["workflow_name=Person", "workflow_module=registry"], "must not collide with a module"),
        (["workflow_name=Person", "table_name=select"], "must not be an SQL reserved word"),
        (["workflow_name=Person", "record_fields=name:str"], "record_fields='name:str' is invalid"),
        (["workflow_name=Person", "workflow_module=../x"], "workflow_module='../x' is invalid"),
    ],
)
def test_a_clash_or_a_broken_rule_is_refused_and_nothing_is_written(
    cookies: Cookies, answers: list[str], message: str
) -> None:
    service = bake_ok(cookies, {})
    before = fingerprint(service)
    refused = add_workflow(service, *answers)
    assert refused.returncode != 0
    # Cookiecutter prints a refusal from a filter on stdout, a hook's on stderr.
    said = refused.stderr or refused.stdout
    assert said.startswith("ERROR: ")
    assert message in said
    assert fingerprint(service) == before
    assert sorted(path.name for path in service.parent.iterdir()) == [service.name]


def test_outside_a_baked_service_it_says_where_to_run_it(tmp_path: Path) -> None:
    refused = add_workflow(tmp_path, "workflow_name=Person")
    assert refused.returncode != 0
    said = refused.stderr or refused.stdout
    assert "run this from the root of a service baked from this template" in said
    assert list(tmp_path.iterdir()) == []
