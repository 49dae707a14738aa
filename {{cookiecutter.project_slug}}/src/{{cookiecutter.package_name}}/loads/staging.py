"""A module's staged loads in PostgreSQL: the tables, and each step's statements.

Beside the record's table, three tables every module shares (``staged_loads``,
``staged_load_rejects``, ``staged_load_merges``) and one of the module's own, its
staged rows (``staged_rows_<hash>``: the load, the row's sequence number and its line
in the file, as ``_load``, ``_seq`` and ``_line``, which no field's name can be; then
the record's columns with the table's types). The hash names the
table and its fields, so a record given a new field stages into a new table.

* :meth:`Staging.commit` writes a chunk's rows and rejects and the load's new position
  in one transaction, and only if the position is still the one the chunk was read
  from: the position in the database is the truth, and two attempts of one stage
  (one the server already gave up on) can never both commit the same rows. A row's
  sequence number is its line, so a chunk's rows are written without waiting for the
  chunks before it: only the position moves in order (its ``turn``).
* :meth:`Staging.seal` removes, set-based, every row whose key a later line gives
  again, so the merge ranges hold disjoint keys and the last line wins in any order.
* :meth:`Staging.merge` runs one ``INSERT ... SELECT ... ON CONFLICT`` over a range
  of sequence numbers, and records the rows it wrote once, whatever the retries.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from ..bulk import REFUSALS, columns_named, on_conflict, same_key, same_values
from ..fields import Fields
from ..temporal.loading import REJECTS_SHOWN, LoadSummary, StagedLoad, StageRequest, shown
from ..temporal.retry import PermanentError
from .formats import EXCERPT, Chunk, Position, Reject
from .text_copy import TextCopy, line_count

# A merge looks at this many of its range's rows first: when at least MOSTLY_HELD of
# them are in the table already as they are, it leaves out every such row by a lookup
# (Staging.merge_changed). About 0.3 ms; by the figures beside merge_changed, the
# lookup pays once more than about three fifths of the rows are held.
SAMPLE_ROWS = 200
MOSTLY_HELD = 0.6
# A failed or abandoned load's staged rows are kept this long for a look, then swept.
RETENTION = timedelta(days=7)
# The seal groups a load's key hashes in parallel, sorted, whatever the table's
# statistics say (they are stale right after staging): a million rows' keys on 2 cores
# took 0.41 s so, where the plan the planner picked from fresh statistics, a hash table
# on one core, took 0.72 s. Settings of the seal's transaction alone.
SEAL_SETTINGS = (
    "SET LOCAL work_mem = '64MB'",
    "SET LOCAL parallel_setup_cost = 0",
    "SET LOCAL parallel_tuple_cost = 0",
    "SET LOCAL enable_hashagg = off",
)

# The tables SHARED_TABLES creates, which every staged load of every module uses.
SHARED_TABLE_NAMES = ("staged_loads", "staged_load_rejects", "staged_load_merges")
SHARED_TABLES = """
-- Staged loads (loads/): a job that names a source is staged here, then merged.
CREATE TABLE IF NOT EXISTS staged_loads (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workflow_id TEXT NOT NULL,
    run_id TEXT NOT NULL,
    target TEXT NOT NULL,
    source TEXT NOT NULL,  -- without user, password or query
    format TEXT NOT NULL,
    version TEXT,          -- ETag, Last-Modified, or a file's size and time
    header TEXT[],         -- a CSV's columns
    state TEXT NOT NULL DEFAULT 'staging'
        CHECK (state IN ('staging', 'merging', 'done', 'failed', 'expired')),
    bytes BIGINT NOT NULL DEFAULT 0,
    lines BIGINT NOT NULL DEFAULT 0,
    seq BIGINT NOT NULL DEFAULT 0,  -- the staged rows' numbers so far: a row's is its line
    rows_staged BIGINT NOT NULL DEFAULT 0,
    rejects BIGINT NOT NULL DEFAULT 0,
    duplicates BIGINT NOT NULL DEFAULT 0,
    rows_merged BIGINT NOT NULL DEFAULT 0,
    error TEXT,
    started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (workflow_id, run_id)
);
CREATE INDEX IF NOT EXISTS staged_loads_by_workflow ON staged_loads (workflow_id, id);
CREATE TABLE IF NOT EXISTS staged_load_rejects (
    load_id BIGINT NOT NULL REFERENCES staged_loads ON DELETE CASCADE,
    line BIGINT NOT NULL,
    field TEXT,
    error TEXT NOT NULL,
    excerpt TEXT NOT NULL,
    PRIMARY KEY (load_id, line)
);
CREATE TABLE IF NOT EXISTS staged_load_merges (
    load_id BIGINT NOT NULL REFERENCES staged_loads ON DELETE CASCADE,
    first_seq BIGINT NOT NULL,
    merged BIGINT NOT NULL,
    PRIMARY KEY (load_id, first_seq)
);
"""


class StageConflictError(Exception):
    """Another attempt moved the load on first: this one's chunk is not committed. Retried."""


@dataclass(frozen=True)
class Committed:
    """What a committed chunk added to its load: rows staged, and rejects."""

    rows: int
    rejects: int


def staged_rows_name(table: str, fields: Fields) -> str:
    spec = table + "".join(f"|{f.name}:{f.type}" for f in fields.all)
    return f"staged_rows_{hashlib.blake2s(spec.encode(), digest_size=6).hexdigest()}"


@dataclass
class LoadRow:
    """A load as ``staged_loads`` holds it."""

    id: int
    state: str
    position: Position
    seq: int
    rows_staged: int
    rejects: int
    header: list[str] | None
    version: str | None
    format: str


class Staging:
    """The staged-load statements of one module's table and fields: build once."""

    def __init__(self, table: str, fields: Fields) -> None:
        self.table, self.fields = table, fields
        self.rows_table = staged_rows_name(table, fields)
        self.ranges_index = self.rows_table + "_ranges"
        rows, target = sql.Identifier(self.rows_table), sql.Identifier(table)
        self._rows = rows
        columns = sql.SQL(", ").join(map(sql.Identifier, fields.names))
        self._json = [fields.names.index(name) for name in fields.of_type("json")]
        self.copy_rows = sql.SQL("COPY {} (_load, _seq, _line, {}) FROM STDIN").format(
            rows, columns
        )
        key = sql.SQL(", ").join(map(sql.Identifier, fields.key))
        # The keys given twice: first the 64-bit hashes of keys that come more than once,
        # grouped in parallel (a query of its own: a DELETE never runs in parallel), then,
        # among the rows with such a hash only, the keys that truly repeat, whose earlier
        # rows go. Most loads give no key twice and stop after the first. A million rows
        # on 2 cores: 0.43 s to group the hashes, against 0.63 to 0.70 s to group the key
        # columns themselves and 0.94 s inside the DELETE. (Equal keys hash alike under
        # the database's collations; a key column given a nondeterministic collation of
        # its own would need the columns grouped instead.)
        key_hash = sql.SQL("hash_record_extended(ROW({}), 0)").format(key)
        self.repeated = sql.SQL(
            "CREATE TEMP TABLE staged_repeats ON COMMIT DROP AS SELECT {hash} AS _hash "
            "FROM {rows} WHERE _load = %(load)s GROUP BY 1 HAVING count(*) > 1"
        ).format(rows=rows, hash=key_hash)
        self.dedupe = sql.SQL(
            "DELETE FROM {rows} AS older USING (SELECT {key}, max(_seq) AS _last FROM {rows} "
            "WHERE _load = %(load)s AND {hash} IN (SELECT _hash FROM staged_repeats) "
            "GROUP BY {key} HAVING count(*) > 1) AS newer "
            "WHERE older._load = %(load)s AND {same_key} AND older._seq < newer._last"
        ).format(rows=rows, key=key, hash=key_hash, same_key=same_key(fields, "newer", "older"))
        self.merge_range = sql.SQL(
            "INSERT INTO {} AS target ({}) SELECT {} FROM {} "
            "WHERE _load = %s AND _seq >= %s AND _seq < %s {}"
        ).format(target, columns, columns, rows, on_conflict(fields))
        # A row the table already holds as it is: found by its key, with the same values.
        held = sql.SQL("EXISTS (SELECT 1 FROM {} AS held WHERE {} AND {})").format(
            target, same_key(fields, "held", "staged"), same_values(fields, "held", "staged")
        )
        # The same merge without the rows the table already holds as they are: looked up
        # by key, not put through ON CONFLICT, which takes a speculative insert and, for
        # DO UPDATE, a row lock (a write) for each. A million unchanged rows merged one
        # range after another: 2.02 s, against 2.87 s through ON CONFLICT; but a million
        # new ones took 7.72 s, against 6.12 s. So a range goes this way when most of a
        # sample of its rows are held already (MOSTLY_HELD).
        self.merge_changed = sql.SQL(
            "INSERT INTO {} AS target ({}) SELECT {} FROM {} AS staged "
            "WHERE _load = %s AND _seq >= %s AND _seq < %s AND NOT {} {}"
        ).format(target, columns, columns, rows, held, on_conflict(fields))
        self.held_in_sample = sql.SQL(
            "SELECT count(*) FILTER (WHERE {}), count(*) FROM (SELECT {} FROM {} "
            "WHERE _load = %s AND _seq >= %s AND _seq < %s LIMIT {}) AS staged"
        ).format(held, columns, rows, sql.Literal(SAMPLE_ROWS))
        self.drop_rows = sql.SQL("DELETE FROM {} WHERE _load = %s").format(rows)
        self._text_copies: dict[tuple[str, ...], TextCopy] = {}  # by a CSV's header

    def schema(self) -> str:
        """The DDL of this module's staged rows, after SHARED_TABLES; safe to repeat."""
        # A BRIN index finds a merge's range: rows are appended in the order of their
        # lines, and keeping it costs next to nothing. A B-tree on (_load, _seq) took
        # staging a million rows from 1.09 s to 1.94 s. Uniqueness needs no index: a
        # chunk commits only at the position it was read from (_advance).
        staged_rows = sql.SQL(
            "CREATE TABLE IF NOT EXISTS {rows} AS SELECT 0::bigint AS _load, 0::bigint AS _seq, "
            "0::bigint AS _line, {columns} FROM {table} WITH NO DATA;\n"
            "DROP INDEX IF EXISTS {btree};\n"
            "CREATE INDEX IF NOT EXISTS {brin} ON {rows} USING brin (_load, _seq);"
        ).format(
            rows=sql.Identifier(self.rows_table),
            columns=sql.SQL(", ").join(map(sql.Identifier, self.fields.names)),
            table=sql.Identifier(self.table),
            btree=sql.Identifier(self.rows_table + "_seq"),
            brin=sql.Identifier(self.ranges_index),
        )
        return staged_rows.as_string()

    async def ensure(self, conn: psycopg.AsyncConnection[Any]) -> None:
        """Create the tables if init-db has not (a field added since, say)."""
        async with conn.transaction():
            for statement in (SHARED_TABLES, self.schema()):
                await conn.execute(statement)

    async def begin(
        self, conn: psycopg.AsyncConnection[Any], request: StageRequest, fmt: str
    ) -> LoadRow:
        """The request's load: made on the first attempt, found again on later ones."""
        async with conn.transaction(), conn.cursor(row_factory=dict_row) as cursor:
            await cursor.execute(
                "INSERT INTO staged_loads (workflow_id, run_id, target, source, format) "
                "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (workflow_id, run_id) "
                "DO UPDATE SET updated_at = now() RETURNING *",
                [
                    request["workflow_id"],
                    request["run_id"],
                    self.table,
                    shown(request["source"]["url"]),
                    fmt,
                ],
            )
            found = await cursor.fetchone()
        assert found is not None
        return _load_row(found)

    async def commit(
        self,
        conn: psycopg.AsyncConnection[Any],
        load: LoadRow,
        chunk: Chunk,
        turn: Awaitable[None],
        version: Callable[[], str | None],
    ) -> Committed:
        """The chunk's rows and rejects, then, once ``turn`` comes (the chunk before it has
        committed), the position after it, in one transaction, if the load is still at
        the position the chunk was read from."""
        async with conn.transaction(), conn.cursor() as cursor:
            rows = [(line, line, self._wrapped(values)) for line, values in chunk.rows]
            refused = await self._copy(conn, cursor, load.id, rows) if rows else []
            rejects = [*chunk.rejects, *refused]
            if rejects:
                async with cursor.copy(
                    "COPY staged_load_rejects (load_id, line, field, error, excerpt) FROM STDIN"
                ) as copy:
                    for reject in rejects:
                        await copy.write_row(
                            [load.id, reject.line, reject.field, reject.error, reject.excerpt]
                        )
            committed = Committed(len(rows) - len(refused), len(rejects))
            await turn
            await self._advance(cursor, load.id, chunk, committed, version(), chunk.header)
        return committed

    async def commit_text(
        self,
        conn: psycopg.AsyncConnection[Any],
        load: LoadRow,
        header: list[str],
        chunk: Chunk,
        turn: Awaitable[None],
    ) -> Committed | None:
        """A CSV chunk's text, parsed and checked by PostgreSQL (loads/text_copy.py), and
        the position after it, as :meth:`commit`; None, with nothing committed and
        without waiting for ``turn``, when a row needs Python's reading."""
        assert chunk.text is not None
        if tuple(header) not in self._text_copies:
            self._text_copies[tuple(header)] = TextCopy(self.rows_table, self.fields, header)
        text_copy = self._text_copies[tuple(header)]
        async with conn.transaction(), conn.cursor() as cursor:
            if not await text_copy.stage(conn, load.id, chunk.first_line, chunk.text):
                return None
            committed = Committed(line_count(chunk.text), 0)
            await turn
            await self._advance(cursor, load.id, chunk, committed, None, None)
        return committed

    async def _advance(
        self,
        cursor: psycopg.AsyncCursor[Any],
        load_id: int,
        chunk: Chunk,
        committed: Committed,
        version: str | None,
        header: Sequence[str] | None,
    ) -> None:
        """Move the load from the chunk's start to its end, adding its counts, in the
        chunk's transaction; StageConflictError if another attempt moved it first.

        The row lock is FOR NO KEY UPDATE: the next chunk's rejects, written meanwhile,
        hold a FOR KEY SHARE lock on it (their foreign key), which FOR UPDATE would wait on.
        """
        await cursor.execute(
            "SELECT 1 FROM staged_loads WHERE id = %s AND state = 'staging' "
            "AND bytes = %s AND lines = %s FOR NO KEY UPDATE",
            [load_id, chunk.start.bytes, chunk.start.lines],
        )
        if await cursor.fetchone() is None:
            raise StageConflictError(
                f"load {load_id} moved on from line {chunk.start.lines:,} in another "
                "attempt: this chunk is left to it"
            )
        await cursor.execute(
            "UPDATE staged_loads SET bytes = %s, lines = %s, seq = %s, "
            "rows_staged = rows_staged + %s, rejects = rejects + %s, "
            "version = coalesce(version, %s), header = coalesce(header, %s), "
            "updated_at = now() WHERE id = %s",
            [
                chunk.end.bytes,
                chunk.end.lines,
                chunk.end.lines,  # a row's sequence number is its line
                committed.rows,
                committed.rejects,
                version,
                list(header) if header is not None else None,
                load_id,
            ],
        )

    def _wrapped(self, values: list[Any]) -> list[Any]:
        for column in self._json:
            if values[column] is not None:
                values[column] = Jsonb(values[column])
        return values

    async def _copy(
        self,
        conn: psycopg.AsyncConnection[Any],
        cursor: psycopg.AsyncCursor[Any],
        load_id: int,
        rows: Sequence[tuple[int, int, list[Any]]],
    ) -> list[Reject]:
        """COPY the rows; those PostgreSQL refuses (a value past numeric's range, a date
        past its calendar), found by halving in savepoints, come back as rejects, naming
        the column but never the value."""
        try:
            # In a savepoint, so that a refusal undoes this COPY alone.
            async with conn.transaction(), cursor.copy(self.copy_rows) as copy:
                for seq, line, values in rows:
                    await copy.write_row([load_id, seq, line, *values])
            return []
        except REFUSALS as error:
            if len(rows) > 1:
                middle = len(rows) // 2
                left = await self._copy(conn, cursor, load_id, rows[:middle])
                return left + await self._copy(conn, cursor, load_id, rows[middle:])
            columns = await columns_named(cursor, self.rows_table, error)
            refusal = f"refused by PostgreSQL: {error.diag.message_primary}"
            excerpt = ", ".join(map(str, rows[0][2]))[:EXCERPT]
            return [Reject(rows[0][1], columns[0] if columns else None, refusal, excerpt)]

    async def seal(self, conn: psycopg.AsyncConnection[Any], load: LoadRow) -> StagedLoad:
        """Staging done: the rows a later line repeats go, and the load is ready to merge."""
        async with conn.transaction(), conn.cursor() as cursor:
            await cursor.execute(
                "SELECT state, seq FROM staged_loads WHERE id = %s FOR UPDATE", [load.id]
            )
            found = await cursor.fetchone()
            assert found is not None
            if found[0] == "staging":
                # The merges find their ranges through the BRIN index, which sees pages
                # added since the last VACUUM only once they are summarized.
                await cursor.execute("SELECT brin_summarize_new_values(%s)", [self.ranges_index])
                for setting in SEAL_SETTINGS:
                    await cursor.execute(setting)
                await cursor.execute(self.repeated, {"load": load.id})
                duplicates = 0
                if cursor.rowcount:
                    await cursor.execute(self.dedupe, {"load": load.id})
                    duplicates = cursor.rowcount
                await cursor.execute(
                    "UPDATE staged_loads SET state = 'merging', duplicates = %s, "
                    "updated_at = now() WHERE id = %s",
                    [duplicates, load.id],
                )
        return staged_lines(load, int(found[1]))

    async def fail(self, conn: psycopg.AsyncConnection[Any], load_id: int, error: str) -> None:
        """Mark the load failed, with why; its staged rows stay until the sweep."""
        async with conn.transaction():
            await conn.execute(
                "UPDATE staged_loads SET state = 'failed', error = %s, updated_at = now() "
                "WHERE id = %s AND state IN ('staging', 'merging')",
                [error, load_id],
            )

    async def merge(
        self, conn: psycopg.AsyncConnection[Any], load_id: int, first: int, count: int
    ) -> int:
        """Merge staged rows ``first`` to ``first + count - 1``; return how many were written.

        Recorded with the range in the same transaction: a retry after a commit whose
        answer was lost finds the range merged and writes nothing more.
        """
        async with conn.transaction(), conn.cursor() as cursor:
            await cursor.execute(
                "INSERT INTO staged_load_merges (load_id, first_seq, merged) VALUES (%s, %s, 0) "
                "ON CONFLICT DO NOTHING",
                [load_id, first],
            )
            if cursor.rowcount == 0:
                return 0
            # The range through the BRIN index, never a scan of every load's rows, which
            # the statistics of a table just staged into may make look cheaper.
            await cursor.execute("SET LOCAL enable_seqscan = off")
            span = [load_id, first, first + count]
            found = await (await cursor.execute(self.held_in_sample, span)).fetchone()
            held, sampled = found if found is not None else (0, 0)
            mostly_held = sampled > 0 and held >= sampled * MOSTLY_HELD
            merge = self.merge_changed if mostly_held else self.merge_range
            try:
                async with conn.transaction():  # a savepoint, to name the refusal after it
                    await cursor.execute(merge, span)
            except REFUSALS as error:
                fields = await columns_named(cursor, self.table, error)
                where = f" (field {', '.join(fields)})" if fields else ""
                raise PermanentError(
                    f"a row of staged rows {first:,} to {first + count - 1:,} of load {load_id} "
                    f"is refused by table {self.table}{where}: {error.diag.message_primary}"
                ) from None
            merged = cursor.rowcount
            await cursor.execute(
                "UPDATE staged_load_merges SET merged = %s WHERE load_id = %s AND first_seq = %s",
                [merged, load_id, first],
            )
        return merged

    async def finish(self, conn: psycopg.AsyncConnection[Any], load_id: int) -> LoadSummary:
        """The load is done: its staged rows go, and its counts and first rejects come back."""
        async with conn.transaction(), conn.cursor(row_factory=dict_row) as cursor:
            await cursor.execute(
                "UPDATE staged_loads SET state = 'done', updated_at = now(), rows_merged = "
                "(SELECT coalesce(sum(merged), 0) FROM staged_load_merges WHERE load_id = %s) "
                "WHERE id = %s AND state = 'merging'",
                [load_id, load_id],
            )
            if cursor.rowcount:
                await self._drop_rows(cursor, load_id)
                await cursor.execute("DELETE FROM staged_load_merges WHERE load_id = %s", [load_id])
            await cursor.execute("SELECT * FROM staged_loads WHERE id = %s", [load_id])
            load = await cursor.fetchone()
            await cursor.execute(
                "SELECT line, field, error FROM staged_load_rejects WHERE load_id = %s "
                "ORDER BY line LIMIT %s",
                [load_id, REJECTS_SHOWN],
            )
            rejects = await cursor.fetchall()
        assert load is not None
        return {
            "load": load_id,
            "source": load["source"],
            "lines": load["lines"],
            "rows": load["rows_staged"],
            "rejects": load["rejects"],
            "duplicates": load["duplicates"],
            "merged": load["rows_merged"],
            "first_rejects": [
                {"line": r["line"], "field": r["field"], "error": r["error"]} for r in rejects
            ],
        }

    async def _drop_rows(self, cursor: psycopg.AsyncCursor[Any], load_id: int) -> None:
        """The load's staged rows go: the whole table at once when no other load has rows
        in it (a million rows' DELETE took 0.5 s; TRUNCATE takes next to nothing).

        The table is locked first, so that no other load stages a row between the look
        and the TRUNCATE; a load waiting to stage goes on once this commits."""
        await cursor.execute(sql.SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(self._rows))
        await cursor.execute(
            "SELECT 1 FROM staged_loads WHERE target = %s AND id <> %s "
            "AND state IN ('staging', 'merging', 'failed') LIMIT 1",
            [self.table, load_id],
        )
        if await cursor.fetchone() is None:
            await cursor.execute(sql.SQL("TRUNCATE {}").format(self._rows))
        else:
            await cursor.execute(self.drop_rows, [load_id])

    async def sweep(self, conn: psycopg.AsyncConnection[Any], retention: timedelta) -> int:
        """The staged rows of this table's loads that failed or were left longer than
        ``retention`` ago go; their loads say 'expired'. Returns how many loads."""
        async with conn.transaction(), conn.cursor() as cursor:
            await cursor.execute(
                "UPDATE staged_loads SET state = 'expired', updated_at = now() "
                "WHERE target = %s AND state <> 'done' AND state <> 'expired' "
                "AND updated_at < now() - %s RETURNING id",
                [self.table, retention],
            )
            expired = [load_id for (load_id,) in await cursor.fetchall()]
            for load_id in expired:
                await cursor.execute(self.drop_rows, [load_id])
                await cursor.execute("DELETE FROM staged_load_merges WHERE load_id = %s", [load_id])
        return len(expired)


def staged_lines(load: LoadRow, lines: int) -> StagedLoad:
    """The lines of a staged load its merges go over: after a CSV's first line, which is
    its header (or a blank line before it), to its last."""
    first = 2 if load.format.startswith("csv") else 1
    return {"load": load.id, "first": first, "count": max(lines - first + 1, 0)}


def _load_row(found: dict[str, Any]) -> LoadRow:
    return LoadRow(
        id=int(found["id"]),
        state=str(found["state"]),
        position=Position(int(found["bytes"]), int(found["lines"])),
        seq=int(found["seq"]),
        rows_staged=int(found["rows_staged"]),
        rejects=int(found["rejects"]),
        header=found["header"],
        version=found["version"],
        format=str(found["format"]),
    )


async def rejects_of(
    conn: psycopg.AsyncConnection[Any], workflow_id: str
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The latest load of ``workflow_id`` and every one of its rejects, by line."""
    async with conn.cursor(row_factory=dict_row) as cursor:
        await cursor.execute(
            "SELECT * FROM staged_loads WHERE workflow_id = %s ORDER BY id DESC LIMIT 1",
            [workflow_id],
        )
        load = await cursor.fetchone()
        if load is None:
            return None, []
        await cursor.execute(
            "SELECT line, field, error, excerpt FROM staged_load_rejects WHERE load_id = %s "
            "ORDER BY line",
            [load["id"]],
        )
        return load, await cursor.fetchall()
