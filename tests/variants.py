"""The answers the template tests bake, each written as overrides of the defaults."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import pytest


@dataclass(frozen=True)
class Names:
    """The names a bake must end up with, given or derived."""

    project_name: str
    project_slug: str
    package_name: str
    workflow_name: str
    workflow_module: str
    task_queue: str
    record_name: str
    record_fields: str
    table_name: str


DEFAULTS = Names(
    project_name="Kardashian Tracker",
    project_slug="kardashian-tracker",
    package_name="kardashian_tracker",
    workflow_name="Kardashian",
    workflow_module="kardashian",
    task_queue="kardashian-tracker.kardashian",
    record_name="Kardashian",
    record_fields="name:str key, surname:str key",
    table_name="kardashians",
)
# What a record of another name gets when it declares no fields: none of the story.
NEUTRAL_FIELDS = "key:str key, value:str"


@dataclass(frozen=True)
class Variant:
    """Answers to bake with, and every name the template must derive from them."""

    id: str
    answers: dict[str, str]
    names: Names = field(default=DEFAULTS)
    suite: str = ""
    """Which of the baked tests `make test` runs: all of them, or QUICK_SUITE or NAMES_SUITE."""

    @property
    def module_dir(self) -> str:
        """Where the workflow's module lives inside the baked project."""
        return f"src/{self.names.package_name}/{self.names.workflow_module}"

    @property
    def speaks_its_own_names(self) -> bool:
        """True when the workflow is not the defaults' story, so none of it may show."""
        return self.names.workflow_name != DEFAULTS.workflow_name


def variant(id: str, answers: dict[str, str], *, suite: str = "", **derived: str) -> Variant:
    """A variant: ``answers`` override the defaults, ``derived`` what the template makes of them."""
    named = {key: value for key, value in answers.items() if key in Names.__dataclass_fields__}
    names = dataclasses.replace(DEFAULTS, **named, **derived)
    if names.record_name != DEFAULTS.record_name and "record_fields" not in answers:
        names = dataclasses.replace(names, record_fields=NEUTRAL_FIELDS)
    return Variant(id, answers, names, suite)


# Which baked tests run, as a `make test` option; every bake runs ruff and mypy --strict.
# All of them run on the defaults and on the longest names, where a name could break
# a limit. The fault, long and multi-process tests drive the same code under the same
# names as the rule tests, so a variant whose change is only in its names runs the
# tests where names show: the types the server knows, the payloads by type name, the
# command line, progress with its Web UI summaries, the module's own tests and the
# replay of its recorded histories, whose names and payloads are rendered per bake
# (NAMES_SUITE). A changed record leaves out only the fault, long and multi-process
# tests (QUICK_SUITE, in test_make_it_yours.py). This keeps the template's suite
# within its budget of 15 minutes on 2 cores.
QUICK_SUITE = 'PYTEST_ARGS=-m "not faults and not slow and not processes"'
NAMES_TESTS = ["rule1_naming", "rule5_6_payloads", "cli", "progress", "replay"]
NAMES_SUITE = "PYTEST_ARGS=" + " ".join(
    [*(f"tests/test_{name}.py" for name in NAMES_TESTS), "tests/modules"]
)


# Every declarable type once, three of them in the key.
DECLARED_FIELDS = (
    "order_id:str key, line:int key, day:date key, sku:uuid, qty:int, price:decimal, "
    "weight:float, gift:bool, shipped_at:datetime?, meta:json?, tags:list[str]?, bins:list[int]?"
)

# 80 characters, the most the pre-generation hook allows.
LONGEST_QUEUE = "municipal-records-archive.reconcile-ledger-entries-nightly.v1.ingest-batch-queue"

VARIANTS = [
    variant("defaults", {}),
    variant(
        "podcast",
        {
            "project_name": "Podcast Transcriber",
            "workflow_name": "PodcastEpisode",
            "schedule": "every 90m",
        },
        project_slug="podcast-transcriber",
        package_name="podcast_transcriber",
        workflow_module="podcast_episode",
        task_queue="podcast-transcriber.podcast-episode",
        record_name="PodcastEpisodeRecord",
        table_name="podcast_episode_records",
        suite=NAMES_SUITE,
    ),
    variant(
        "explicit-names",
        {
            "project_name": "Crawler",
            "workflow_name": "HTTPFetch",
            "workflow_module": "fetcher",
            "task_queue": "fetch_jobs.v2",
            "table_name": "fetched_pages",
            "package_name": "crawler_core",
            "schedule": "none",
        },
        project_slug="crawler",
        record_name="HTTPFetchRecord",
        suite=NAMES_SUITE,
    ),
    variant(
        # Every name at its longest: the baked code must still be lint-clean.
        "longest-names",
        {
            "project_name": "Municipal Records Archive",
            "workflow_name": "ReconcileLedgerEntriesNightlyX",
            "workflow_module": "reconcile_ledger_entries_night",
            "package_name": "municipal_records_archive_svc1",
            "task_queue": LONGEST_QUEUE,
            "table_name": "reconciled_ledger_entries_recorded_by_the_municipal_archive_sv1",
        },
        project_slug="municipal-records-archive",
        record_name="ReconcileLedgerEntriesNightlyXRecord",
    ),
    variant(
        # The record declared at bake time: every type, a key of three fields, optional
        # fields; the record's name and table are the team's, not the workflow's.
        "declared-record",
        {
            "project_name": "Shipment Ledger",
            "workflow_name": "ReconcileShipments",
            "record_name": "ShipmentLine",
            "record_fields": DECLARED_FIELDS,
            "schedule": "30 2 * * mon-fri",
        },
        project_slug="shipment-ledger",
        package_name="shipment_ledger",
        workflow_module="reconcile_shipments",
        task_queue="shipment-ledger.reconcile-shipments",
        table_name="shipment_lines",
    ),
    variant(
        # Quotes and non-ASCII letters in the name; cookiecutter's slugify transliterates.
        "unicode-name",
        {"project_name": 'Café "Ørsted" l\'Été'},
        project_slug="cafe-orsted-l-ete",
        package_name="cafe_orsted_l_ete",
        task_queue="cafe-orsted-l-ete.kardashian",
        suite=NAMES_SUITE,
    ),
]


def variant_params() -> list[object]:
    """The variants as pytest parameters, named by their ids."""
    return [pytest.param(v, id=v.id) for v in VARIANTS]
