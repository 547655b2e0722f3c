"""The session state machine: scheduled → open (lobby) → live → ended, or → missed / cancelled.

Pure: the time and who is connected are passed in. The job runner asks ``next_status`` whenever a
timer fires or presence changes and applies what it answers; asking twice gives nothing new, which
makes every transition idempotent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from scheduling.enums import SessionKind, SessionStatus
from scheduling.errors import Conflict

S = SessionStatus

LEGAL: dict[SessionStatus, frozenset[SessionStatus]] = {
    S.scheduled: frozenset({S.open, S.live, S.missed, S.cancelled}),
    S.open: frozenset({S.live, S.missed, S.cancelled, S.scheduled}),  # back to scheduled when moved later
    S.live: frozenset({S.ended}),
    S.ended: frozenset(),
    S.missed: frozenset(),
    S.cancelled: frozenset(),
}


@dataclass(frozen=True)
class Timing:
    lobby: timedelta = timedelta(minutes=10)  # the lobby opens this long before the start
    overrun: timedelta = timedelta(minutes=15)  # 拖堂: how long after the end it may still run


@dataclass(frozen=True)
class Presence:
    """Who is connected now (observers never count)."""

    host: bool = False
    receiver_classrooms: int = 0
    schools: int = 0  # distinct schools connected, for research sessions
    anyone: bool = False


NOBODY = Presence()


def quorum(kind: SessionKind, presence: Presence) -> bool:
    """Enough people for the session to be under way: host + a receiver, or two schools for research."""
    if kind is SessionKind.research:
        return presence.schools >= 2
    return presence.host and presence.receiver_classrooms >= 1


def next_status(
    kind: SessionKind,
    status: SessionStatus,
    start: datetime,
    end: datetime,
    now: datetime,
    presence: Presence = NOBODY,
    timing: Timing = Timing(),
) -> SessionStatus | None:
    """The state the session should move to now, or None when it is where it belongs."""
    if status.is_final:
        return None
    closes_at = end + timing.overrun
    if status is S.live:
        if now >= closes_at or (now >= end and not presence.anyone):
            return S.ended
        return None
    if now >= closes_at:
        return S.missed
    if now >= start - timing.lobby:
        if status is S.scheduled:
            return S.open  # through the lobby even when people are already waiting: observers see "open"
        if quorum(kind, presence):
            return S.live
        return None
    if status is S.open:  # moved to later than its lobby
        return S.scheduled
    return None


def settle(
    kind: SessionKind,
    status: SessionStatus,
    start: datetime,
    end: datetime,
    now: datetime,
    presence: Presence = NOBODY,
    timing: Timing = Timing(),
) -> list[SessionStatus]:
    """Every transition due now, in order (e.g. a session created inside its lobby with people waiting
    goes scheduled → open → live)."""
    path: list[SessionStatus] = []
    current = status
    while (target := next_status(kind, current, start, end, now, presence, timing)) is not None:
        path.append(target)
        current = target
        if len(path) > 4:  # the graph is acyclic for a fixed now; this guards future edits
            break
    return path


def next_due(
    status: SessionStatus, start: datetime, end: datetime, timing: Timing = Timing(), *, now: datetime | None = None
) -> datetime | None:
    """When a timer must next look at the session (presence changes are reported separately).

    A live class is looked at on its end (everyone may have left already: it ends then, not at the
    overrun); from its end on (``now`` given and past it) only the overrun is left to wait for.
    """
    if status is S.scheduled:
        return start - timing.lobby
    if status is S.live and (now is None or now < end):
        return end
    if status in (S.open, S.live):
        return end + timing.overrun
    return None


def check_transition(current: SessionStatus, target: SessionStatus) -> None:
    if target not in LEGAL[current]:
        raise Conflict(
            f"课程状态不能从 {current.value} 变为 {target.value} / illegal transition",
            code="illegal_transition",
            details={"from": current.value, "to": target.value},
        )
