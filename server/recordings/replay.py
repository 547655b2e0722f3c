"""Building a session's replay: its tracks (with signed links) on one clock, the timeline, comments."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from scheduling.enums import LiveRole
from scheduling.errors import NotFound
from server.models import Classroom, Community, Person, Recording, School, Session
from server.recordings import repository as repo
from server.recordings.links import file_link
from server.recordings.schemas import CommentOut, ReplayOut, ReplaySession, TimelineEvent, TrackOut
from server.records.router import observation_out
from server.schedule.access import reads_county
from server.settings import Settings


def ms_between(origin: datetime, at: datetime) -> int:
    return round((at - origin).total_seconds() * 1000)


def _master(track: Recording) -> bool:
    return track.role is LiveRole.host and track.source == "camera" and track.kind == "video"


def ordered(tracks: list[Recording]) -> list[Recording]:
    """Host first (its camera leading), then the others; each group in the order they started."""
    return sorted(tracks, key=lambda t: (t.role is not LiveRole.host, not _master(t), t.started_at, t.id or 0))


async def recorded_tracks(db: AsyncSession, session_id: int) -> list[Recording]:
    """The session's tracks not deleted; 404 ``no_recording`` when there are none."""
    tracks = await repo.tracks(db, session_id)
    if not tracks:
        raise NotFound(
            "这节课没有录像 / this session has no recording",
            code="no_recording",
            details={"session_id": session_id},
        )
    return tracks


def length_ms(tracks: list[Recording]) -> int:
    origin = min(t.started_at for t in tracks)
    return max(ms_between(origin, t.ended_at) for t in tracks)


async def _session_brief(db: AsyncSession, session: Session) -> ReplaySession:
    community = await db.get(Community, session.community_id)
    teacher = await db.get(Person, session.host_teacher_id)
    room = await db.get(Classroom, session.host_classroom_id)
    school = None if room is None else await db.get(School, room.school_id)
    assert session.id is not None
    assert community is not None
    assert teacher is not None
    assert room is not None
    assert school is not None
    assert school.id is not None
    return ReplaySession(
        id=session.id,
        title=session.title,
        subject=session.subject,
        grade=session.grade,
        kind=session.kind,
        status=session.status.value,
        community_id=session.community_id,
        community_name=community.name,
        host_teacher_id=session.host_teacher_id,
        host_teacher_name=teacher.name,
        host_classroom_id=session.host_classroom_id,
        host_classroom_name=room.name,
        host_school_id=school.id,
        host_school_name=school.name,
        start=session.start,
        end=session.end,
    )


def track_out(track: Recording, origin: datetime, master: bool, settings: Settings, now: datetime) -> TrackOut:
    assert track.id is not None
    url, expires_at = file_link(settings.secret_key, track.id, now, settings.recording_link_seconds)
    return TrackOut(
        id=track.id,
        seat_key=track.seat_key,
        name=track.name,
        role=track.role,
        source=track.source,
        kind=track.kind,
        master=master,
        offset_ms=ms_between(origin, track.started_at),
        duration_ms=track.duration_ms,
        started_at=track.started_at,
        width=track.width,
        height=track.height,
        bytes=track.bytes,
        url=url,
        expires_at=expires_at,
    )


async def timeline(db: AsyncSession, session_id: int, origin: datetime) -> list[TimelineEvent]:
    """The room's events and the attendance (observers' 巡课 left out: they stay unseen), in time order."""
    events: list[TimelineEvent] = [
        TimelineEvent(
            at=e.at,
            offset_ms=ms_between(origin, e.at),
            kind=e.kind.value,
            seat_key=e.seat_key,
            name=e.name,
            detail=e.detail,
        )
        for e in await repo.room_events(db, session_id)
    ]
    for a, room_name, person_name in await repo.attendance(db, session_id):
        if a.role is LiveRole.observer:
            continue
        events.append(
            TimelineEvent(
                at=a.at,
                offset_ms=ms_between(origin, a.at),
                kind=a.kind.value,
                name=room_name or person_name or "",
                detail=a.role.value,
            )
        )
    events.sort(key=lambda e: e.at)
    return events


async def comments(db: AsyncSession, session_id: int) -> list[CommentOut]:
    return [comment_out(c, name) for c, name in await repo.comments(db, session_id)]


def comment_out(comment: Any, author_name: str) -> CommentOut:
    return CommentOut(
        id=comment.id,
        offset_ms=comment.offset_ms,
        body=comment.body,
        author_id=comment.author_id,
        author_name=author_name,
        created_at=comment.created_at,
    )


async def replay(db: AsyncSession, session: Session, caller: Person, settings: Settings, now: datetime) -> ReplayOut:
    assert session.id is not None
    tracks = ordered(await recorded_tracks(db, session.id))
    origin = min(t.started_at for t in tracks)
    master_id = next((t.id for t in tracks if _master(t)), None)
    if master_id is None:  # no host camera: the first video (or the first track) leads
        master_id = next((t.id for t in tracks if t.kind == "video"), tracks[0].id)
    observations = []
    county = reads_county(caller)
    if county or caller.id == session.host_teacher_id:
        observations = [observation_out(o) for o in await repo.recording_observations(db, session.id)]
        if not county:
            for o in observations:
                o.researcher_id = None  # who observed stays unseen to the teacher (as on /observations)
    return ReplayOut(
        session=await _session_brief(db, session),
        origin=origin,
        duration_ms=length_ms(tracks),
        tracks=[track_out(t, origin, t.id == master_id, settings, now) for t in tracks],
        events=await timeline(db, session.id, origin),
        comments=await comments(db, session.id),
        observations=observations,
        featured=await repo.is_featured(db, session.id),
        views=await repo.view_count(db, session.id),
    )
