"""The attendance log's writer for the rooms of one process: group commit.

Every join, leave, drop and reconnect is committed before its client hears anything (``media/live_room.py``
awaits ``append`` before the welcome). At the morning bell a join's own transaction cost 4–5 ms of CPU
(a session from the pool, BEGIN, an ORM flush, COMMIT, on aiosqlite's thread hand-offs), so rows that
arrive while a commit is running wait for the next one and share it: one transaction and one INSERT of
many rows, each waiter released only once that commit has returned. Nothing waits on purpose for company
(no timer): a lone join is committed at once, as before; the rows of rooms joining at the same instant
(each room's own decisions run one at a time) ride together.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from server.models import AttendanceEvent


class AttendanceLog:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker
        self._pending: list[tuple[dict[str, Any], asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None
        self.commits = 0  # how many transactions wrote rows (tests and benchmarks read it)

    async def append(self, row: dict[str, Any]) -> None:
        """Returns once the row is committed; raises what the commit raised. A caller cancelled while it
        waits does not take its row out: the row is committed with the others all the same."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((row, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.ensure_future(self._write())
        await asyncio.shield(done)

    async def _write(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                async with self.sessionmaker() as db, db.begin():
                    # Core, not the ORM: nothing needs the rows back, and executemany is one statement
                    connection = await db.connection()
                    await connection.execute(insert(AttendanceEvent), [row for row, _ in batch])
                self.commits += 1
            except BaseException as exc:  # every waiter hears of it; a cancelled writer still wakes them
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc if isinstance(exc, Exception) else RuntimeError("writer stopped"))
                if not isinstance(exc, Exception):
                    for _, done in self._pending:  # nothing writes them now: their callers must not hang
                        if not done.done():
                            done.set_exception(RuntimeError("writer stopped"))
                    self._pending = []
                    raise
            else:
                for _, done in batch:
                    if not done.done():
                        done.set_result(None)
