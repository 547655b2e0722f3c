"""The rooms' presence reaches the session's status at once, with a transaction only when it can matter."""

from __future__ import annotations

import asyncio
from contextlib import AbstractAsyncContextManager
from datetime import timedelta
from typing import Any

import time_machine

from scheduling.enums import SessionStatus
from scheduling.session_states import Presence
from server.live.registry import RoomRegistry
from server.models import Session
from tests.conftest import Api
from tests.server.live.test_heartbeats import START, _class


class Counting:
    """A sessionmaker that counts the database sessions opened through it."""

    def __init__(self, maker: Any) -> None:
        self.maker, self.opened = maker, 0

    def __call__(self) -> AbstractAsyncContextManager[Any]:
        self.opened += 1
        return self.maker()


async def test_only_a_quorum_or_anyone_changing_costs_a_transaction(demo_api: Api) -> None:
    session_id = await _class(demo_api)
    counting = Counting(demo_api.sessionmaker)
    registry = RoomRegistry(demo_api.settings, counting)  # type: ignore[arg-type]
    with time_machine.travel(START + timedelta(minutes=1)):
        await registry.presence_changed(session_id, Presence(host=True, anyone=True))
        await registry.presence_changed(session_id, Presence(host=True, receiver_classrooms=1, schools=2, anyone=True))
        assert counting.opened == 2
        for n in range(2, 40):  # the rest of a bell: nothing to settle
            await registry.presence_changed(
                session_id, Presence(host=True, receiver_classrooms=n, schools=2, anyone=True)
            )
        assert counting.opened == 2
        await registry.presence_changed(session_id, Presence(receiver_classrooms=39, schools=2, anyone=True))
        assert counting.opened == 3  # the host left: the quorum is gone
    async with demo_api.sessionmaker() as db:
        session = await db.get(Session, session_id)
    assert session is not None
    assert session.status is SessionStatus.live  # host and a receiver made it live at once


async def test_joins_at_the_same_instant_open_one_room(demo_api: Api) -> None:
    # Opening a room reads its community's recording policy: forty joins of a bell arriving while that read
    # is under way must all land in the same room.
    session_id = await _class(demo_api)
    registry = RoomRegistry(demo_api.settings, demo_api.sessionmaker)
    async with demo_api.sessionmaker() as db:
        session = await db.get(Session, session_id)
    assert session is not None
    rooms = await asyncio.gather(*(registry.room(session) for _ in range(40)))
    assert len({id(room) for room in rooms}) == 1
    assert rooms[0].core.recording  # the demo community records its classes
    await registry.close()
