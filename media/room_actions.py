"""What a live room decides, as plain values: who a join token seats (``Grant``) and the actions the
room core (``media/room.py``) hands ``media/live_room.py`` to carry out, in order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel

from scheduling.enums import AttendanceEventKind, LiveRole, RoomEventKind
from scheduling.session_states import Presence

MediaKind = str  # "audio" | "video"


@dataclass(frozen=True)
class Grant:
    """What a join token allows: one session, one person, one role, one classroom."""

    session_id: int
    person_id: int
    role: LiveRole
    classroom_id: int | None
    name: str
    school: str | None
    school_id: int | None

    @property
    def seat_key(self) -> str:
        """Who holds the seat: a classroom for classroom roles, the person otherwise."""
        if self.role in (LiveRole.host, LiveRole.receiver) and self.classroom_id is not None:
            return f"c{self.classroom_id}-{self.role.value}"
        return f"p{self.person_id}-{self.role.value}"


# --- what the room asks for ------------------------------------------------------------------------


@dataclass(frozen=True)
class Send:
    connection_id: str
    message: BaseModel


@dataclass(frozen=True)
class Close:
    """Close that connection's socket with an application close code (docs/signaling.md)."""

    connection_id: str
    code: int
    reason: str


@dataclass(frozen=True)
class Record:
    """An attendance event: committed before any action after it is carried out."""

    grant: Grant
    kind: AttendanceEventKind
    connection_id: str
    at: datetime


@dataclass(frozen=True)
class PresenceChanged:
    presence: Presence


@dataclass(frozen=True)
class Resync:
    """Bring every connection's subscriptions in line with ``Room.sources_for`` (but the one named)."""

    except_connection: str | None = None


@dataclass(frozen=True)
class AcceptOffer:
    connection_id: str
    sdp: str
    accept_media: bool


@dataclass(frozen=True)
class Release:
    """Close the connection's media (its publications stop for everyone)."""

    connection_id: str


@dataclass(frozen=True)
class StartGrace:
    """Call ``Room.expire(connection_id)`` after ``seconds`` unless the seat came back."""

    connection_id: str
    seconds: float


@dataclass(frozen=True)
class Mute:
    connection_id: str
    kind: MediaKind
    muted: bool


@dataclass(frozen=True)
class Mark:
    """A moment of the room worth finding again on its recording's timeline (floor, hands, shares,
    recording started or stopped)."""

    kind: RoomEventKind
    at: datetime
    seat_key: str = ""
    name: str = ""
    detail: str = ""


@dataclass(frozen=True)
class SetRecording:
    """Record every published track but thumbnails from now on (new ones as they come), or stop and
    finish the files."""

    active: bool


Action = (
    Send | Close | Record | PresenceChanged | Resync | AcceptOffer | Release | StartGrace | Mute | Mark | SetRecording
)
