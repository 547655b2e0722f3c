"""The signaling protocol's messages (docs/signaling.md describes order, errors and reconnects).

Every message is a JSON object with a ``type``; the models below are the whole vocabulary.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from scheduling.enums import LiveRole

MAX_SDP = 64_000
MAX_CHAT = 500


class Msg(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Source(StrEnum):
    """What a published track shows (LiveKit's track sources; Galène's camera/screenshare labels)."""

    microphone = "microphone"
    camera = "camera"
    screen = "screen"  # courseware: getDisplayMedia, contentHint "detail", ≤ 5 fps
    document = "document"  # a second video input: the classroom's document camera (实物展台)
    thumb = "thumb"  # the camera again at a quarter of its size, ~150 kbit/s: the patrol wall's layer

    @property
    def kind(self) -> str:
        return "audio" if self is Source.microphone else "video"

    @property
    def shared(self) -> bool:
        """Shown to others only while its seat says it is sharing (``share``)."""
        return self in (Source.screen, Source.document)


MAX_MIDS = 16


# --- client → server -------------------------------------------------------------------------------


class Offer(Msg):
    type: Literal["offer"]
    sdp: str = Field(min_length=10, max_length=MAX_SDP)
    # transceiver mid → what the client sends on it; mids left out default by kind (microphone, camera)
    sources: dict[Annotated[str, Field(max_length=16)], Source] = Field(default_factory=dict, max_length=MAX_MIDS)


class Ping(Msg):
    type: Literal["ping"]


class Leave(Msg):
    type: Literal["leave"]


class Hand(Msg):
    type: Literal["hand"]
    raised: bool


class Chat(Msg):
    type: Literal["chat"]
    text: str = Field(min_length=1, max_length=MAX_CHAT)


class MuteRequest(Msg):
    """The host mutes or unmutes a seat's audio or video."""

    type: Literal["mute"]
    seat: str = Field(max_length=64)
    kind: Literal["audio", "video"] = "audio"
    muted: bool = True


class FloorRequest(Msg):
    """The host gives a receiving classroom the floor (all classrooms see and hear it) or takes it back."""

    type: Literal["floor"]
    seat: str | None = Field(default=None, max_length=64)


class Share(Msg):
    """Start or stop showing a screen or the document camera to the room (on a transceiver the offer
    labelled with that source; its track is replaced, never its m-line)."""

    type: Literal["share"]
    source: Literal[Source.screen, Source.document]
    active: bool


class Watch(Msg):
    """What to receive of the room. ``seats``: whose cameras at full quality, the others as thumbnails
    (``null``: all full — the default for everyone but observers, whose default is none: the patrol
    wall's tiles). ``video``: whose pictures at all (``null``: everyone's). ``audio``: whether to receive
    sound. A wall of 36 classes asks each room for its host's thumbnail alone, without sound."""

    type: Literal["watch"]
    seats: list[Annotated[str, Field(max_length=64)]] | None = Field(default=None, max_length=64)
    video: list[Annotated[str, Field(max_length=64)]] | None = Field(default=None, max_length=64)
    audio: bool = True


class RecordRequest(Msg):
    """The host of a research session (网络教研) starts or stops recording it; classes are recorded by
    their community's policy (docs/recording-policy.md)."""

    type: Literal["record"]
    active: bool


ClientMessage = Annotated[
    Offer | Ping | Leave | Hand | Chat | MuteRequest | FloorRequest | Share | Watch | RecordRequest,
    Field(discriminator="type"),
]
client_message = TypeAdapter(ClientMessage)
CLIENT_TYPES = frozenset(
    model.model_fields["type"].annotation.__args__[0]  # type: ignore[union-attr]
    for model in (Offer, Ping, Leave, Hand, Chat, MuteRequest, FloorRequest, Share, Watch, RecordRequest)
)


# --- server → client -------------------------------------------------------------------------------


class SeatState(StrEnum):
    connected = "connected"
    reconnecting = "reconnecting"


class SeatInfo(BaseModel):
    seat: str
    role: LiveRole
    name: str
    school: str | None
    classroom_id: int | None
    state: SeatState
    hand: bool = False
    muted_audio: bool = False
    muted_video: bool = False
    sharing: list[Source] = Field(default_factory=list)  # screen or document shown to the room now


class Welcome(Msg):
    type: Literal["welcome"] = "welcome"
    seat: str
    role: LiveRole
    session_id: int
    title: str
    seats: list[SeatInfo]  # observers never appear here
    floor: str | None
    reconnected: bool
    recording: bool = False  # the room is being recorded: every page shows 录制中


class ServerAnswer(Msg):
    type: Literal["answer"] = "answer"
    sdp: str
    # transceiver mid → the seat whose audio/video it carries
    tracks: dict[str, str]
    # transceiver mid → which of that seat's sources it carries (camera, thumb, screen, …)
    sources: dict[str, Source] = Field(default_factory=dict)


class Renegotiate(Msg):
    """The server has more to send: add this many receive-only transceivers and offer again.

    The client is always the offerer, so header-extension ids and m-line order stay the client's.
    """

    type: Literal["renegotiate"] = "renegotiate"
    audio: int
    video: int


class Seats(Msg):
    type: Literal["seats"] = "seats"
    seats: list[SeatInfo]
    floor: str | None
    recording: bool = False


class ChatOut(Msg):
    type: Literal["chat"] = "chat"
    seat: str
    name: str
    text: str
    at: str


class Pong(Msg):
    type: Literal["pong"] = "pong"


class ErrorCode(StrEnum):
    bad_message = "bad_message"
    unknown_type = "unknown_type"
    not_allowed = "not_allowed"
    bad_sdp = "bad_sdp"
    observer_cannot_publish = "observer_cannot_publish"
    rate_limited = "rate_limited"
    unknown_seat = "unknown_seat"
    bad_source = "bad_source"  # a mid labelled twice, a label on the wrong kind of m-line, an unknown mid
    floor_required = "floor_required"  # a receiving classroom shares only while it has the floor


class ErrorOut(Msg):
    type: Literal["error"] = "error"
    code: ErrorCode
    message: str


class Bye(Msg):
    type: Literal["bye"] = "bye"
    reason: str


class CloseCode:
    """WebSocket close codes (4000–4999 are the application's)."""

    normal = 1000
    going_away = 1001
    invalid_token = 4001
    session_not_live = 4003
    replaced = 4004  # the same seat connected again elsewhere
    flood = 4008
    liveness = 4009  # no message (not even a ping) within the liveness window
    session_ended = 4010
    moved = 4011  # this process does not hold the room (any more): join again for the current address
