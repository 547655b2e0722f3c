"""The room core's recording decisions and timeline marks: policy, the research host's switch, failures."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from media.room import Room
from media.room_actions import Action, Grant, Mark, Send, SetRecording
from media.signaling import ErrorOut, FloorRequest, Hand, RecordRequest, Seats, Share, Welcome
from scheduling.enums import LiveRole, RoomEventKind, SessionKind

T0 = datetime(2026, 11, 24, 1, 55, tzinfo=UTC)
HOST = Grant(1, 10, LiveRole.host, 1, "高亭 王老师", "高亭", 1)
DAIXI = Grant(1, 11, LiveRole.receiver, 4, "岱西 终端", "岱西", 2)
PEER = Grant(1, 12, LiveRole.participant, None, "林老师", "岱西", 2)


def room(kind: SessionKind = SessionKind.sync_class, **kw: Any) -> Room:
    ids = (f"s{n}" for n in itertools.count())
    return Room(1, "数学", kind, grace_seconds=30, new_public_id=lambda: next(ids), **kw)


def marks(actions: list[Action]) -> list[RoomEventKind]:
    return [a.kind for a in actions if isinstance(a, Mark)]


def sent(actions: list[Action], kind: type) -> list:  # type: ignore[type-arg]
    return [a.message for a in actions if isinstance(a, Send) and isinstance(a.message, kind)]


def test_a_class_recorded_by_policy_says_so_from_the_first_welcome_and_marks_its_start_once() -> None:
    r = room(recording=True)
    first = r.join(HOST, "h", T0)
    second = r.join(DAIXI, "d", T0)
    assert sent(first, Welcome)[0].recording
    assert sent(second, Welcome)[0].recording
    assert marks(first) == [RoomEventKind.recording_started]
    assert marks(second) == []
    assert all(m.recording for m in sent(second, Seats))


def test_hands_floor_and_shares_are_marked_with_who() -> None:
    r = room()
    r.join(HOST, "h", T0)
    r.join(DAIXI, "d", T0)
    raised = r.receive("d", Hand(type="hand", raised=True), T0)
    assert [(a.kind, a.name) for a in raised if isinstance(a, Mark)] == [(RoomEventKind.hand_raised, "岱西 终端")]
    assert r.receive("d", Hand(type="hand", raised=True), T0) == []  # nothing changed, nothing marked
    daixi = r.seats[DAIXI.seat_key].public_id
    given = r.receive("h", FloorRequest(type="floor", seat=daixi), T0 + timedelta(seconds=5))
    assert marks(given) == [RoomEventKind.floor_given]
    r.seats[HOST.seat_key].sources = {"2": "screen"}  # type: ignore[dict-item]
    shared = r.receive("h", Share(type="share", source="screen", active=True), T0)  # type: ignore[arg-type]
    assert [(a.kind, a.detail) for a in shared if isinstance(a, Mark)] == [(RoomEventKind.share_started, "screen")]
    back = r.receive("h", FloorRequest(type="floor", seat=None), T0)
    assert marks(back) == [RoomEventKind.floor_released]


def test_a_class_is_recorded_as_its_community_says_not_as_its_host_asks() -> None:
    r = room(recording=False)
    r.join(HOST, "h", T0)
    refused = r.receive("h", RecordRequest(type="record", active=True), T0)
    assert sent(refused, ErrorOut)[0].code == "not_allowed"
    assert not r.recording


def test_a_research_host_starts_and_stops_recording_and_only_the_host() -> None:
    r = room(SessionKind.research)
    r.join(HOST, "h", T0)
    r.join(PEER, "p", T0)
    assert sent(r.receive("p", RecordRequest(type="record", active=True), T0), ErrorOut)[0].code == "not_allowed"
    started = r.receive("h", RecordRequest(type="record", active=True), T0)
    assert marks(started) == [RoomEventKind.recording_started]
    assert SetRecording(True) in started
    assert all(m.recording for m in sent(started, Seats))
    stopped = r.receive("h", RecordRequest(type="record", active=False), T0)
    assert marks(stopped) == [RoomEventKind.recording_stopped]
    assert SetRecording(False) in stopped
    assert not any(m.recording for m in sent(stopped, Seats))


def test_the_host_teacher_in_the_research_grid_decides_too() -> None:
    r = room(SessionKind.research, host_person_id=PEER.person_id)
    r.join(PEER, "p", T0)
    assert SetRecording(True) in r.receive("p", RecordRequest(type="record", active=True), T0)


def test_a_server_that_records_nothing_refuses_the_research_host() -> None:
    r = room(SessionKind.research, can_record=False)
    r.join(HOST, "h", T0)
    assert sent(r.receive("h", RecordRequest(type="record", active=True), T0), ErrorOut)[0].code == "not_allowed"


def test_a_failed_recorder_stops_recording_once_and_everyone_is_told() -> None:
    r = room(recording=True)
    r.join(HOST, "h", T0)
    failed = r.recording_failed("disk_full", "No space left on device", T0)
    assert [(a.kind, a.detail) for a in failed if isinstance(a, Mark)] == [
        (RoomEventKind.recording_failed, "disk_full: No space left on device")
    ]
    assert SetRecording(False) in failed
    assert sent(failed, Seats)[0].recording is False
    assert r.recording_failed("write_error", "again", T0) == []


def test_the_end_of_a_recorded_class_finishes_its_files_before_everyone_leaves() -> None:
    r = room(recording=True)
    r.join(HOST, "h", T0)
    ended = r.end(T0 + timedelta(minutes=40))
    assert ended[:2] == [
        Mark(RoomEventKind.recording_stopped, T0 + timedelta(minutes=40), detail="session_ended"),
        SetRecording(False),
    ]
