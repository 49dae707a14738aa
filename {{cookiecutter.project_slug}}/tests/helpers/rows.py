"""The module's table as the tests read, count and hold it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from {{ cookiecutter.package_name }} import db

from ..module_under_test import FIELDS, MODULE, Record
from .jobs import FIELD_NAMES


def stored(database_url: str) -> list[dict[str, Any]]:
    """Every row of the module's table in payload form (its id under "id"), in id order.

    Read back through the record, so a value compares as it travels: a decimal with
    its digits, a datetime as its instant in UTC.
    """
    columns = sql.SQL(", ").join(sql.Identifier(name) for name in ["id", *FIELD_NAMES])
    query = sql.SQL("SELECT {} FROM {} ORDER BY id").format(columns, sql.Identifier(MODULE.table))
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(query).fetchall()
    return [
        {"id": id_, **Record(**dict(zip(FIELD_NAMES, values, strict=True))).to_dict()}
        for id_, *values in rows
    ]


def row_count(database_url: str, table: str = MODULE.table) -> int:
    """Rows in the module's table, or -1 while the database cannot be reached."""
    try:
        return db.count_rows(database_url, table)
    except psycopg.OperationalError:
        return -1


def expect_every_row_once(database_url: str, total: int) -> None:
    """The table holds ``total`` rows, none of them twice (counted in PostgreSQL, so a
    million rows cost no more than a few)."""
    row = sql.SQL("({})").format(sql.SQL(", ").join(map(sql.Identifier, FIELD_NAMES)))
    query = sql.SQL("SELECT count(*), count(DISTINCT {}) FROM {}").format(
        row, sql.Identifier(MODULE.table)
    )
    with psycopg.connect(database_url) as conn:
        counted = conn.execute(query).fetchone()
    assert counted == (total, total), f"(rows, distinct rows) = {counted}, expected {total}"


@contextmanager
def row_held(database_url: str, number: int) -> Iterator[None]:
    """Record ``number`` inserted by a transaction left open for the block.

    The batch that upserts the same record waits for that transaction, whatever its
    ON CONFLICT clause, so a job that holds the record cannot finish while the block
    runs, however fast the machine. The transaction then rolls back and the batch
    writes the row; a database stopped meanwhile ends the wait sooner.
    """
    insert = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
        sql.Identifier(MODULE.table),
        sql.SQL(", ").join(map(sql.Identifier, FIELD_NAMES)),
        sql.SQL(", ").join(map(sql.Placeholder, FIELD_NAMES)),
    )
    conn = psycopg.connect(database_url)
    try:
        conn.execute(insert, FIELDS.row(Record.numbered(number), Jsonb))
        yield
    finally:
        with suppress(psycopg.OperationalError):  # the server went away, and the lock with it
            conn.close()  # without a commit: the insert is rolled back


@contextmanager
def table_locked(database_url: str) -> Iterator[None]:
    """The module's table locked against writes for the block: every upsert waits."""
    lock = sql.SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(sql.Identifier(MODULE.table))
    with psycopg.connect(database_url) as conn:
        conn.execute(lock)
        yield
        conn.rollback()
