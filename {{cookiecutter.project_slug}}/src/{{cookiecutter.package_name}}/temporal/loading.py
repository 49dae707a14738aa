"""Staged loads, as workflow code sees them: a job that names a source, and what travels.

A job may name a source instead of records: ``{"source": {"url": "https://.../x.csv"}}``.
The workflow then stages the source into PostgreSQL with one activity (loads/stage.py),
which returns the load's id and its line count, and merges the staged rows through the
same fan-out as any job's items: a batch is a range of the file's lines, by reference
(a staged row is numbered by its line).
Only ids and ranges travel, whatever the file's size (rule 4). The workflow's last run
(never a child) finishes the load: its staged rows go, its counts come back.

Pure Python: workflow code imports it inside the sandbox.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from temporalio import workflow
from typing_extensions import NotRequired, TypedDict

from .inputs import InvalidInputError

SCHEMES = ("file", "http", "https", "s3")
FORMATS = ("csv", "jsonl", "csv.gz", "jsonl.gz")
# A load with more rejects than this fails: the file is not this record's. A job's
# max_rejects may say otherwise, from 0 (every row must fit) up.
MAX_REJECTS = 1000
# The rejects a load's result shows; `rejects WORKFLOW_ID` lists every one.
REJECTS_SHOWN = 10
# Rows per merge activity at most: one INSERT ... SELECT of staged rows, no row in the
# payload. A merge costs no Python per row, so fewer, bigger merges spend less in
# Temporal's machinery: a million rows on 2 cores, `make bench`, median of 3 rounds,
# unchanged rows, two runs each on a busy host: merges of 50,000 gave 0.78 and 0.83 of
# PostgreSQL's own path (file/4), 200,000 gave 0.83 and 1.02 (the host's noise is as
# big as the gap; docs/performance.md). fanout.staged_batch_size shares a load's rows
# evenly among the merges at once, so none runs alone at the end.
STAGED_BATCH_SIZE = 200_000
# What loads merged in before the even split (fanout.EVEN_MERGES_PATCH): runs begun
# then replay with it.
FIRST_STAGED_BATCH_SIZE = 50_000
# The most a load's job may ask for: about a second a merge here, inside
# MERGE_OPTIONS' 30 s (a few seconds at ten million rows).
MAX_STAGED_BATCH_SIZE = 200_000


class SourceSpec(TypedDict):
    """Where a load's records are: ``file://``, ``http(s)://`` or ``s3://``, read by the worker."""

    url: str
    format: NotRequired[str]
    """csv, jsonl, csv.gz or jsonl.gz; by default what the URL's path ends with."""


class StagedRows(TypedDict):
    """The staged rows of lines ``first`` to ``first + count - 1`` of load ``load``: a batch
    by reference."""

    load: int
    first: int
    count: int


class StageRequest(TypedDict):
    """The stage activity's input: the source, and the run the load belongs to."""

    source: SourceSpec
    max_rejects: int
    workflow_id: str
    run_id: str


class StagedLoad(TypedDict):
    """The stage activity's answer: the load, and the lines its rows may be on, ``first``
    to ``first + count - 1`` (a staged row is numbered by its line): the range the merges
    go over."""

    load: int
    count: int
    first: NotRequired[int]
    """2 after a CSV's header, else 1 (as loads staged before it was given)."""


class ShownReject(TypedDict):
    line: int
    field: str | None
    error: str


class LoadSummary(TypedDict):
    """What a load did, in its workflow's result."""

    load: int
    source: str
    """The URL without user, password or query."""
    lines: int
    rows: int
    """Rows staged: lines that hold a record which fits."""
    rejects: int
    duplicates: int
    """Rows whose key a later line of the file gives again: the last line wins."""
    merged: int
    """Rows written to the table: inserted, or updated with other values."""
    first_rejects: list[ShownReject]


def shown(url: str) -> str:
    """The URL as it may be shown and stored: no user, password or query (which may hold
    a token or a signature)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    query = "?…" if parts.query else ""
    return urlunsplit((parts.scheme, host, parts.path, "", "")) + query


def check_source(job: Mapping[str, Any]) -> None:
    """Refuse, at once, a job whose source cannot be loaded, naming what is wrong."""
    if "records" in job or "key_range" in job:
        raise InvalidInputError("input names a source and records: give one or the other")
    url = job["source"]["url"]
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES:
        raise InvalidInputError(
            f"input.source.url must start with {', '.join(s + '://' for s in SCHEMES)}"
        )
    if parts.scheme == "file" and not parts.path.startswith("/"):
        raise InvalidInputError("input.source.url: a file:// URL needs an absolute path")
    given = job["source"].get("format")
    if given is not None and given not in FORMATS:
        raise InvalidInputError(f"input.source.format must be one of {', '.join(FORMATS)}")
    if source_format(job["source"]) is None:
        raise InvalidInputError(
            "input.source.format: the URL's path does not end in .csv, .jsonl or .ndjson "
            f"(or those with .gz): give one of {', '.join(FORMATS)}"
        )


def source_format(source: SourceSpec) -> str | None:
    """The source's format: as given, else what its URL's path ends with."""
    return source.get("format") or format_of(urlsplit(source["url"]).path)


def format_of(path: str) -> str | None:
    """The format a path's name says: ``.csv``, ``.jsonl`` or ``.ndjson``, maybe ``.gz``."""
    name = path.lower()
    compressed = name.endswith(".gz")
    name = name.removesuffix(".gz")
    for suffix, kind in ((".csv", "csv"), (".jsonl", "jsonl"), (".ndjson", "jsonl")):
        if name.endswith(suffix):
            return kind + (".gz" if compressed else "")
    return None


def stage_request(job: Mapping[str, Any]) -> StageRequest:
    """The stage activity's input for this run's job: the load is this workflow's."""
    info = workflow.info()
    return {
        "source": job["source"],
        "max_rejects": int(job.get("max_rejects", MAX_REJECTS)),
        "workflow_id": info.workflow_id,
        # The first run's id, kept across continue-as-new: one load per started workflow.
        "run_id": info.first_execution_run_id,
    }


def staged_job(job: Mapping[str, Any], staged: StagedLoad) -> Any:
    """The job's staged rows as a job of the fan-out's, with the job's own options."""
    kept = {key: job[key] for key in ("batch_size", "max_activities_per_run") if key in job}
    rows: StagedRows = {
        "load": staged["load"],
        "first": staged.get("first", 1),
        "count": staged["count"],
    }
    return {**kept, "staged": rows}


def finishes_load(job: Mapping[str, Any]) -> bool:
    """True for the run that closes a load: the workflow's own, never a child's."""
    return "staged" in job and workflow.info().parent is None
