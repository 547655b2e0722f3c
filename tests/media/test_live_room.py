"""A room core at work with its outlets and timers (no peer connections: nobody offers media here)."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest

from media.live_room import LiveRoom, RoomEvents
from media.outlet import Outlet, wire_text
from media.room import Room
from media.room_actions import Grant
from media.signaling import Chat, ChatOut, CloseCode, Leave, Pong, Seats, Welcome
from scheduling.enums import AttendanceEventKind as K
from scheduling.enums import LiveRole, SessionKind
from scheduling.session_states import Presence

HOST = Grant(1, 10, LiveRole.host, 1, "高亭 王老师", "高亭", 1)
DAIXI = Grant(1, 11, LiveRole.receiver, 4, "岱西 终端", "岱西", 2)

pytestmark = pytest.mark.timeout(20)


class Log:
    def __init__(self) -> None:
        self.attendance: list[tuple[K, str]] = []
        self.presence: list[Presence] = []

    async def record(self, _grant: Grant, kind: K, connection_id: str, _at: datetime) -> None:
        self.attendance.append((kind, connection_id))

    async def present(self, _session_id: int, presence: Presence) -> None:
        self.presence.append(presence)


def live_room(log: Log, grace: float = 0.2) -> LiveRoom:
    return LiveRoom(Room(1, "数学", SessionKind.sync_class, grace), RoomEvents(log.record, log.present), [])


async def drain(outlet: Outlet) -> list[object]:
    out = []
    while (message := await asyncio.wait_for(outlet.next(), 1)) is not None:
        out.append(message)
    return out


async def test_a_drop_in_a_busy_class_still_gives_the_seat_up_after_the_grace() -> None:
    log = Log()
    room = live_room(log)
    host, daixi = Outlet(size=8), Outlet(size=8)
    await room.join(HOST, "h", host)
    await room.join(DAIXI, "d", daixi)
    for n in range(50):  # nobody reads the classroom's socket any more: its outlet is full
        await room.receive("h", Chat(type="chat", text=f"第{n}题"))
    await room.dropped("d")
    await asyncio.sleep(0.5)
    assert log.attendance == [(K.join, "h"), (K.join, "d"), (K.drop, "d"), (K.leave, "d")]
    assert [s.role for s in room.core.seat_infos()] == [LiveRole.host]
    await room.shutdown()  # full outlets never make a shutdown fail either
    assert host.close_code == CloseCode.going_away


async def test_a_half_open_socket_does_not_keep_the_newer_connection_from_its_welcome() -> None:
    log = Log()
    room = live_room(log)
    await room.join(HOST, "h", Outlet())
    old = Outlet(size=4)
    await room.join(DAIXI, "old", old)
    for n in range(10):  # the old socket is half-open: nothing drains it
        await room.receive("h", Chat(type="chat", text=str(n)))
    new = Outlet()
    await room.join(DAIXI, "new", new)
    first = await asyncio.wait_for(new.next(), 1)
    assert isinstance(first, Welcome)
    assert first.reconnected
    assert old.close_code == CloseCode.replaced
    await drain(old)  # what it had queued, then the end: it never takes anything of the new one's
    assert log.attendance[-2:] == [(K.drop, "old"), (K.reconnect, "new")]
    await room.dropped("old")  # its socket finally goes: nothing changes for the seat
    assert room.core.seat_infos()[1].state == "connected"
    assert log.attendance[-1] == (K.reconnect, "new")


async def test_a_leave_is_carried_out_whole_even_when_its_socket_reader_is_cancelled() -> None:
    # Leaving closes the socket, which ends (cancels) the very reader carrying the leave out: the presence
    # change after the attendance commit must still happen, or the session never hears everyone left.
    log = Log()
    slow = Log()

    async def slow_record(grant: Grant, kind: K, connection_id: str, at: datetime) -> None:
        await asyncio.sleep(0.1)
        await slow.record(grant, kind, connection_id, at)

    room = LiveRoom(Room(1, "数学", SessionKind.sync_class, 1), RoomEvents(slow_record, log.present), [])
    await room.join(HOST, "h", Outlet())
    reader = asyncio.ensure_future(room.receive("h", Leave(type="leave")))
    await asyncio.sleep(0.02)
    reader.cancel()
    await asyncio.sleep(0.3)
    assert slow.attendance[-1] == (K.leave, "h")
    assert log.presence[-1] == Presence()


async def test_a_seat_list_not_yet_written_gives_way_to_the_newer_one_and_order_is_kept() -> None:
    # A bell: forty joins, each a whole seat list for every connection; only the newest one is news.
    outlet = Outlet(size=4)
    lists = [Seats(seats=[], floor=str(n)) for n in range(4)]
    chat = ChatOut(seat="s1", name="岱西", text="老师好", at="08:00")
    outlet.send(lists[0])
    outlet.send(chat)
    outlet.send(lists[1])
    outlet.send(lists[2])  # replaces lists[1]: neither was written
    outlet.send(Pong())
    outlet.send(lists[3])  # the outlet is full, and its last message is no seat list: lost, like any other
    outlet.close(CloseCode.normal, "")
    assert await drain(outlet) == [lists[0], chat, lists[2], Pong()]
    assert wire_text(lists[2]) == lists[2].model_dump_json()
    assert wire_text(lists[2]) is wire_text(lists[2])  # one encoding, however many sockets write it
