"""The stage step: a source streamed into PostgreSQL a chunk at a time, resumable.

An attempt reads the load's committed position, opens the source there, and repeats:
read a chunk (on a thread: reading is CPU work that must not stall the worker's event
loop), commit it with the new position, heartbeat the position. A CSV chunk after the
header goes to PostgreSQL whole, which parses and checks it (loads/text_copy.py); a
chunk it will not take, for a row that does not fit, is read in Python row by row. A
retried attempt, after a worker died or PostgreSQL went away, starts from what was
committed: no row is staged twice or lost. Rejects count against the job's
``max_rejects``; past it, the load fails, for the file is not this record's.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import psycopg

from ..temporal.loading import StagedLoad, StageRequest, shown, source_format
from ..temporal.retry import PermanentError
from .formats import Chunk, RowReader
from .staging import RETENTION, LoadRow, Staging

log = logging.getLogger(__name__)

# A chunk is committed after this much text, or after CHUNK_SECONDS of reading,
# whichever comes first: a slow source still moves its committed position on.
CHUNK_BYTES = 1 << 20
CHUNK_SECONDS = 2.0
# While a chunk is read, the position is heartbeaten this often: well inside the
# stage's heartbeat_timeout, so a worker that dies is noticed and a live one is not.
HEARTBEAT_SECONDS = 2.0

Heartbeat = Callable[..., None]


async def stage_source(
    conn: psycopg.AsyncConnection[Any],
    staging: Staging,
    request: StageRequest,
    heartbeat: Heartbeat,
) -> StagedLoad:
    """Stage the request's source into the module's staged rows; return the load's id
    and its row count. PermanentError when no retry can help, naming why."""
    url = request["source"]["url"]
    fmt = source_format(request["source"])
    if fmt is None:  # the workflow's check_job refuses such a source before this runs
        raise PermanentError(f"{shown(url)}: no format given, and none in its name")
    await staging.ensure(conn)
    swept = await staging.sweep(conn, RETENTION)
    if swept:
        log.info("swept the staged rows of %d loads left since %s", swept, RETENTION)
    load = await staging.begin(conn, request, fmt)
    if load.state != "staging":  # an attempt that finished, whose answer was lost
        if load.state == "failed":
            raise PermanentError(f"load {load.id} of {shown(url)} failed before")
        return {"load": load.id, "count": load.seq}
    try:
        load = await _stage_chunks(conn, staging, request, load, heartbeat)
    except PermanentError as error:
        await staging.fail(conn, load.id, str(error))
        raise
    log.info("staged %s rows of %s (load %d)", f"{load.rows_staged:,}", shown(url), load.id)
    # The seal is one statement over every staged row: tens of seconds at tens of millions
    # of rows, past the stage's heartbeat_timeout. Heartbeats go on meanwhile, or the
    # server would give the attempt up while it works, and each retry would seal again.
    # The whole source is read: its size is the bytes read.
    sealing = _position(load, load.position.bytes)
    async with _heartbeating(lambda: heartbeat(sealing)):
        return await staging.seal(conn, load)


async def _stage_chunks(
    conn: psycopg.AsyncConnection[Any],
    staging: Staging,
    request: StageRequest,
    load: LoadRow,
    heartbeat: Heartbeat,
) -> LoadRow:
    # Imported here, by the activity: the HTTP and S3 clients have no place in the
    # workflow sandbox, which imports this module with the workflow's.
    from .sources import open_source

    source = open_source(request["source"]["url"], load.version)
    blocks = source.blocks(load.position.bytes)
    reader = RowReader(blocks, load.format, staging.fields, load.position, load.header)
    if load.position.lines:
        log.info("load %d resumes at line %s", load.id, f"{load.position.lines + 1:,}")

    def beat() -> None:  # the latest committed position
        heartbeat(_position(load, source.size()))

    def read() -> Chunk:
        return reader.chunk(CHUNK_BYTES, CHUNK_SECONDS)

    async with _heartbeating(beat):
        # On a thread: parsing is CPU work that must not stall the worker's event loop.
        reading = asyncio.ensure_future(asyncio.to_thread(read))
        try:
            while True:
                # Shielded: a cancelled attempt must not forget the thread, which reads on.
                chunk = await asyncio.shield(reading)
                moved = None
                if chunk.text is not None:  # PostgreSQL parses and checks it, if it can
                    moved = await staging.commit_text(conn, load, chunk)
                    if moved is None:
                        await asyncio.to_thread(reader.parse, chunk)
                if moved is None:
                    header = chunk.header or load.header
                    moved = await staging.commit(conn, load, chunk, source.version(), header)
                load = moved
                # The next chunk is read after this one commits, not while it does: both are
                # Python's work, one interpreter lock apart. 200,000 rows on 2 cores: 1.45 s
                # to stage reading ahead, 1.30 s one after the other (COPY 0.96 s and 0.45 s).
                if not chunk.finished:
                    reading = asyncio.ensure_future(asyncio.to_thread(read))
                beat()
                if load.rejects > request["max_rejects"]:
                    raise PermanentError(
                        f"{load.rejects:,} rows do not fit {staging.table}'s record, more than "
                        f"max_rejects ({request['max_rejects']:,}): is it the right file? "
                        f"`rejects {request['workflow_id']}` lists them by line"
                    )
                if chunk.finished:
                    return load
        finally:
            if reading.done():
                blocks.close()
            else:  # a thread cannot be stopped: the source closes when its read returns
                reading.add_done_callback(lambda _: blocks.close())


@asynccontextmanager
async def _heartbeating(beat: Callable[[], None]) -> AsyncIterator[None]:
    """``beat`` every HEARTBEAT_SECONDS for as long as the block runs: while chunks are
    read and committed, and while the seal works."""

    async def every_interval() -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            beat()

    beating = asyncio.ensure_future(every_interval())
    try:
        yield
    finally:
        beating.cancel()


def _position(load: LoadRow, size: int | None = None) -> dict[str, int | None]:
    """What a heartbeat says: the committed position, for the Web UI and ``load``'s
    progress, and the source's size where it is known (not for a gzipped one)."""
    size = None if load.format.endswith(".gz") else size
    return {
        "bytes": load.position.bytes,
        "lines": load.position.lines,
        "rows": load.rows_staged,
        "size": size,
    }
