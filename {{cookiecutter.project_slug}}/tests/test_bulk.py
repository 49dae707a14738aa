"""bulk.py, the write behind every upsert activity: COPY, then one merge, run twice safely.

On a table of the test's own, whose fields cover what the merge treats apart: a
composite key, numbers compared as text, a list and a json field, a CHECK.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import psycopg
import pytest
import pytest_asyncio
from psycopg import sql

from {{ cookiecutter.package_name }}.bulk import BulkUpsert, RowRefusedError, staging_name
from {{ cookiecutter.package_name }}.fields import Fields

TABLE = "bulk_lines"
FIELDS = Fields(
    sku="str key", day="date key", price="decimal", ratio="float?", tags="list[str]?", meta="json?"
)
UPSERT = BulkUpsert(TABLE, FIELDS)
SECRET_SKU = "sku-that-must-never-be-shown"


@dataclasses.dataclass(frozen=True)
class Line:
    sku: str
    day: date
    price: Decimal | None
    ratio: float | None = 0.5
    tags: list[str] | None = None
    meta: dict[str, Any] | None = None


@dataclasses.dataclass(frozen=True)
class Coded:
    sku: str
    day: date
    price: Decimal
    code: str


def lines(count: int, **changes: Any) -> list[Line]:
    made = [Line(f"sku-{n}", date(2026, 12, 1), Decimal(n)) for n in range(1, count + 1)]
    return [dataclasses.replace(line, **changes) for line in made]


def create_table(conn: psycopg.Connection[Any], name: str, extra: str = "") -> None:
    conn.execute(
        sql.SQL(
            "CREATE TABLE {} (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
            "sku TEXT NOT NULL, day DATE NOT NULL, price NUMERIC NOT NULL CHECK (price >= 0), "
            "ratio DOUBLE PRECISION, tags TEXT[], meta JSONB, {} UNIQUE (sku, day))"
        ).format(sql.Identifier(name), sql.SQL(extra))
    )


@pytest_asyncio.fixture
async def conn(database_url: str) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    """A connection to a fresh schema holding TABLE, as an activity borrows one."""
    with psycopg.connect(database_url) as setup:
        create_table(setup, TABLE)
    async with await psycopg.AsyncConnection.connect(database_url) as connection:
        yield connection


async def write(conn: psycopg.AsyncConnection[Any], batch: Sequence[object]) -> int:
    """One batch in one transaction, as the activity runs it."""
    written = await UPSERT.write(conn, batch)
    await conn.commit()
    return written


async def rows(conn: psycopg.AsyncConnection[Any]) -> list[tuple[Any, ...]]:
    """Every row by id, with its xmin: the transaction that last wrote it."""
    cursor = await conn.execute(
        "SELECT id, xmin::text, sku, price::text, ratio::text, tags, meta FROM bulk_lines "
        "ORDER BY id"
    )
    found = await cursor.fetchall()
    await conn.commit()
    return found


async def test_a_batch_written_again_leaves_every_row_as_it_was(
    conn: psycopg.AsyncConnection[Any],
) -> None:
    batch = lines(3, tags=["a", "b"], meta={"colour": "red"})
    assert await write(conn, batch) == 3
    first = await rows(conn)
    assert [row[2:] for row in first] == [
        (f"sku-{n}", str(n), "0.5", ["a", "b"], {"colour": "red"}) for n in (1, 2, 3)
    ]
    assert await write(conn, batch) == 3
    # The same ids, and the same xmin: not one row was rewritten.
    assert await rows(conn) == first


async def test_only_the_rows_that_changed_are_rewritten(
    conn: psycopg.AsyncConnection[Any],
) -> None:
    batch = lines(3)
    await write(conn, batch)
    before = await rows(conn)
    await write(conn, [batch[0], dataclasses.replace(batch[1], price=Decimal(20)), batch[2]])
    after = await rows(conn)
    assert [row[0] for row in after] == [row[0] for row in before]
    assert [row[3] for row in after] == ["1", "20", "3"]
    assert [a[1] == b[1] for a, b in zip(after, before, strict=True)] == [True, False, True]


async def test_numbers_equal_in_value_but_written_otherwise_are_rewritten(
    conn: psycopg.AsyncConnection[Any],
) -> None:
    # 12.50 = 12.5 and -0.0 = 0.0 as numbers, but the record says 12.50 and -0.0.
    [line] = lines(1, price=Decimal("12.5"), ratio=0.0)
    await write(conn, [line])
    await write(conn, [dataclasses.replace(line, price=Decimal("12.50"), ratio=-0.0)])
    [(_, _, _, price, ratio, _, _)] = await rows(conn)
    assert (price, ratio) == ("12.50", "-0")


async def test_a_key_named_twice_in_a_batch_keeps_its_last_record_in_its_first_place(
    conn: psycopg.AsyncConnection[Any],
) -> None:
    # One INSERT ... ON CONFLICT cannot update a row twice; a row per record would
    # leave the last one, in the place of the first.
    first, second = lines(2)
    again = dataclasses.replace(first, price=Decimal(7))
    assert await write(conn, [first, second, again]) == 3
    assert [(row[2], row[3]) for row in await rows(conn)] == [("sku-1", "7"), ("sku-2", "2")]


@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        pytest.param({"price": Decimal(-1)}, "violates check constraint", id="check"),
        pytest.param({"price": None}, 'null value in column "price"', id="not-null"),
    ],
)
async def test_a_refused_row_is_named_by_its_place_and_field_and_never_by_its_value(
    conn: psycopg.AsyncConnection[Any], change: dict[str, Any], refusal: str
) -> None:
    batch = lines(5)
    batch[3] = dataclasses.replace(batch[3], sku=SECRET_SKU, **change)
    with pytest.raises(RowRefusedError) as refused:
        await write(conn, batch)
    message = str(refused.value)
    assert message.startswith("record 4 of 5 in the batch is refused by table bulk_lines "), message
    assert "(field price): " in message and refusal in message
    # The message travels to the workflow's history in plain text.
    assert SECRET_SKU not in message and "-1" not in message
    assert refused.value.__cause__ is None and refused.value.__context__ is None
    await conn.rollback()
    assert await rows(conn) == []
    # The connection, its staging table gone with the transaction, takes the next batch.
    assert await write(conn, lines(5)) == 5
    assert len(await rows(conn)) == 5


async def test_a_value_the_columns_type_refuses_is_named_by_its_place_and_field(
    conn: psycopg.AsyncConnection[Any],
) -> None:
    # A column the team narrowed: the COPY into the staging table, which takes the
    # table's types, refuses the value, before any merge.
    await conn.execute("ALTER TABLE bulk_lines ALTER COLUMN price TYPE NUMERIC(6, 2)")
    await conn.commit()
    batch = lines(5)
    batch[3] = dataclasses.replace(batch[3], sku=SECRET_SKU, price=Decimal("31415926.5"))
    with pytest.raises(RowRefusedError) as refused:
        await write(conn, batch)
    message = str(refused.value)
    assert message.startswith("record 4 of 5 in the batch is refused by table bulk_lines "), message
    assert "(field price): numeric field overflow" in message
    assert SECRET_SKU not in message and "31415926" not in message
    assert refused.value.__cause__ is None and refused.value.__context__ is None
    await conn.rollback()
    assert await rows(conn) == []


async def test_rows_refused_only_together_name_the_batch(database_url: str) -> None:
    # Two records under different keys with the same code: each alone is fine.
    with psycopg.connect(database_url) as setup:
        create_table(setup, TABLE, "code TEXT UNIQUE,")
    coded = BulkUpsert(TABLE, Fields(sku="str key", day="date key", price="decimal", code="str"))
    both = [Coded(sku, date(2026, 12, 1), Decimal(1), "same") for sku in ("a", "b")]
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        with pytest.raises(RowRefusedError) as refused:
            await coded.write(conn, both)
    message = str(refused.value)
    assert message.startswith("the batch of 2 records is refused by table bulk_lines "), message
    assert "(field code): duplicate key value violates unique constraint" in message


async def test_tables_whose_long_names_differ_only_at_the_end_each_get_their_rows(
    database_url: str,
) -> None:
    # PostgreSQL names hold 63 characters: a staging name made by adding to the table's
    # would cut both names to the same one.
    names = ["t" * 62 + "a", "t" * 62 + "b"]
    assert len({staging_name(name) for name in names}) == 2
    with psycopg.connect(database_url) as setup:
        for name in names:
            create_table(setup, name)
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        for count, name in enumerate(names, start=1):
            await BulkUpsert(name, FIELDS).write(conn, lines(count))
        await conn.commit()
        for count, name in enumerate(names, start=1):
            query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(name))
            assert await (await conn.execute(query)).fetchone() == (count,)
