"""Staged loads: a file's records staged into PostgreSQL and merged, only references in payloads.

Against the real servers: a file on disk (CSV, JSON Lines, gzipped), a real HTTP server
with a network's faults, and the worker's own activities. Each load's table is compared
with the rows the file's records make, exactly.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from importlib import import_module
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from temporalio import activity
from temporalio.client import Client, WorkflowFailureError

from {{ cookiecutter.package_name }}.loads import sources
from {{ cookiecutter.package_name }}.loads.stage import CHUNK_BYTES, HEARTBEAT_SECONDS
from {{ cookiecutter.package_name }}.loads.staging import RETENTION, staged_rows_name
from {{ cookiecutter.package_name }}.temporal import schedules
from {{ cookiecutter.package_name }}.temporal.histories import payload_sizes
from {{ cookiecutter.package_name }}.temporal.inputs import InvalidInputError
from {{ cookiecutter.package_name }}.temporal.loading import MAX_STAGED_BATCH_SIZE
from {{ cookiecutter.package_name }}.temporal.scheduled_job import ScheduledJob
from {{ cookiecutter.package_name }}.temporal.schedules import Declared

from .helpers import (
    EXAMPLE,
    PROJECT_ROOT,
    TEXT_FIELDS,
    application_error,
    assert_eventually,
    example_input,
    free_port,
    handle_histories,
    result_within,
    run_cli,
    service_env,
    serving,
    stored,
    temporal_cli,
)
from .helpers.sources import (
    Faults,
    csv_text,
    expected_rows,
    http_source,
    jsonl_text,
    without_ids,
    write,
)
from .module_under_test import MODULE, Job, Workflow
from .module_under_test import Record as MODULE_RECORD

# Small enough to take seconds, big enough for several chunks, batches and children.
ROWS = 12_000
NUMBERS = list(range(1, ROWS + 1))
# A payload of a load's histories stays under this, whatever the file's size.
REFERENCE_PAYLOAD_LIMIT = 4 * 1024


async def load(client: Client, task_queue: str, url: str, **options: Any) -> Any:
    """The module's workflow run on a job that names ``url``; its result."""
    job: Job = {"source": {"url": url}, **options}  # type: ignore[typeddict-item]
    handle = await client.start_workflow(
        Workflow.run,
        job,
        id=f"load-{uuid.uuid4()}",
        task_queue=task_queue,
    )
    return await result_within(handle), handle


async def test_a_csv_loads_every_row_and_names_each_reject_by_line(
    client: Client, database_url: str, task_queue: str, tmp_path: Path
) -> None:
    # Bad lines at known places: the header is line 1, the row of number n is line n + 1
    # before the first bad line.
    bad = {
        10: "one,too,many,cells" + ",x" * len(MODULE.fields.names),
        20: "holds a NUL\x00," * (len(MODULE.fields.names) - 1) + "here",
        -1: '"an unterminated quote',
    }
    text = csv_text(NUMBERS, bad)
    path = write(tmp_path / "export.csv", text)
    async with serving(client, database_url, task_queue):
        result, _ = await load(client, task_queue, path.as_uri())
    assert without_ids(stored(database_url)) == expected_rows(NUMBERS)
    summary = result["load"]
    assert [r["line"] for r in summary["first_rejects"]] == [11, 22, ROWS + 4]
    assert "cells" in summary["first_rejects"][0]["error"]
    assert "NUL" in summary["first_rejects"][1]["error"]
    assert (summary["lines"], summary["rows"], summary["rejects"]) == (ROWS + 4, ROWS, 3)
    assert (summary["merged"], result["upserted"]) == (ROWS, ROWS)


async def test_the_stage_heartbeats_while_it_seals(
    client: Client,
    database_url: str,
    task_queue: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The seal runs over every staged row at once: at tens of millions of rows it outlasts
    # the stage's heartbeat_timeout. The test holds it until a heartbeat comes, or fails.
    beats: list[float] = []
    sending = activity.heartbeat

    def recorded(*details: Any) -> None:
        beats.append(time.monotonic())
        sending(*details)

    monkeypatch.setattr(activity, "heartbeat", recorded)
    staging = import_module(f"{MODULE.package}.workflow").LOADS
    sealing, sealed = asyncio.Event(), staging.seal
    beat_while_sealing = asyncio.Event()

    async def held_seal(conn: Any, load_row: Any) -> Any:
        sealing.set()
        await beat_while_sealing.wait()
        return await sealed(conn, load_row)

    monkeypatch.setattr(staging, "seal", held_seal)
    path = write(tmp_path / "export.csv", csv_text(NUMBERS))
    async with serving(client, database_url, task_queue):
        loading = asyncio.ensure_future(load(client, task_queue, path.as_uri()))
        await asyncio.wait_for(sealing.wait(), timeout=60)
        began = time.monotonic()
        try:
            await assert_eventually(
                "a heartbeat while the stage seals",
                lambda: any(beat > began for beat in beats),
                timeout=3 * HEARTBEAT_SECONDS,
            )
        finally:
            beat_while_sealing.set()
        result, _ = await loading
    assert result["load"]["rows"] == ROWS
    assert without_ids(stored(database_url)) == expected_rows(NUMBERS)


async def test_gzipped_json_lines_load_the_same_rows(
    client: Client, database_url: str, task_queue: str, tmp_path: Path
) -> None:
    path = write(tmp_path / "export.jsonl.gz", jsonl_text(NUMBERS))
    async with serving(client, database_url, task_queue):
        result, _ = await load(client, task_queue, path.as_uri())
    assert without_ids(stored(database_url)) == expected_rows(NUMBERS)
    assert (result["load"]["rows"], result["load"]["rejects"]) == (ROWS, 0)


async def test_a_key_given_twice_keeps_its_last_line_and_a_second_load_changes_nothing(
    client: Client, database_url: str, task_queue: str, tmp_path: Path
) -> None:
    # Number 5 again at the end: the merge ranges run in any order, the last line wins.
    path = write(tmp_path / "export.csv", csv_text([*NUMBERS, 5]))
    async with serving(client, database_url, task_queue):
        first, _ = await load(client, task_queue, path.as_uri(), batch_size=1000)
        rows = stored(database_url)
        second, _ = await load(client, task_queue, path.as_uri(), batch_size=1000)
    assert first["load"]["duplicates"] == 1
    assert without_ids(rows) == expected_rows(NUMBERS)
    assert stored(database_url) == rows  # the same rows, ids and all
    assert second["load"]["merged"] == 0


async def test_a_load_over_rows_mostly_held_writes_the_new_and_the_changed_ones(
    client: Client, database_url: str, task_queue: str, tmp_path: Path
) -> None:
    # Nine rows in ten are in the table as they are: each range leaves those out by a
    # lookup (Staging.merge_changed), and must still write every new and changed row.
    first = list(range(1, 1001))
    new = list(range(1001, 1101))
    key_fields = set(MODULE.fields.key)
    others = [name for name in MODULE.fields.names if name not in key_fields]
    # Every tenth row keeps its key and takes the other fields of another record.
    changed = {}
    for number in range(1, 1001, 10):
        row = dict(MODULE_RECORD.numbered(number).to_dict())
        elsewhere = dict(MODULE_RECORD.numbered(number + 5000).to_dict())
        changed[_key_of(row)] = {**row, **{name: elsewhere[name] for name in others}}

    def edit(record: dict[str, Any]) -> dict[str, Any]:
        return changed.get(_key_of(record), record)

    async with serving(client, database_url, task_queue):
        await load(client, task_queue, write(tmp_path / "a.csv", csv_text(first)).as_uri())
        second = write(tmp_path / "b.csv", csv_text(first + new, edit=edit))
        result, _ = await load(client, task_queue, second.as_uri(), batch_size=100)
    expected = without_ids([edit(row) for row in expected_rows(first + new)])
    assert without_ids(stored(database_url)) == expected
    # The changed rows are written too, where the record has fields outside its key.
    rewritten = sum(edit(row) != row for row in expected_rows(first))
    assert result["load"]["merged"] == len(new) + rewritten


def _key_of(record: dict[str, Any]) -> str:
    return json.dumps([record[name] for name in MODULE.fields.key], default=str)


async def test_only_references_travel_in_a_loads_histories_children_included(
    client: Client, database_url: str, task_queue: str, tmp_path: Path
) -> None:
    path = write(tmp_path / "export.csv", csv_text(NUMBERS))
    async with serving(client, database_url, task_queue):
        result, handle = await load(
            client, task_queue, path.as_uri(), batch_size=500, max_activities_per_run=4
        )
        histories = await handle_histories(client, handle)
    assert result["load"]["rows"] == ROWS
    assert len(histories) > 3, "the load went through children and continued runs"
    sizes = payload_sizes(histories)
    assert sizes and max(sizes) < REFERENCE_PAYLOAD_LIMIT, f"largest payload {max(sizes)} bytes"


async def test_a_header_without_a_key_field_fails_the_load_at_once_naming_it(
    client: Client, database_url: str, task_queue: str, tmp_path: Path
) -> None:
    key = MODULE.fields.key[0]
    text = csv_text(NUMBERS[:10]).replace(key, "renamed", 1)
    path = write(tmp_path / "export.csv", text)
    async with serving(client, database_url, task_queue):
        with pytest.raises(WorkflowFailureError) as failure:
            await load(client, task_queue, path.as_uri())
    message = str(application_error(failure.value))
    assert f"lacks {key}" in message and "'renamed'" in message
    assert stored(database_url) == []


async def test_a_path_the_worker_cannot_open_says_the_worker_reads_it(
    client: Client, database_url: str, task_queue: str, tmp_path: Path
) -> None:
    async with serving(client, database_url, task_queue):
        with pytest.raises(WorkflowFailureError) as failure:
            await load(client, task_queue, (tmp_path / "nowhere.csv").as_uri())
    assert "the worker reads the source" in str(application_error(failure.value))


async def test_more_rejects_than_max_rejects_fail_the_load(
    client: Client, database_url: str, task_queue: str, tmp_path: Path
) -> None:
    text = csv_text(NUMBERS[:100], {n: "not,a,record,at,all,!" for n in (3, 4, 5)})
    path = write(tmp_path / "export.csv", text)
    async with serving(client, database_url, task_queue):
        with pytest.raises(WorkflowFailureError) as failure:
            await load(client, task_queue, path.as_uri(), max_rejects=2)
    assert "more than max_rejects (2)" in str(application_error(failure.value))
    assert stored(database_url) == []
    with psycopg.connect(database_url) as conn:
        states = conn.execute("SELECT state, rejects FROM staged_loads").fetchall()
    assert states == [("failed", 3)]


async def test_a_chunk_that_fails_the_load_lets_no_chunk_after_it_commit(
    client: Client, database_url: str, task_queue: str, tmp_path: Path
) -> None:
    # Two lanes stage chunks at once (loads/stage.py). The first chunk of rows takes the
    # load past max_rejects: it commits, then fails the load, and the chunk staged beside
    # it rolls back instead of committing after it. Eight chunks' worth of rows follow.
    row_bytes = len(csv_text([1]).encode()) - len(csv_text([]).encode())  # the shortest
    numbers = list(range(1, 8 * CHUNK_BYTES // row_bytes))
    bad_line = "not,a,record,at,all,!"
    data = csv_text(numbers, {n: bad_line for n in (10, 11, 12)}).encode()
    bad_end = data.rfind(bad_line.encode()) + len(bad_line) + 1
    path = write(tmp_path / "export.csv", data)
    async with serving(client, database_url, task_queue):
        with pytest.raises(WorkflowFailureError) as failure:
            await load(client, task_queue, path.as_uri(), max_rejects=2)
    assert "more than max_rejects (2)" in str(application_error(failure.value))
    with psycopg.connect(database_url) as conn:
        found = conn.execute(
            "SELECT bytes, lines, rows_staged, rejects FROM staged_loads"
        ).fetchone()
        table = sql.Identifier(staged_rows_name(MODULE.table, MODULE.fields))
        staged = conn.execute(sql.SQL("SELECT max(_seq), count(*) FROM {}").format(table))
        top, count = staged.fetchone() or (0, 0)
    assert found is not None
    committed, lines, rows_staged, rejects = found
    # Committed: the failing chunk, which holds the bad lines (a chunk is under 2 MiB),
    # and nothing after it.
    assert bad_end <= committed < bad_end + 2 * CHUNK_BYTES < len(data), (committed, len(data))
    # Every committed line but the header and the three bad ones is a staged row, and
    # none lies past the committed position.
    assert (rejects, count, rows_staged) == (3, lines - 4, lines - 4)
    assert top <= lines


# Each fault, and what the worker must have asked for: a cut body again from where it
# stopped, with a Range (a server without ranges resends it whole, and the worker skips).
FAULTS = {
    "503-retry-after": (Faults(unavailable=2), ["", "", ""]),
    "cut-mid-body": (Faults(cut_after=100_000), ["", "bytes=100000-"]),
    "cut-without-ranges": (Faults(cut_after=100_000, ranges=False), ["", "bytes=100000-"]),
    "slow-chunks": (Faults(chunk_delay=0.01), [""]),
}


# The served file: about a hundred thousand rows, several chunks of any record.
HTTP_NUMBERS = list(range(1, 100_001))


@pytest.mark.slow
@pytest.mark.parametrize("case", FAULTS)
async def test_an_http_source_with_faults_loads_exactly_the_clean_rows(
    client: Client, database_url: str, task_queue: str, case: str
) -> None:
    faults, asked = FAULTS[case]
    data = csv_text(HTTP_NUMBERS).encode()
    with http_source(data, faults) as url:
        async with serving(client, database_url, task_queue):
            result, _ = await load(client, task_queue, url)
    assert without_ids(stored(database_url)) == expected_rows(HTTP_NUMBERS)
    assert (result["load"]["rows"], result["load"]["rejects"]) == (len(HTTP_NUMBERS), 0)
    assert faults.requests == asked


async def test_an_http_404_fails_the_load_at_once_without_the_urls_secrets(
    client: Client, database_url: str, task_queue: str
) -> None:
    with http_source(b"", Faults(missing=True)) as url:
        hidden = "hunter2"
        secret_url = url.replace("http://", f"http://user:{hidden}@") + "?token=s3cr3t"
        async with serving(client, database_url, task_queue):
            with pytest.raises(WorkflowFailureError) as failure:
                await load(client, task_queue, secret_url)
    message = str(application_error(failure.value))
    assert "HTTP 404" in message and "/export.csv" in message
    assert "hunter2" not in message and "s3cr3t" not in message


async def test_the_example_csv_loads_the_example_jobs_records_started_by_the_temporal_cli(
    client: Client, database_url: str, task_queue: str, temporal_address: str
) -> None:
    # Any client can start a load, as any job: it names its source in plain JSON, here with
    # the most rows a merge may take (more than a job of records may ask for).
    path = PROJECT_ROOT / "examples" / f"{EXAMPLE.stem}.csv"
    job = json.dumps({"source": {"url": path.as_uri()}, "batch_size": MAX_STAGED_BATCH_SIZE})
    workflow_id = f"cli-load-{uuid.uuid4()}"
    async with serving(client, database_url, task_queue):
        started = await asyncio.to_thread(
            temporal_cli, temporal_address, "workflow", "execute", "--type",
            MODULE.workflow_type, "--task-queue", task_queue, "--workflow-id", workflow_id,
            "--input", job,
        )  # fmt: skip
        assert started.returncode == 0, started.stderr
        result = await result_within(client.get_workflow_handle(workflow_id))
    records = example_input()["records"]
    assert (result["load"]["rows"], result["load"]["rejects"]) == (len(records), 0)
    assert without_ids(stored(database_url)) == without_ids(
        [dict(MODULE_RECORD.from_dict(r).to_dict()) for r in records]
    )


async def test_load_and_rejects_on_the_command_line(
    client: Client, database_url: str, task_queue: str, temporal_address: str, tmp_path: Path
) -> None:
    bad_line = "not,a,record" + ",x" * len(MODULE.fields.names)
    path = write(tmp_path / "export.csv", csv_text([1, 2, 3], {2: bad_line}))
    env = service_env(temporal_address, database_url)
    workflow_id = f"cli-load-{uuid.uuid4()}"
    async with serving(client, database_url, task_queue):
        loaded = await asyncio.to_thread(
            run_cli, "load", str(path), "--task-queue", task_queue, "--workflow-id", workflow_id,
            env=env,
        )  # fmt: skip
    assert loaded.returncode == 0, loaded.stderr
    result = json.loads(loaded.stdout.splitlines()[-1])
    assert (result["upserted"], result["load"]["rejects"]) == (3, 1)
    listed = run_cli("rejects", workflow_id, env=env)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines()[1:] == [
        f"line 3: has {len(MODULE.fields.names) + 3} cells, the header names "
        f"{len(MODULE.fields.names)}",
        f"    {bad_line}",
    ]
    unknown = run_cli("rejects", "no-such-workflow", env=env)
    assert unknown.returncode == 1 and "no load of workflow no-such-workflow" in unknown.stderr


@pytest.fixture
def s3_bucket(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A bucket on a real S3-compatible server on loopback (moto's), reached through the
    standard AWS settings, as a deployment would set them."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    for name, value in {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
    }.items():
        monkeypatch.setenv(name, value)
    sources.s3_client.cache_clear()
    sources.s3_client().create_bucket(Bucket="exports")
    try:
        yield "exports"
    finally:
        sources.s3_client.cache_clear()
        server.stop()


@pytest.mark.parametrize("name", ["export.csv", "export.csv.gz"])
async def test_an_s3_object_loads_every_row(
    client: Client, database_url: str, task_queue: str, s3_bucket: str, name: str
) -> None:
    data = csv_text(NUMBERS).encode()
    body = gzip.compress(data) if name.endswith(".gz") else data
    sources.s3_client().put_object(Bucket=s3_bucket, Key=f"daily/{name}", Body=body)
    async with serving(client, database_url, task_queue):
        result, _ = await load(client, task_queue, f"s3://{s3_bucket}/daily/{name}")
    assert without_ids(stored(database_url)) == expected_rows(NUMBERS)
    assert (result["load"]["rows"], result["load"]["source"]) == (
        ROWS,
        f"s3://{s3_bucket}/daily/{name}",
    )


async def test_a_source_that_changes_between_readings_fails_the_load_naming_it(
    client: Client, database_url: str, task_queue: str
) -> None:
    data = csv_text(NUMBERS).encode()
    faults = Faults(cut_after=100_000, etags=['"v1"', '"v2"'])
    with http_source(data, faults) as url:
        async with serving(client, database_url, task_queue):
            with pytest.raises(WorkflowFailureError) as failure:
                await load(client, task_queue, url)
    message = str(application_error(failure.value))
    assert 'changed during the load (version "v1", now "v2")' in message
    assert stored(database_url) == []


async def test_a_failed_loads_staged_rows_are_swept_after_the_retention(
    client: Client, database_url: str, task_queue: str, tmp_path: Path
) -> None:
    good = write(tmp_path / "good.csv", csv_text(NUMBERS[:10]))
    async with serving(client, database_url, task_queue):
        await fail_a_load(client, task_queue, tmp_path)
        assert staged_rows(database_url) > 0  # kept, for a look
        with psycopg.connect(database_url) as conn:
            conn.execute(
                "UPDATE staged_loads SET updated_at = now() - %s", [RETENTION + timedelta(1)]
            )
        await load(client, task_queue, good.as_uri())
    assert staged_rows(database_url) == 0
    with psycopg.connect(database_url) as conn:
        states = conn.execute("SELECT state FROM staged_loads ORDER BY id").fetchall()
    assert states == [("expired",), ("done",)]


async def test_a_finished_load_leaves_a_failed_loads_staged_rows_for_their_look(
    client: Client, database_url: str, task_queue: str, tmp_path: Path
) -> None:
    # A finish empties the whole staged-rows table when it holds no other load's rows;
    # a failed load's are kept until the retention ends, whatever loads finish meanwhile.
    good = write(tmp_path / "good.csv", csv_text(NUMBERS[:10]))
    async with serving(client, database_url, task_queue):
        await fail_a_load(client, task_queue, tmp_path)
        kept = staged_rows(database_url)
        result, _ = await load(client, task_queue, good.as_uri())
    assert result["load"]["rows"] == 10
    assert kept > 0 and staged_rows(database_url) == kept


async def fail_a_load(client: Client, task_queue: str, tmp_path: Path) -> None:
    """A load that fails, three bad lines against max_rejects=2: its staged rows stay."""
    bad = {n: "not,a,record,at,all,!" for n in (3, 4, 5)}
    failing = write(tmp_path / "failing.csv", csv_text(NUMBERS[:100], bad))
    with pytest.raises(WorkflowFailureError):
        await load(client, task_queue, failing.as_uri(), max_rejects=2)


def staged_rows(database_url: str) -> int:
    """Rows in the module's staged-rows table, every load's."""
    from {{ cookiecutter.package_name }}.loads.staging import Staging

    table = Staging(MODULE.table, MODULE.fields).rows_table
    with psycopg.connect(database_url) as conn:
        found = conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()  # noqa: S608
    return int(found[0]) if found else 0


def test_a_schedule_may_carry_a_source_as_docs_schedules_shows() -> None:
    nightly = ScheduledJob(
        id="nightly-export",
        job={"source": {"url": "s3://exports/daily/export.csv.gz"}},
        cron="0 2 * * *",
    )
    bad = ScheduledJob(id="bad-export", job={"source": {"url": "ftp://x/y.csv"}}, cron="0 2 * * *")
    found = schedules.problems([Declared(MODULE, nightly), Declared(MODULE, bad)])
    assert [problem.split(":")[0] for problem in found] == ["schedule 'bad-export'"]


@pytest.mark.parametrize(
    ("source", "refusal"),
    [
        ({"url": "ftp://example.com/x.csv"}, "input.source.url must start with file://"),
        ({"url": "file:///data/export.txt"}, "input.source.format: the URL's path does not end"),
        ({"url": "file://export.csv"}, "a file:// URL needs an absolute path"),
        ({"url": "https://example.com/x", "format": "xml"}, "input.source.format must be one"),
    ],
)
def test_a_source_that_cannot_be_loaded_is_refused_before_any_activity(
    source: dict[str, str], refusal: str
) -> None:
    assert MODULE.check_job is not None
    MODULE.check_job({"source": {"url": "https://example.com/x.csv"}})  # as a schedule's job
    with pytest.raises(InvalidInputError, match=refusal.replace(".", r"\.")):
        MODULE.check_job({"source": source})


def test_a_load_may_merge_up_to_200_000_rows_at_a_time_and_a_job_of_records_10_000() -> None:
    # A merge's rows never travel, so a load's batches are bounded by its merge's time alone.
    assert MODULE.check_job is not None
    source = {"url": "https://example.com/x.csv"}
    for size in (1, 50_000, 200_000):
        MODULE.check_job({"source": source, "batch_size": size})
    with pytest.raises(InvalidInputError, match="must be from 1 to 200,000, got 200,001"):
        MODULE.check_job({"source": source, "batch_size": 200_001})
    with pytest.raises(InvalidInputError, match="must be from 1 to 10,000, got 10,001"):
        MODULE.check_job({"records": [], "batch_size": 10_001})


@pytest.mark.skipif(not TEXT_FIELDS, reason="the record has no text field to quote")
async def test_quoted_cells_across_lines_and_chunks_load_as_written(
    client: Client, database_url: str, task_queue: str, tmp_path: Path
) -> None:
    # A text cell with quotes and line ends in every row: the chunks, cut at a line end
    # outside quotes, never split a row, and a reject names the line its row starts on.
    def quoted(record: dict[str, Any]) -> dict[str, Any]:
        return {**record, TEXT_FIELDS[0]: f'{record[TEXT_FIELDS[0]]} "a"\nb'[:200]}

    row_bytes = len(csv_text([10**6], edit=quoted)) - len(csv_text([]))
    numbers = list(range(1, CHUNK_BYTES * 5 // 2 // row_bytes))
    bad = {numbers[-10]: "not,a,record" + ",x" * len(MODULE.fields.names)}
    path = write(tmp_path / "export.csv", csv_text(numbers, bad, edit=quoted))
    async with serving(client, database_url, task_queue):
        result, _ = await load(client, task_queue, path.as_uri())
    expected = without_ids([quoted(row) for row in expected_rows(numbers)])
    assert without_ids(stored(database_url)) == expected
    # Each row takes two lines, the header one: the bad line comes before number n's row.
    assert [r["line"] for r in result["load"]["first_rejects"]] == [2 * numbers[-10]]


# A value that passes the record's checks but not PostgreSQL's: every type's own limits
# are checked before (tests/test_hostile_input.py), so here a team narrowed a text column.
NARROWED = 40


@pytest.mark.skipif(not TEXT_FIELDS, reason="the record has no text field to narrow")
async def test_a_value_postgresql_refuses_is_a_reject_naming_its_field_and_the_rest_loads(
    client: Client, database_url: str, task_queue: str, tmp_path: Path
) -> None:
    name = TEXT_FIELDS[0]
    with psycopg.connect(database_url, autocommit=True) as conn:
        for table in (MODULE.table, staged_rows_name(MODULE.table, MODULE.fields)):
            conn.execute(
                sql.SQL("ALTER TABLE {} ALTER COLUMN {} TYPE VARCHAR({})").format(
                    sql.Identifier(table), sql.Identifier(name), sql.Literal(NARROWED)
                )
            )
    numbers = NUMBERS[:3000]
    marked = dict(MODULE_RECORD.numbered(1500).to_dict())

    def refused(record: dict[str, Any]) -> dict[str, Any]:
        return {**record, name: "w" * (NARROWED + 1)} if record == marked else record

    path = write(tmp_path / "export.csv", csv_text(numbers, edit=refused))
    async with serving(client, database_url, task_queue):
        result, _ = await load(client, task_queue, path.as_uri())
    [reject] = result["load"]["first_rejects"]
    assert (reject["line"], reject["field"]) == (1501, name)
    assert reject["error"].startswith("refused by PostgreSQL: value too long"), reject
    assert without_ids(stored(database_url)) == expected_rows([n for n in numbers if n != 1500])
