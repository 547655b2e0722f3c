"""The room core without sockets or aiortc: a message and the time in, the actions out."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from media.room import Room
from media.room_actions import (
    AcceptOffer,
    Action,
    Close,
    Grant,
    Mute,
    PresenceChanged,
    Record,
    Release,
    Send,
    StartGrace,
)
from media.signaling import (
    Bye,
    Chat,
    ChatOut,
    CloseCode,
    ErrorOut,
    FloorRequest,
    Hand,
    Leave,
    MuteRequest,
    Offer,
    Ping,
    Pong,
    Seats,
    Welcome,
)
from scheduling.enums import AttendanceEventKind as K
from scheduling.enums import LiveRole, SessionKind

T0 = datetime(2026, 11, 24, 1, 55, tzinfo=UTC)
HOST = Grant(1, 10, LiveRole.host, 1, "高亭 王老师", "高亭", 1)
DAIXI = Grant(1, 11, LiveRole.receiver, 4, "岱西 终端", "岱西", 2)
CHANGTU = Grant(1, 12, LiveRole.receiver, 7, "长涂 终端", "长涂", 3)
RESEARCHER = Grant(1, 13, LiveRole.observer, None, "郑老师", "县教研室", None)
SDP = "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=sendrecv\r\n"


def new_room() -> Room:
    ids = (f"s{n}" for n in itertools.count())
    return Room(1, "数学", SessionKind.sync_class, grace_seconds=30, new_public_id=lambda: next(ids))


def sent_to(actions: list[Action], connection_id: str) -> list[object]:
    return [a.message for a in actions if isinstance(a, Send) and a.connection_id == connection_id]


def records(actions: list[Action]) -> list[tuple[K, str]]:
    return [(a.kind, a.connection_id) for a in actions if isinstance(a, Record)]


def seated(room: Room, *grants: Grant) -> list[str]:
    out = []
    for n, grant in enumerate(grants):
        room.join(grant, f"conn-{n}", T0)
        out.append(f"conn-{n}")
    return out


def test_a_join_is_recorded_before_the_welcome_and_the_others_hear_of_it() -> None:
    room = new_room()
    room.join(HOST, "h", T0)
    actions = room.join(DAIXI, "d", T0)
    record = next(i for i, a in enumerate(actions) if isinstance(a, Record))
    welcome = next(i for i, a in enumerate(actions) if isinstance(a, Send) and isinstance(a.message, Welcome))
    assert record < welcome
    assert records(actions) == [(K.join, "d")]
    assert any(isinstance(m, Seats) for m in sent_to(actions, "h"))
    presence = next(a.presence for a in actions if isinstance(a, PresenceChanged))
    assert (presence.host, presence.receiver_classrooms, presence.schools) == (True, 1, 2)


def test_receivers_get_the_host_and_the_floor_holder_only() -> None:
    room = new_room()
    host, daixi, changtu = seated(room, HOST, DAIXI, CHANGTU)
    assert room.sources_for(daixi) == [host]
    assert set(room.sources_for(host)) == {daixi, changtu}
    actions = room.receive(host, FloorRequest(type="floor", seat=room.public_id_of(daixi)), T0)
    assert room.floor == room.public_id_of(daixi)
    assert set(room.sources_for(changtu)) == {host, daixi}
    assert any(isinstance(m, Seats) and m.floor == room.floor for m in sent_to(actions, changtu))


def test_only_the_host_gives_the_floor_and_mutes_and_only_receivers_raise_hands() -> None:
    room = new_room()
    host, daixi = seated(room, HOST, DAIXI)
    for actions in (
        room.receive(daixi, FloorRequest(type="floor", seat=None), T0),
        room.receive(daixi, MuteRequest(type="mute", seat=room.public_id_of(host) or "", kind="audio"), T0),
        room.receive(host, Hand(type="hand", raised=True), T0),
    ):
        (error,) = [m for a in actions for m in [getattr(a, "message", None)] if isinstance(m, ErrorOut)]
        assert error.code == "not_allowed"
    room.receive(daixi, Hand(type="hand", raised=True), T0)
    assert room.seat_infos()[1].hand is True
    room.receive(host, FloorRequest(type="floor", seat=room.public_id_of(daixi)), T0)
    assert room.seat_infos()[1].hand is False  # given the floor: the hand goes down


def test_the_host_mutes_a_classroom_and_the_mute_outlives_a_reconnect() -> None:
    room = new_room()
    host, daixi = seated(room, HOST, DAIXI)
    actions = room.receive(host, MuteRequest(type="mute", seat=room.public_id_of(daixi) or "", kind="audio"), T0)
    assert Mute(daixi, "audio", True) in actions
    room.dropped(daixi, T0)
    room.join(DAIXI, "d2", T0 + timedelta(seconds=5))
    assert room.is_muted("d2", "audio")
    assert room.seat_infos()[1].muted_audio is True


def test_an_observer_is_invisible_never_counted_and_cannot_publish() -> None:
    room = new_room()
    host, daixi, observer = seated(room, HOST, DAIXI, RESEARCHER)
    assert [s.role for s in room.seat_infos()] == [LiveRole.host, LiveRole.receiver]
    assert set(room.sources_for(observer)) == {host, daixi}
    assert observer not in room.sources_for(host)
    actions = room.receive(observer, Offer(type="offer", sdp=SDP), T0)
    assert [m.code for m in sent_to(actions, observer) if isinstance(m, ErrorOut)] == ["observer_cannot_publish"]
    assert AcceptOffer(observer, SDP, accept_media=False) in actions
    assert [a for a in room.receive(observer, Chat(type="chat", text="hi"), T0) if isinstance(a, Send)][
        0
    ].message.code == "not_allowed"  # type: ignore[attr-defined]
    leave = room.receive(observer, Leave(type="leave"), T0)
    assert not any(isinstance(a, PresenceChanged) for a in leave)  # the others never learn of it


def test_chat_and_ping() -> None:
    room = new_room()
    host, daixi = seated(room, HOST, DAIXI)
    actions = room.receive(daixi, Chat(type="chat", text="听得见"), T0)
    assert {a.connection_id for a in actions if isinstance(a, Send) and isinstance(a.message, ChatOut)} == {host, daixi}
    assert sent_to(room.receive(host, Ping(type="ping"), T0), host) == [Pong()]


def test_a_drop_holds_the_seat_through_the_grace_and_a_return_keeps_it() -> None:
    room = new_room()
    _host, daixi = seated(room, HOST, DAIXI)
    public_id = room.public_id_of(daixi)
    actions = room.dropped(daixi, T0 + timedelta(minutes=1))
    assert records(actions) == [(K.drop, daixi)]
    assert StartGrace(daixi, 30) in actions
    assert Release(daixi) in actions
    assert room.seat_infos()[1].state == "reconnecting"
    assert not room.presence().receiver_classrooms
    back = room.join(DAIXI, "d2", T0 + timedelta(minutes=1, seconds=10))
    assert records(back) == [(K.reconnect, "d2")]
    welcome = next(m for m in sent_to(back, "d2") if isinstance(m, Welcome))
    assert (welcome.seat, welcome.reconnected) == (public_id, True)
    assert room.expire(daixi, T0 + timedelta(minutes=2)) == []  # the old timer finds the seat back


def test_after_the_grace_the_seat_is_given_up_with_a_leave() -> None:
    room = new_room()
    host, daixi = seated(room, HOST, DAIXI)
    room.receive(host, FloorRequest(type="floor", seat=room.public_id_of(daixi)), T0)
    room.dropped(daixi, T0)
    actions = room.expire(daixi, T0 + timedelta(seconds=30))
    assert records(actions) == [(K.leave, daixi)]
    assert [s.role for s in room.seat_infos()] == [LiveRole.host]
    assert room.floor is None


def test_a_newer_connection_wins_and_the_older_one_is_closed_as_replaced() -> None:
    room = new_room()
    _host, old = seated(room, HOST, DAIXI)
    actions = room.join(DAIXI, "new", T0 + timedelta(minutes=3))
    # The old connection's interval ends now, before the new one opens; it hears why and is closed.
    assert records(actions) == [(K.drop, old), (K.reconnect, "new")]
    assert Bye(reason="replaced") in sent_to(actions, old)
    assert Close(old, CloseCode.replaced, "replaced by a newer connection") in actions
    assert Release(old) in actions
    assert any(isinstance(m, Welcome) and m.reconnected for m in sent_to(actions, "new"))
    # What the old socket still says or does changes nothing.
    assert room.receive(old, Hand(type="hand", raised=True), T0) == []
    assert room.dropped(old, T0 + timedelta(minutes=4)) == []
    assert room.seat_infos()[1].state == "connected"


def test_the_end_of_the_session_closes_every_socket_with_session_ended() -> None:
    room = new_room()
    host, daixi, observer = seated(room, HOST, DAIXI, RESEARCHER)
    room.dropped(daixi, T0)
    actions = room.end(T0 + timedelta(minutes=40))
    assert sorted(records(actions)) == sorted([(K.leave, host), (K.leave, daixi), (K.leave, observer)])
    assert {a.connection_id for a in actions if isinstance(a, Close)} == {host, daixi, observer}
    assert {a.code for a in actions if isinstance(a, Close)} == {CloseCode.session_ended}
    assert room.seats == {}
    late = room.join(DAIXI, "late", T0 + timedelta(minutes=41))
    assert late == [Close("late", CloseCode.session_ended, "session ended")]


def test_a_shutdown_drops_connected_seats_so_they_can_come_back_within_the_grace() -> None:
    room = new_room()
    host, daixi = seated(room, HOST, DAIXI)
    room.dropped(daixi, T0)
    actions = room.shutdown(T0 + timedelta(seconds=5))
    assert records(actions) == [(K.drop, host)]  # the dropped seat already has its drop
    assert {a.code for a in actions if isinstance(a, Close)} == {CloseCode.going_away}
