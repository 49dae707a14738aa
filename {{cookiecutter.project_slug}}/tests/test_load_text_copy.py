"""PostgreSQL reads a CSV chunk as Python would, or leaves it to Python (loads/text_copy.py).

A clean chunk of a CSV is parsed and checked by PostgreSQL whole; a chunk with a row it
should not take is read in Python. Whichever path a chunk takes, the staged rows and the
rejects must be the same: these tests load one file of awkward cells, of every declared
type, both ways and compare the tables and the rejects.
"""

from __future__ import annotations

import csv
import io
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from temporalio.client import Client

from {{ cookiecutter.package_name }}.loads import stage, text_copy
from {{ cookiecutter.package_name }}.loads.cells import csv_cell
from {{ cookiecutter.package_name }}.loads.staging import Staging

from .helpers import TEXT_FIELDS, result_within, serving, stored
from .helpers.sources import without_ids, write
from .module_under_test import MODULE, Job, Record, Workflow

# Cells of each declared type that Python reads, awkwardly written; and cells it refuses.
# Each goes into a row of its own, in a field of that type, between clean rows.
AWKWARD: dict[str, list[str]] = {
    "str": [" spaced ", 'a "quoted" word', "comma, inside", "ünïcødé", "back\\.slash", "x" * 300],
    "int": [" 7", "+7", "-0", "007", "9223372036854775807", "٣"],
    "float": ["1e3", ".5", "5.", " -2.5 ", "1_0", "1e-400"],
    "decimal": ["1.50", "1E-5", " 2 ", "-0.000", "1_000"],
    "bool": ["T", " false ", "TRUE", "f"],
    "date": ["2024-02-29", "2026-12-31"],
    "datetime": [
        "2026-01-11T01:30:00Z",
        "2026-01-11 01:30:00.123+05:30",
        "2026-01-11T01:30:00z",
        "2026-01-11T01:30+02:00",
        "2026-01-11T23:59:59.999999-23:59",
    ],
    "uuid": [
        "00000001-0000-4000-8000-00000000000A",
        "000000010000400080000000000000ab",
        "{00000001-0000-4000-8000-000000000001}",
    ],
    "json": ['{"a": 1}', '{"a": 1.10, "b": 1e2}', '{"a": [1, {"b": null}], "a": "last"}', "{}"],
    "list[str]": ['["a", "b"]', "[]", '["\\u00e9", "x,y"]'],
    "list[int]": ["[1, -2]", "[]", "[ 9223372036854775807 ]"],
}
REFUSED: dict[str, list[str]] = {
    "str": [],  # any text fits a field that is not in the key
    "int": ["1_000", "9223372036854775808", "0x1F", "1.0"],
    "float": ["nan", "1e400", "Infinity", "one"],
    "decimal": ["NaN", "Infinity", "1e200000", "1e-16384", "0x1F"],
    "bool": ["yes", "1", "on"],
    "date": ["2026-02-30", "0000-01-01", "2026-1-1", "today", "20260101"],
    "datetime": [
        "2026-01-11T01:30:00",
        "2026-01-11T24:00:00Z",
        "2026-01-11T01:30:60Z",
        "epoch",
        "0001-01-01T00:00:00+05:00",
        "9999-12-31T23:00:00-05:00",
    ],
    "uuid": ["nope", "00000001-0000-4000-8000-00000000000"],
    "json": ["[1]", '{"a": NaN}', '{"a\\u0000": 1}', "not json"],
    "list[str]": ['["a", 1]', '{"a": 1}', "[null]"],
    "list[int]": ["[1.0]", "[1e2]", '["1"]', "[9223372036854775808]", "[true]"],
}
KEY_TEXT = [name for name in MODULE.fields.key if name in MODULE.fields.of_type("str")]
# Chunks of a few rows: many chunks, some clean, some with an awkward row.
ROWS_A_CHUNK = 3
CLEAN_ROWS_BETWEEN = 12
CLEAN_ROWS_AT_END = 300


def awkward_csv() -> str:
    """Clean numbered rows, and between them one row per awkward cell; every other
    awkward row has every cell quoted, as some exports write them."""
    cells: list[tuple[str, str]] = [
        (field.name, text)
        for field in MODULE.fields.all
        if not field.key
        for text in AWKWARD[field.type] + REFUSED[field.type] + ([""] if field.optional else [])
    ]
    # A key's text must be 1 to 200 characters.
    cells += [(name, text) for name in KEY_TEXT for text in ("", "k" * 201, "k" * 200)]
    out = io.StringIO()
    out.write(",".join(MODULE.fields.names) + "\n")
    number = 0
    for place, (name, text) in enumerate(cells):
        for _ in range(CLEAN_ROWS_BETWEEN):
            number += 1
            out.write(_line(number, {}, quote_all=False))
        number += 1
        out.write(_line(number, {name: text}, quote_all=place % 2 == 1))
    # Quotes that RFC 4180 does not write, left as they are: inside an unquoted cell
    # (Python keeps them, COPY would start a quoted part), and after a closing one.
    for name in TEXT_FIELDS[:1]:
        for text in ('say "hi" {}', '"quoted"{}'):
            number += 1
            line = _line(number, {name: "@"}, quote_all=False)
            out.write(line.replace("@", text.format(number)))
    # And clean chunks to end with, whatever the size of a row.
    for clean in range(number + 1, number + CLEAN_ROWS_AT_END + 1):
        out.write(_line(clean, {}, quote_all=False))
    return out.getvalue()


def _line(number: int, cells: dict[str, str], *, quote_all: bool) -> str:
    record: dict[str, Any] = dict(Record.numbered(number).to_dict())
    row = [cells.get(name, csv_cell(record[name])) for name in MODULE.fields.names]
    out = io.StringIO()
    csv.writer(
        out, lineterminator="\n", quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL
    ).writerow(row)
    return out.getvalue()


async def load_and_read(
    client: Client, database_url: str, task_queue: str, url: str
) -> tuple[list[dict[str, Any]], list[tuple[Any, ...]]]:
    """Load ``url`` into an empty table; the table's rows (by key) and the load's rejects."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("TRUNCATE {}").format(sql.Identifier(MODULE.table)))
    job: Job = {"source": {"url": url}}
    handle = await client.start_workflow(
        Workflow.run, job, id=f"load-{uuid.uuid4()}", task_queue=task_queue
    )
    result = await result_within(handle)
    with psycopg.connect(database_url) as conn:
        rejects = conn.execute(
            "SELECT line, field, error, excerpt FROM staged_load_rejects WHERE load_id = %s "
            "ORDER BY line",
            [result["load"]["load"]],
        ).fetchall()
    # By key: ids follow the order in which the ranges merged, which runs vary.
    return without_ids(stored(database_url)), rejects


async def test_postgresql_and_python_read_every_awkward_cell_alike(
    client: Client,
    database_url: str,
    task_queue: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = write(tmp_path / "awkward.csv", awkward_csv())
    row_bytes = len(_line(10**6, {}, quote_all=False))
    monkeypatch.setattr(stage, "CHUNK_BYTES", ROWS_A_CHUNK * row_bytes)
    taken: list[bool] = []  # per chunk offered to PostgreSQL: whether it took it
    commit_text = Staging.commit_text

    async def counted(self: Staging, *args: Any) -> Any:
        moved = await commit_text(self, *args)
        taken.append(moved is not None)
        return moved

    monkeypatch.setattr(Staging, "commit_text", counted)
    async with serving(client, database_url, task_queue):
        both_ways = await load_and_read(client, database_url, task_queue, path.as_uri())
        assert True in taken and False in taken, "some chunks each way"
        offered = len(taken)
        monkeypatch.setattr(text_copy, "copyable", lambda text: False)
        python_only = await load_and_read(client, database_url, task_queue, path.as_uri())
        assert len(taken) == offered, "the second load is Python's alone"
    rows, rejects = both_ways
    assert rows == python_only[0]
    assert rejects == python_only[1]
    refused = sum(len(REFUSED[f.type]) for f in MODULE.fields.all if not f.key)
    assert len(rejects) >= refused + 2 * len(KEY_TEXT)
