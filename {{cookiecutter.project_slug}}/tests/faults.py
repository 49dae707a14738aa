"""Helpers of the fault tests, which take servers away mid-run and bring them back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import psycopg
from psycopg import sql

from {{ cookiecutter.package_name }}.{{ cookiecutter.workflow_module }}.workflow import TABLE


def row_count(database_url: str) -> int:
    """Rows in the example table, or -1 while the database cannot be reached."""
    try:
        with psycopg.connect(database_url, connect_timeout=2) as conn:
            row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(TABLE)).fetchone()
    except psycopg.OperationalError:
        return -1
    return int(row[0]) if row else 0


async def wait_until(what: str, check: Callable[[], bool], timeout: float = 60) -> None:
    """Poll ``check()`` every 0.2 s until it holds; fail naming ``what`` past ``timeout``."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"not within {timeout}s: {what}")
        await asyncio.sleep(0.2)
