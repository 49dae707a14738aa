"""The stage step: a source streamed into PostgreSQL a chunk at a time, resumable.

An attempt reads the load's committed position, opens the source there, and repeats:
read a chunk (on a thread: reading is CPU work that must not stall the worker's event
loop), hand it to a free lane (a connection), which stages it and commits it with the
new position in its turn, and heartbeat the position. A CSV chunk after the
header goes to PostgreSQL whole, which parses and checks it (loads/text_copy.py); a
chunk it will not take, for a row that does not fit, is read in Python row by row. A
retried attempt, after a worker died or PostgreSQL went away, starts from what was
committed: no row is staged twice or lost. Rejects count against the job's
``max_rejects``; past it, the load fails, for the file is not this record's.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import Any

import psycopg

from ..temporal.loading import StagedLoad, StageRequest, shown, source_format
from ..temporal.retry import PermanentError
from .formats import Chunk, RowReader
from .staging import RETENTION, LoadRow, Staging, staged_lines

log = logging.getLogger(__name__)

# A chunk is committed after this much text, or after CHUNK_SECONDS of reading,
# whichever comes first: a slow source still moves its committed position on.
CHUNK_BYTES = 1 << 20
CHUNK_SECONDS = 2.0
# While a chunk is read, the position is heartbeaten this often: well inside the
# stage's heartbeat_timeout, so a worker that dies is noticed and a live one is not.
HEARTBEAT_SECONDS = 2.0

# Chunks staged at once, each on a connection of its own: PostgreSQL parses and checks
# them in parallel. Measured on 2 cores, a million rows staged without Temporal: one
# lane 2.3 s, two 1.5 to 1.7 s, three 1.6 to 1.7 s.
LANES = 2

Heartbeat = Callable[..., None]
Connect = Callable[[], AbstractAsyncContextManager[psycopg.AsyncConnection[Any]]]


async def stage_source(
    conn: psycopg.AsyncConnection[Any],
    staging: Staging,
    request: StageRequest,
    heartbeat: Heartbeat,
    connect: Connect | None = None,
) -> StagedLoad:
    """Stage the request's source into the module's staged rows; return the load's id
    and its line count. PermanentError when no retry can help, naming why.

    ``connect`` opens the connections of the lanes beyond ``conn``'s (LANES in all);
    without it, one lane stages every chunk."""
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
        return staged_lines(load, load.seq)
    try:
        async with AsyncExitStack() as stack:
            lanes = [conn]
            if connect is not None:
                for _ in range(LANES - 1):
                    lanes.append(await stack.enter_async_context(connect()))
            load = await _Stage(lanes, staging, request, load, heartbeat).run()
    except PermanentError as error:
        await staging.fail(conn, load.id, str(error))
        raise
    log.info("staged %s rows of %s (load %d)", f"{load.rows_staged:,}", shown(url), load.id)
    # The seal's statements run over every staged row: tens of seconds at tens of millions
    # of rows, past the stage's heartbeat_timeout. Heartbeats go on meanwhile, or the
    # server would give the attempt up while it works, and each retry would seal again.
    # The whole source is read: its size is the bytes read.
    sealing = _position(load, load.position.bytes)
    async with _heartbeating(lambda: heartbeat(sealing)):
        return await staging.seal(conn, load)


class _Stage:
    """One attempt's chunks, read one after another and committed by the lanes at once.

    The source is read on a thread (parsing is CPU work that must not stall the worker's
    event loop), a chunk at a time while the lanes work, and each chunk goes to the next
    lane to come free. Each lane stages its chunk's rows in a transaction of its own,
    then waits for the chunk before it to commit, and commits the position after its
    own: PostgreSQL parses and checks two chunks at once, while the committed position
    only ever moves forward a whole chunk at a time. A chunk that fails fails the ones
    after it, uncommitted; the next attempt resumes at the last position committed.
    """

    def __init__(
        self,
        lanes: list[psycopg.AsyncConnection[Any]],
        staging: Staging,
        request: StageRequest,
        load: LoadRow,
        heartbeat: Heartbeat,
    ) -> None:
        # Imported here, by the activity: the HTTP and S3 clients have no place in the
        # workflow sandbox, which imports this module with the workflow's.
        from .sources import open_source

        self.staging, self.request, self.load, self.heartbeat = staging, request, load, heartbeat
        self.source = open_source(request["source"]["url"], load.version)
        self.blocks = self.source.blocks(load.position.bytes)
        self.reader = RowReader(
            self.blocks, load.format, staging.fields, load.position, load.header
        )
        self.free: asyncio.Queue[psycopg.AsyncConnection[Any]] = asyncio.Queue()
        self.lanes: list[asyncio.Task[None]] = []  # a task a chunk, in the file's order
        self.reading: asyncio.Future[Chunk] | None = None  # the latest chunk's read
        for lane in lanes:
            self.free.put_nowait(lane)

    def beat(self) -> None:  # the latest committed position
        self.heartbeat(_position(self.load, self.source.size()))

    async def run(self) -> LoadRow:
        if self.load.position.lines:
            log.info(
                "load %d resumes at line %s", self.load.id, f"{self.load.position.lines + 1:,}"
            )
        try:
            async with _heartbeating(self.beat):
                try:
                    await self._hand_out()
                finally:
                    # Every lane ends by itself, even when reading failed or the attempt
                    # was cancelled: a lane whose turn never comes rolls back, and no
                    # statement is cut off mid-way.
                    outcomes = await asyncio.gather(*self.lanes, return_exceptions=True)
        finally:
            if self.reading is None or self.reading.done():
                self.blocks.close()
            else:  # a thread cannot be stopped: the source closes when its read returns
                self.reading.add_done_callback(lambda _: self.blocks.close())
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome  # the first in the file's order: the cause of the others
        return self.load

    async def _hand_out(self) -> None:
        """Read chunk after chunk, each as a lane comes free, until the source ends or a
        chunk fails; each lane's task commits its chunk after the one before it."""
        loop = asyncio.get_running_loop()
        turn: asyncio.Future[None] = loop.create_future()
        turn.set_result(None)  # the first chunk's: nothing comes before it
        while True:
            # The chunk is read while the lanes work, then waits for one to come free.
            self.reading = asyncio.ensure_future(asyncio.to_thread(self._read))
            # Shielded: a cancelled attempt must not forget the thread, which reads on.
            chunk = await asyncio.shield(self.reading)
            lane = await self.free.get()
            if _failed(turn):
                return  # a chunk failed: this one and those in flight roll back
            committed: asyncio.Future[None] = loop.create_future()
            # Its failure is raised by its lane's task: seen here, asyncio does not warn
            # of it when no chunk comes after to await it.
            committed.add_done_callback(_failed)
            self.lanes.append(asyncio.ensure_future(self._commit(lane, chunk, turn, committed)))
            turn = committed
            if chunk.finished:
                return

    def _read(self) -> Chunk:
        return self.reader.chunk(CHUNK_BYTES, CHUNK_SECONDS)

    async def _commit(
        self,
        lane: psycopg.AsyncConnection[Any],
        chunk: Chunk,
        turn: asyncio.Future[None],
        committed: asyncio.Future[None],
    ) -> None:
        """Stage one chunk on ``lane``; commit it in its turn; let the next chunk go on."""
        try:
            moved = None
            if chunk.text is not None:  # PostgreSQL parses and checks it, if it can
                assert self.reader.header is not None
                moved = await self.staging.commit_text(
                    lane, self.load, self.reader.header, chunk, turn
                )
                if moved is None:
                    await asyncio.to_thread(self.reader.parse, chunk)
            if moved is None:
                moved = await self.staging.commit(lane, self.load, chunk, turn, self.source.version)
            self.load = dataclasses.replace(
                self.load,
                position=chunk.end,
                seq=chunk.end.lines,
                rows_staged=self.load.rows_staged + moved.rows,
                rejects=self.load.rejects + moved.rejects,
            )
            self.beat()
            if self.load.rejects > self.request["max_rejects"]:
                raise PermanentError(
                    f"{self.load.rejects:,} rows do not fit {self.staging.table}'s record, more "
                    f"than max_rejects ({self.request['max_rejects']:,}): is it the right file? "
                    f"`rejects {self.request['workflow_id']}` lists them by line"
                )
        except Exception as error:
            committed.set_exception(error)  # the chunks after this one roll back
            raise
        except BaseException:
            committed.cancel()
            raise
        else:
            committed.set_result(None)
        finally:
            self.free.put_nowait(lane)


def _failed(turn: asyncio.Future[None]) -> bool:
    """Whether the chunk this future stands for failed: then no chunk after it commits."""
    return turn.done() and (turn.cancelled() or turn.exception() is not None)


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
