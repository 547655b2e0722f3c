"""The recordings API's shapes (what the /replay page and the 研修资源库 read). Times are local (+08:00);
every ``offset_ms`` counts milliseconds from the replay's ``origin`` (the first track's start)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from scheduling.enums import LiveRole, SessionKind
from server.ids import Body, Int
from server.records.router import MAX_OFFSET_MS, ObservationOut
from server.timefmt import LocalDateTime


class ReplaySession(BaseModel):
    id: int
    title: str
    subject: str
    grade: int | None
    kind: SessionKind
    status: str
    community_id: int
    community_name: str
    host_teacher_id: int
    host_teacher_name: str
    host_classroom_id: int
    host_classroom_name: str
    host_school_id: int
    host_school_name: str
    start: LocalDateTime
    end: LocalDateTime


class TrackOut(BaseModel):
    """One recorded file. ``url`` is a signed link (no token needed: give it to a <video>/<audio> element)
    valid until ``expires_at``; fetch the replay again for fresh links. ``master``: the host's camera,
    the clock the other tracks follow (play each at ``offset_ms`` on the master's timeline)."""

    id: int
    seat_key: str
    name: str
    role: LiveRole
    source: str  # camera | microphone | screen | document | thumb
    kind: str  # video | audio
    master: bool
    offset_ms: int
    duration_ms: int
    started_at: LocalDateTime
    width: int | None
    height: int | None
    bytes: int
    url: str
    expires_at: LocalDateTime


class TimelineEvent(BaseModel):
    """A mark on the timeline: the room's own events (floor_given, hand_raised, share_started,
    recording_failed, …) and attendance (join, leave, drop, reconnect: ``name`` is the classroom, or the
    person when no classroom; ``detail`` their role). ``offset_ms`` is negative before the recording."""

    at: LocalDateTime
    offset_ms: int
    kind: str
    seat_key: str = ""
    name: str
    detail: str


class CommentIn(Body):
    offset_ms: Int = Field(ge=0, le=MAX_OFFSET_MS)
    body: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class CommentOut(BaseModel):
    id: int
    offset_ms: int
    body: str
    author_id: int
    author_name: str
    created_at: LocalDateTime


class ReplayOut(BaseModel):
    """Everything the replay page needs. ``observations``: researchers' notes made on the recording
    (``offset_ms`` set), for the county's readers and the session's host teacher (who sees no
    ``researcher_id``); others get an empty list."""

    session: ReplaySession
    origin: LocalDateTime
    duration_ms: int  # from origin to the last track's end
    tracks: list[TrackOut]
    events: list[TimelineEvent]
    comments: list[CommentOut]
    observations: list[ObservationOut]
    featured: bool
    views: int


class ViewsOut(BaseModel):
    views: int
    counted: bool  # false: this person's view within the last 30 minutes was counted already


class FeaturedOut(BaseModel):
    session_id: int
    featured: bool
    marked_by: int | None = None
    at: LocalDateTime | None = None


class LibraryItem(BaseModel):
    session_id: int
    title: str
    subject: str
    grade: int | None
    kind: SessionKind
    community_id: int
    community_name: str
    teacher_name: str
    school_name: str
    start: LocalDateTime
    duration_ms: int
    tracks: int
    views: int
    featured: bool


class ProblemOut(BaseModel):
    id: int
    session_id: int
    title: str
    at: LocalDateTime
    seat_key: str
    name: str
    detail: str


class CommunityViewsOut(BaseModel):
    """点播: views of a community's recorded lessons of one year."""

    community_id: int
    year: int
    views: int
