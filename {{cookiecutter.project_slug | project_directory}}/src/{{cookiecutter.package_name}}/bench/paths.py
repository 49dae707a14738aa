"""PostgreSQL's idempotent bulk paths for a module's records, without Temporal: the limits.

Each path writes the same numbered stand-in records in batches of BATCH_SIZE, one
transaction a batch, on one connection or on several at once:

* ``executemany``: ``INSERT ... ON CONFLICT``, one statement a row, pipelined by psycopg
  (what the upsert activity does);
* ``unnest``: one ``INSERT ... SELECT FROM unnest(one array a column) ON CONFLICT`` a
  batch (not for a record with list fields: unnest would flatten their arrays);
* ``copy``: ``COPY`` into a temporary table, then one ``INSERT ... SELECT ... ON
  CONFLICT`` a batch. COPY has no ON CONFLICT of its own; the merge makes it idempotent.

Every statement is built with psycopg's ``sql`` module from the table's own column
types, read from the catalog: no value or name is formatted into SQL text.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from {{ cookiecutter.package_name }}.fields import Fields

PATHS = ("executemany", "unnest", "copy")
STAGING = "bench_staging"


class PathNotApplicable(Exception):
    """The path cannot write this record's fields (unnest and list fields)."""


@dataclass(frozen=True)
class Table:
    """A module's table as the paths need it: its record's columns, their types, its key."""

    name: str
    columns: list[str]
    types: list[str]
    key: list[str]

    @property
    def others(self) -> list[str]:
        return [column for column in self.columns if column not in self.key]


async def table_of(conn: psycopg.AsyncConnection[Any], name: str, fields: Fields) -> Table:
    """The columns of ``fields`` in ``name``, with the types PostgreSQL gave them."""
    cursor = await conn.execute(
        "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
        "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
        [name],
    )
    types = {column: type_ for column, type_ in await cursor.fetchall()}
    return Table(name, fields.names, [types[column] for column in fields.names], fields.key)


def on_conflict(table: Table) -> sql.Composed:
    """The upsert's tail: update the other columns, or nothing when every one is the key."""
    key = sql.SQL(", ").join(map(sql.Identifier, table.key))
    if not table.others:
        return sql.SQL("ON CONFLICT ({}) DO NOTHING").format(key)
    updates = sql.SQL(", ").join(
        sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(column)) for column in table.others
    )
    return sql.SQL("ON CONFLICT ({}) DO UPDATE SET {}").format(key, updates)


def columns(table: Table) -> sql.Composed:
    return sql.SQL(", ").join(map(sql.Identifier, table.columns))


def insert_values(table: Table) -> sql.Composed:
    # Each type is PostgreSQL's own name for the column's, read from the catalog.
    casts = sql.SQL(", ").join(sql.SQL("%s::{}").format(sql.SQL(type_)) for type_ in table.types)
    return sql.SQL("INSERT INTO {} ({}) VALUES ({}) {}").format(
        sql.Identifier(table.name), columns(table), casts, on_conflict(table)
    )


def insert_unnest(table: Table) -> sql.Composed:
    if any(type_.endswith("[]") for type_ in table.types):
        raise PathNotApplicable("unnest flattens the arrays of list fields")
    arrays = sql.SQL(", ").join(sql.SQL("%s::{}[]").format(sql.SQL(type_)) for type_ in table.types)
    return sql.SQL("INSERT INTO {} ({}) SELECT * FROM unnest({}) {}").format(
        sql.Identifier(table.name), columns(table), arrays, on_conflict(table)
    )


def merge_staged(table: Table) -> sql.Composed:
    return sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} {}").format(
        sql.Identifier(table.name), columns(table), columns(table), sql.Identifier(STAGING),
        on_conflict(table),
    )  # fmt: skip


def rows(fields: Fields, first: int, count: int) -> list[list[Any]]:
    """Numbered stand-in records ``first`` to ``first + count - 1``, as column values."""
    wrapped = set(fields.of_type("json"))
    made = []
    for number in range(first, first + count):
        values = fields.numbered(number)
        for name in wrapped:
            if values[name] is not None:
                values[name] = Jsonb(values[name])
        made.append([values[name] for name in fields.names])
    return made


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
    # The table and the statements once, for every connection and batch.
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        table = await table_of(conn, table_name, fields)
    statement = writer(path, table)
    staged = sql.SQL("COPY {} ({}) FROM STDIN").format(sql.Identifier(STAGING), columns(table))
    pending = batches(items, batch_size)

    async def one_connection() -> None:
        async with await psycopg.AsyncConnection.connect(database_url) as conn:
            if path == "copy":
                await conn.execute(
                    sql.SQL(
                        "CREATE TEMPORARY TABLE {} ON COMMIT DELETE ROWS AS "
                        "SELECT {} FROM {} WITH NO DATA"
                    ).format(sql.Identifier(STAGING), columns(table), sql.Identifier(table.name))
                )
                await conn.commit()
            for first, count in pending:
                batch = rows(fields, first, count)
                async with conn.transaction(), conn.cursor() as cursor:
                    await write_batch(cursor, path, statement, staged, batch)

    await asyncio.gather(*(one_connection() for _ in range(connections)))


def writer(path: str, table: Table) -> sql.Composed:
    if path == "executemany":
        return insert_values(table)
    if path == "unnest":
        return insert_unnest(table)
    return merge_staged(table)


async def write_batch(
    cursor: psycopg.AsyncCursor[Any],
    path: str,
    statement: sql.Composed,
    staged: sql.Composed,
    batch: Sequence[list[Any]],
) -> None:
    """One batch along ``path``: ``statement`` is writer()'s; ``staged`` the COPY into
    the staging table, which copy merges from."""
    if path == "executemany":
        await cursor.executemany(statement, batch)
    elif path == "unnest":
        await cursor.execute(statement, [list(column) for column in zip(*batch, strict=True)])
    else:
        async with cursor.copy(staged) as copy:
            for row in batch:
                await copy.write_row(row)
        await cursor.execute(statement)
