"""PostgreSQL's own path for a file of records, without Temporal: what ``psql \\copy`` and SQL do.

The file is a CSV of numbered stand-in records, the same file the service's ``staged``
design loads. ``file/1`` copies it whole into an unlogged staging table of text
columns on one connection, then merges it with one ``INSERT ... SELECT DISTINCT ON
(key) ... ON CONFLICT``, the last line of a key winning; ``file/4`` cuts the file into
four parts at line ends and does the same for each part on its own connection, at
once. COPY parses the CSV in C: no row passes through Python, which is why this path
bounds any path that checks rows in Python.
"""

from __future__ import annotations

import asyncio
import csv
import itertools
import os
from pathlib import Path
from types import SimpleNamespace

import psycopg
from psycopg import sql

from {{ cookiecutter.package_name }}.bulk import on_conflict
from {{ cookiecutter.package_name }}.fields import Fields
from {{ cookiecutter.package_name }}.loads.cells import csv_cell

from .paths import column_types

BLOCK = 1 << 20


def write_csv(path: Path, fields: Fields, items: int) -> Path:
    """Numbered stand-ins 1 to ``items`` as a CSV under a header of the field names."""
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(fields.names)
        for number in range(1, items + 1):
            record = fields.dump(SimpleNamespace(**fields.numbered(number)))
            writer.writerow([csv_cell(record[name]) for name in fields.names])
    return path


def parts(path: Path, count: int) -> list[tuple[int, int]]:
    """``count`` byte ranges of the file's rows, after its header, each ending at a line end."""
    size = path.stat().st_size
    with path.open("rb") as file:
        start = len(file.readline())
        bounds = [start]
        for number in range(1, count):
            file.seek(max(start, size * number // count))
            file.readline()
            bounds.append(max(file.tell(), bounds[-1]))
    bounds.append(size)
    return list(itertools.pairwise(bounds))


def value_of(column: sql.Identifier, type_: str) -> sql.Composable:
    """A text cell as the column's type; a list's JSON text as its array."""
    if type_.endswith("[]"):
        element = type_.removesuffix("[]")
        return sql.SQL("ARRAY(SELECT jsonb_array_elements_text({}::jsonb)::{})::{}").format(
            column, sql.SQL(element), sql.SQL(type_)
        )
    return sql.SQL("{}::{}").format(column, sql.SQL(type_))


async def load(database_url: str, table: str, fields: Fields, path: Path, connections: int) -> None:
    """The file into ``table`` along PostgreSQL's own path, on ``connections`` at once."""
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        types = await column_types(conn, table, fields)
    names = [sql.Identifier(name) for name in fields.names]
    key = sql.SQL(", ").join(map(sql.Identifier, fields.key))

    async def one_part(number: int, first: int, stop: int) -> None:
        staging = sql.Identifier(f"bench_file_part_{os.getpid()}_{number}")
        async with await psycopg.AsyncConnection.connect(database_url) as conn:
            await conn.execute(
                sql.SQL("CREATE UNLOGGED TABLE {} (line bigserial, {})").format(
                    staging, sql.SQL(", ").join(sql.SQL("{} text").format(n) for n in names)
                )
            )
            try:
                copy = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(
                    staging, sql.SQL(", ").join(names)
                )
                async with conn.cursor() as cursor, cursor.copy(copy) as writer:
                    with path.open("rb") as file:
                        file.seek(first)
                        left = stop - first
                        while left > 0:
                            block = file.read(min(BLOCK, left))
                            left -= len(block)
                            await writer.write(block)
                values = sql.SQL(", ").join(
                    value_of(n, type_) for n, type_ in zip(names, types, strict=True)
                )
                merge = sql.SQL(
                    "INSERT INTO {} AS target ({}) SELECT DISTINCT ON ({}) {} FROM {} "
                    "ORDER BY {}, line DESC {}"
                )
                target = sql.Identifier(table)
                columns = sql.SQL(", ").join(names)
                tail = on_conflict(fields)
                await conn.execute(merge.format(target, columns, key, values, staging, key, tail))
            finally:
                await conn.execute(sql.SQL("DROP TABLE {}").format(staging))
            await conn.commit()

    await asyncio.gather(
        *(one_part(n, first, stop) for n, (first, stop) in enumerate(parts(path, connections)))
    )
