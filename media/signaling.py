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


# --- client → server -------------------------------------------------------------------------------


class Offer(Msg):
    type: Literal["offer"]
    sdp: str = Field(min_length=10, max_length=MAX_SDP)


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


ClientMessage = Annotated[Offer | Ping | Leave | Hand | Chat | MuteRequest | FloorRequest, Field(discriminator="type")]
client_message = TypeAdapter(ClientMessage)


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


class Welcome(Msg):
    type: Literal["welcome"] = "welcome"
    seat: str
    role: LiveRole
    session_id: int
    title: str
    seats: list[SeatInfo]  # observers never appear here
    floor: str | None
    reconnected: bool


class ServerAnswer(Msg):
    type: Literal["answer"] = "answer"
    sdp: str
    # transceiver mid → the seat whose audio/video it carries
    tracks: dict[str, str]


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
