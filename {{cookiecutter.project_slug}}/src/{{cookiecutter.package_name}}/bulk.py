"""The idempotent bulk write behind every module's upsert activity: COPY, then one merge.

``make bench`` measures PostgreSQL's idempotent bulk paths side by side
(bench/paths.py), and this is the fastest of them on every record it was run with:

1. ``COPY`` the batch into a temporary staging table, one per connection and table.
   COPY is PostgreSQL's fastest way in, but it has no ``ON CONFLICT``;
2. one ``INSERT ... SELECT ... ON CONFLICT (key) DO UPDATE`` merges it into the
   table, in the same transaction. Run twice, it leaves the same rows (rule 2).

Two things the per-row ``INSERT`` never needed:

* one statement cannot update a row twice, so a batch that names a key twice is
  reduced to the last record with that key first, as a row per record would leave it;
* rows that would be rewritten with the values they hold are skipped
  (``IS DISTINCT FROM``): a job run again writes nothing. Measured on a record of 12
  fields, 100,000 items written again, 3 rounds: COPY on 8 connections went from 14,600
  to 16,400 rows/s, the service from 13,500 to 14,900 items/s, and PostgreSQL wrote 5.8
  MiB of WAL instead of 51.3, leaving no dead row for vacuum. (A record whose fields are
  all its key does nothing on conflict anyway.)

A row the table refuses (a CHECK, a NOT NULL, a key too long for its index) raises
:class:`RowRefusedError`, which names the record's place in the batch and the field,
never a value: the message travels to the workflow's history in plain text.
"""

from __future__ import annotations

import hashlib
import operator
import re
from collections.abc import Iterable, Sequence
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from .fields import Fields

# Errors that say a row does not fit the table: the same batch fails the same way on
# every attempt. Connection errors are not among them: those are retried.
REFUSALS = (psycopg.DataError, psycopg.IntegrityError, psycopg.errors.ProgramLimitExceeded)
# Compared by their text, so that 12.50 replaces 12.5 and -0.0 replaces 0.0: they are
# equal as numbers, but not what the record says.
COMPARED_AS_TEXT = ("decimal", "float")
ORDINAL = "upsert_ordinal"


class RowRefusedError(ValueError):
    """The table refused a record of the batch: no retry can help."""


def staging_name(table: str) -> str:
    """The staging table of ``table``: a fixed length, since ``table`` may already use
    all 63 characters of a PostgreSQL name."""
    return f"upsert_staging_{hashlib.blake2s(table.encode(), digest_size=6).hexdigest()}"


class BulkUpsert:
    """The write of one module's records into its ``table``: build once, use per batch."""

    def __init__(self, table: str, fields: Fields, *, skip_unchanged: bool = True) -> None:
        self.table = table
        self.fields = fields
        # What rows() runs for every record: C, not a Python loop a field.
        self._values = operator.attrgetter(*fields.names)
        self._key = operator.itemgetter(*[fields.names.index(name) for name in fields.key])
        self._json = [fields.names.index(name) for name in fields.of_type("json")]
        staging, target = sql.Identifier(staging_name(table)), sql.Identifier(table)
        columns = sql.SQL(", ").join(map(sql.Identifier, fields.names))
        # Once per connection: a temporary table dies with its connection, and
        # ON COMMIT DELETE ROWS empties it after every batch. It takes its column types
        # from the table (no constraints: the merge checks those), so no type is written
        # here; IF NOT EXISTS makes every batch after the first a catalog lookup.
        self.create_staging = sql.SQL(
            "CREATE TEMPORARY TABLE IF NOT EXISTS {} ON COMMIT DELETE ROWS AS "
            "SELECT 0 AS {}, {} FROM {} WITH NO DATA"
        ).format(staging, sql.Identifier(ORDINAL), columns, target)
        self.copy = sql.SQL("COPY {} ({}, {}) FROM STDIN").format(
            staging, sql.Identifier(ORDINAL), columns
        )
        # The staged records with ordinals from %s up to but not including %s: all of
        # them, or a part while looking for the one the table refuses.
        self.merge = sql.SQL(
            "INSERT INTO {} AS target ({}) SELECT {} FROM {} WHERE {} >= %s AND {} < %s {}"
        ).format(
            target, columns, columns, staging, sql.Identifier(ORDINAL), sql.Identifier(ORDINAL),
            on_conflict(fields, skip_unchanged=skip_unchanged),
        )  # fmt: skip

    def rows(self, records: Iterable[object]) -> list[tuple[int, list[Any]]]:
        """Each record's place in the batch and its column values, one per key: the last
        record with a key wins, in the place of the first."""
        by_key: dict[Any, tuple[int, list[Any]]] = {}
        for place, record in enumerate(records):
            values = list(self._values(record))
            for column in self._json:
                if values[column] is not None:
                    values[column] = Jsonb(values[column])
            key = self._key(values)
            first = by_key.get(key, (place, values))[0]
            by_key[key] = (first, values)
        return list(by_key.values())

    async def write(self, conn: psycopg.AsyncConnection[Any], records: Sequence[object]) -> int:
        """Upsert ``records`` in ``conn``'s transaction; RowRefusedError for a refused row.

        Returns how many records the batch held, repeated keys included.
        """
        rows = self.rows(records)
        async with conn.cursor() as cursor:
            try:
                # The COPY refuses a value the table's type cannot hold (a column the team
                # narrowed, say); the merge refuses what breaks a constraint.
                await self.stage(cursor, rows)
                await cursor.execute(self.merge, [0, len(rows)])
            except REFUSALS as error:
                refusal = error
            else:
                return len(records)
        # Outside the except block, so psycopg's error (whose detail holds the values)
        # is not chained to the one that travels.
        await conn.rollback()
        raise await self.refused(conn, rows, refusal)

    async def stage(
        self, cursor: psycopg.AsyncCursor[Any], rows: Sequence[tuple[int, list[Any]]]
    ) -> None:
        await cursor.execute(self.create_staging)
        async with cursor.copy(self.copy) as copy:
            for ordinal, (_, values) in enumerate(rows):
                await copy.write_row([ordinal, *values])

    async def refused(
        self,
        conn: psycopg.AsyncConnection[Any],
        rows: Sequence[tuple[int, list[Any]]],
        error: psycopg.Error,
    ) -> RowRefusedError:
        """The error for a batch the table refused, naming the first record it refuses.

        Found by halving: stage and merge the first half of what is left, undo it, and
        go on in the half that fails, about log2(batch) rounds, all rolled back.
        """
        low, high = 0, len(rows)
        async with conn.transaction(force_rollback=True), conn.cursor() as cursor:
            while high - low > 1:
                middle = (low + high) // 2
                failure = await self.write_fails(conn, cursor, rows[low:middle])
                if failure:
                    high, error = middle, failure
                else:
                    low = middle
            alone = await self.write_fails(conn, cursor, rows[low:high])
            fields = await columns_named(cursor, self.table, alone or error)
        # A record refused only beside another (two records sharing another unique
        # value) is no record's own fault: the batch is named instead.
        place = f"record {rows[low][0] + 1:,} of {len(rows):,} in the batch" if alone else (
            f"the batch of {len(rows):,} records"
        )  # fmt: skip
        where = f" (field {', '.join(fields)})" if fields else ""
        return RowRefusedError(
            f"{place} is refused by table {self.table}{where}: "
            f"{(alone or error).diag.message_primary}"
        )

    async def write_fails(
        self,
        conn: psycopg.AsyncConnection[Any],
        cursor: psycopg.AsyncCursor[Any],
        rows: Sequence[tuple[int, list[Any]]],
    ) -> psycopg.Error | None:
        """The error of staging and merging ``rows`` alone, undone either way."""
        try:
            async with conn.transaction(force_rollback=True):  # a savepoint
                await self.stage(cursor, rows)
                await cursor.execute(self.merge, [0, len(rows)])
        except REFUSALS as error:
            return error
        return None


def on_conflict(fields: Fields, *, skip_unchanged: bool = True) -> sql.Composed:
    """The upsert's tail: update the other fields, or nothing when every one is the key;
    with ``skip_unchanged``, not the rows that already hold the same values."""
    key = sql.SQL(", ").join(map(sql.Identifier, fields.key))
    others = [field for field in fields.all if not field.key]
    if not others:
        return sql.SQL("ON CONFLICT ({}) DO NOTHING").format(key)
    updates = sql.SQL(", ").join(
        sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(field.name)) for field in others
    )
    tail = sql.SQL("ON CONFLICT ({}) DO UPDATE SET {}").format(key, updates)
    if not skip_unchanged:
        return tail

    # ROW(...) so that a single field compares as a row too.
    return sql.SQL("{} WHERE ROW({}) IS DISTINCT FROM ROW({})").format(
        tail, *_compared(fields, "target", "excluded")
    )


def same_key(fields: Fields, left: str, right: str) -> sql.Composable:
    """SQL that is true when rows ``left`` and ``right`` hold the same key."""
    return sql.SQL(" AND ").join(
        sql.SQL("{}.{} = {}.{}").format(
            sql.Identifier(left), sql.Identifier(name), sql.Identifier(right), sql.Identifier(name)
        )
        for name in fields.key
    )


def same_values(fields: Fields, left: str, right: str) -> sql.Composable:
    """SQL that is true when rows ``left`` and ``right`` hold the same values in every
    field outside the key, compared as the upsert compares them to skip a row."""
    if all(field.key for field in fields.all):
        return sql.SQL("true")
    return sql.SQL("ROW({}) IS NOT DISTINCT FROM ROW({})").format(*_compared(fields, left, right))


def _compared(fields: Fields, *sides: str) -> list[sql.Composed]:
    """Each side's fields outside the key, as compared: decimal and float as text."""
    others = [field for field in fields.all if not field.key]
    return [
        sql.SQL(", ").join(
            sql.SQL("{}::text" if field.type in COMPARED_AS_TEXT else "{}").format(
                sql.Identifier(side, field.name)
            )
            for field in others
        )
        for side in sides
    ]


async def columns_named(
    cursor: psycopg.AsyncCursor[Any], table: str, error: psycopg.Error
) -> list[str]:
    """The fields a refusal is about: the column it names, the column a COPY was reading
    (from its context, never the value quoted there), or its constraint's columns."""
    if error.diag.column_name:
        return [error.diag.column_name]
    copying = re.search(r"^COPY .*, column (\w+)", error.diag.context or "")
    if copying:
        return [copying[1]]
    if not error.diag.constraint_name:
        return []
    await cursor.execute(
        "SELECT attname FROM pg_constraint JOIN pg_attribute "
        "ON attrelid = conrelid AND attnum = ANY (conkey) "
        "WHERE conrelid = %s::regclass AND conname = %s ORDER BY attnum",
        [table, error.diag.constraint_name],
    )
    return [str(name) for (name,) in await cursor.fetchall()]
