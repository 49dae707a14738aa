"""PostgreSQL's idempotent bulk paths for a module's records, without Temporal: the limits.

Each path writes the same numbered stand-in records in batches of the size asked, one
transaction a batch, on one connection or on several at once:

* ``executemany``: ``INSERT ... ON CONFLICT``, one statement a row, pipelined by psycopg
  (what the upsert activity did before bulk.py);
* ``unnest``: one ``INSERT ... SELECT FROM unnest(one array a column) ON CONFLICT`` a
  batch (not for a record with list fields: unnest would flatten their arrays);
* ``copy``: ``COPY`` into a temporary table, then one ``INSERT ... SELECT ... ON
  CONFLICT`` a batch: bulk.py's BulkUpsert, what the upsert activity does.

All three end with the same ``ON CONFLICT`` clause (bulk.on_conflict), skip unchanged
rows alike, and take the records through the same BulkUpsert.rows (one per key).
Every statement is built with psycopg's ``sql`` module from the table's own column
types, read from the catalog: no value or name is formatted into SQL text.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from types import SimpleNamespace
from typing import Any

import psycopg
from psycopg import sql

from {{ cookiecutter.package_name }}.bulk import BulkUpsert, on_conflict
from {{ cookiecutter.package_name }}.fields import Fields

PATHS = ("executemany", "unnest", "copy")


class PathNotApplicable(Exception):
    """The path cannot write this record's fields (unnest and list fields)."""


async def column_types(conn: psycopg.AsyncConnection[Any], table: str, fields: Fields) -> list[str]:
    """The types PostgreSQL gave the columns of ``fields`` in ``table``, in their order."""
    cursor = await conn.execute(
        "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
        "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
        [table],
    )
    types = {column: type_ for column, type_ in await cursor.fetchall()}
    return [types[column] for column in fields.names]


def insert_values(upsert: BulkUpsert, types: list[str]) -> sql.Composed:
    # Each type is PostgreSQL's own name for the column's, read from the catalog.
    casts = sql.SQL(", ").join(sql.SQL("%s::{}").format(sql.SQL(type_)) for type_ in types)
    return sql.SQL("INSERT INTO {} AS target ({}) VALUES ({}) {}").format(
        sql.Identifier(upsert.table), columns(upsert.fields), casts, on_conflict(upsert.fields)
    )


def insert_unnest(upsert: BulkUpsert, types: list[str]) -> sql.Composed:
    if any(type_.endswith("[]") for type_ in types):
        raise PathNotApplicable("unnest flattens the arrays of list fields")
    arrays = sql.SQL(", ").join(sql.SQL("%s::{}[]").format(sql.SQL(type_)) for type_ in types)
    return sql.SQL("INSERT INTO {} AS target ({}) SELECT * FROM unnest({}) {}").format(
        sql.Identifier(upsert.table), columns(upsert.fields), arrays, on_conflict(upsert.fields)
    )


def columns(fields: Fields) -> sql.Composed:
    return sql.SQL(", ").join(map(sql.Identifier, fields.names))


def records(fields: Fields, first: int, count: int) -> list[SimpleNamespace]:
    """Numbered stand-in records ``first`` to ``first + count - 1``, as the activity's
    record class would hold them."""
    return [SimpleNamespace(**fields.numbered(n)) for n in range(first, first + count)]


def batches(items: int, size: int) -> Iterator[tuple[int, int]]:
    for first in range(1, items + 1, size):
        yield first, min(size, items + 1 - first)


async def write(
    path: str,
    database_url: str,
    table_name: str,
    fields: Fields,
    items: int,
    *,
    batch_size: int,
    connections: int,
) -> None:
    """Write ``items`` stand-ins along ``path`` on ``connections`` connections at once,
    each taking the next batch as it is free. PathNotApplicable when it cannot."""
    upsert = BulkUpsert(table_name, fields)
    # The statement once, for every connection and batch.
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        types = await column_types(conn, table_name, fields)
    statement = insert_unnest(upsert, types) if path == "unnest" else insert_values(upsert, types)
    pending = batches(items, batch_size)

    async def one_connection() -> None:
        async with await psycopg.AsyncConnection.connect(database_url) as conn:
            for first, count in pending:
                batch = records(fields, first, count)
                async with conn.transaction():
                    await write_batch(conn, path, upsert, statement, batch)

    await asyncio.gather(*(one_connection() for _ in range(connections)))


async def write_batch(
    conn: psycopg.AsyncConnection[Any],
    path: str,
    upsert: BulkUpsert,
    statement: sql.Composed,
    batch: Sequence[object],
) -> None:
    """One batch along ``path``: ``copy`` is the activity's own write; the others run
    ``statement`` over the same rows."""
    if path == "copy":
        await upsert.write(conn, batch)
        return
    rows = [values for _, values in upsert.rows(batch)]
    async with conn.cursor() as cursor:
        if path == "executemany":
            await cursor.executemany(statement, rows)
        else:
            await cursor.execute(statement, [list(column) for column in zip(*rows, strict=True)])
