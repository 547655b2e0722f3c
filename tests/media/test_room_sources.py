"""Sources in the room core: what each seat publishes (camera, thumbnail, screen, document camera),
who receives which, shares and the floor, the patrol wall's thumbnails, and bad labels refused."""

from __future__ import annotations

from media.room import Room
from media.room_actions import AcceptOffer, Action, Resync
from media.signaling import ErrorOut, FloorRequest, Offer, Seats, Share, Source, Watch
from tests.media.test_room import CHANGTU, DAIXI, HOST, RESEARCHER, T0, new_room, seated, sent_to

S = Source
# A browser's offer: microphone, camera, thumbnail, screen and document camera, mids 0–4.
FULL_SDP = "\r\n".join(
    [
        "v=0",
        *(
            line
            for mid, kind in enumerate(["audio", "video", "video", "video", "video"])
            for line in (f"m={kind} 9 UDP/TLS/RTP/SAVPF 96", f"a=mid:{mid}", "a=sendrecv")
        ),
    ]
)
LABELS = {"0": S.microphone, "1": S.camera, "2": S.thumb, "3": S.screen, "4": S.document}


def offer(sources: dict[str, Source] | None = None) -> Offer:
    return Offer(type="offer", sdp=FULL_SDP, sources=LABELS if sources is None else sources)


def errors(actions: list[Action], connection_id: str) -> list[str]:
    return [m.code for m in sent_to(actions, connection_id) if isinstance(m, ErrorOut)]


def labelled(room: Room, *connections: str) -> None:
    for connection_id in connections:
        assert any(isinstance(a, AcceptOffer) for a in room.receive(connection_id, offer(), T0))


def test_the_offer_labels_each_mid_and_unlabelled_mids_default_by_kind() -> None:
    room = new_room()
    (host,) = seated(room, HOST)
    labelled(room, host)
    assert [room.source_of(host, mid, kind) for mid, kind in [("0", "audio"), ("3", "video"), ("2", "video")]] == [
        S.microphone,
        S.screen,
        S.thumb,
    ]
    assert room.source_of(host, "9", "video") is S.camera  # a client of the first round labels nothing
    assert room.source_of(host, "9", "audio") is S.microphone


def test_bad_labels_are_refused_and_change_nothing() -> None:
    room = new_room()
    (host,) = seated(room, HOST)
    labelled(room, host)
    for bad in (
        {"1": S.screen, "3": S.screen},  # two tracks claim the screen
        {"0": S.camera},  # a camera on an audio m-line
        {"7": S.screen},  # no such m-line
    ):
        actions = room.receive(host, offer(bad), T0)
        assert errors(actions, host) == ["bad_source"]
        assert not any(isinstance(a, AcceptOffer) for a in actions)
    assert room.source_of(host, "3", "video") is S.screen  # the labels of the offer that was taken


def test_receivers_get_the_hosts_camera_and_its_share_only_while_shared() -> None:
    room = new_room()
    host, daixi = seated(room, HOST, DAIXI)
    labelled(room, host, daixi)
    assert room.subscriptions_for(daixi) == [(host, S.microphone), (host, S.camera)]
    actions = room.receive(host, Share(type="share", source=S.screen, active=True), T0)
    assert Resync() in actions
    seats = next(m for m in sent_to(actions, daixi) if isinstance(m, Seats))
    assert seats.seats[0].sharing == [S.screen]  # everyone sees 正在共享屏幕
    assert (host, S.screen) in room.subscriptions_for(daixi)
    room.receive(host, Share(type="share", source=S.screen, active=False), T0)
    assert (host, S.screen) not in room.subscriptions_for(daixi)


def test_a_classroom_shares_its_document_camera_only_with_the_floor() -> None:
    room = new_room()
    host, daixi, changtu = seated(room, HOST, DAIXI, CHANGTU)
    labelled(room, host, daixi, changtu)
    refused = room.receive(daixi, Share(type="share", source=S.document, active=True), T0)
    assert errors(refused, daixi) == ["floor_required"]
    assert room.seat_infos()[1].sharing == []
    room.receive(host, FloorRequest(type="floor", seat=room.public_id_of(daixi)), T0)
    assert errors(room.receive(daixi, Share(type="share", source=S.document, active=True), T0), daixi) == []
    assert (daixi, S.document) in room.subscriptions_for(host)
    assert (daixi, S.document) in room.subscriptions_for(changtu)  # the 展台 goes to every classroom
    room.receive(host, FloorRequest(type="floor", seat=None), T0)  # the floor taken back ends the share
    assert room.seat_infos()[1].sharing == []
    assert (daixi, S.document) not in room.subscriptions_for(host)


def test_a_share_needs_a_track_labelled_for_it_and_observers_never_share() -> None:
    room = new_room()
    host, observer = seated(room, HOST, RESEARCHER)
    room.receive(host, offer({"0": S.microphone, "1": S.camera}), T0)
    assert errors(room.receive(host, Share(type="share", source=S.screen, active=True), T0), host) == ["bad_source"]
    assert errors(room.receive(observer, Share(type="share", source=S.screen, active=True), T0), observer) == [
        "not_allowed"
    ]


def test_the_patrol_wall_gets_thumbnails_until_it_watches_one_seat() -> None:
    room = new_room()
    host, daixi, observer = seated(room, HOST, DAIXI, RESEARCHER)
    labelled(room, host, daixi)
    assert set(room.subscriptions_for(observer)) >= {(host, S.thumb), (daixi, S.thumb)}
    room.receive(observer, Watch(type="watch", seats=[room.public_id_of(host) or ""]), T0)
    assert (host, S.camera) in room.subscriptions_for(observer)
    assert (daixi, S.thumb) in room.subscriptions_for(observer)
    room.receive(observer, Watch(type="watch", seats=None), T0)
    assert {s for _, s in room.subscriptions_for(observer)} == {S.microphone, S.camera}
    assert all(s is not S.thumb for _, s in room.subscriptions_for(host))  # teachers see full cameras
    # A tile of a 36-class wall: the host's thumbnail alone, no sound, not even while it shares a screen.
    room.receive(host, Share(type="share", source=S.screen, active=True), T0)
    room.receive(observer, Watch(type="watch", seats=[], video=[room.public_id_of(host) or ""], audio=False), T0)
    assert room.subscriptions_for(observer) == [(host, S.thumb)]
    room.receive(observer, Watch(type="watch", seats=None), T0)  # watched: the share comes too
    assert (host, S.screen) in room.subscriptions_for(observer)


def test_a_constrained_link_gets_thumbnails_but_keeps_the_screen_at_full_quality() -> None:
    room = new_room()
    host, daixi = seated(room, HOST, DAIXI)
    labelled(room, host, daixi)
    room.receive(host, Share(type="share", source=S.screen, active=True), T0)
    assert room.bandwidth_constrained(daixi, True) == [Resync()]
    assert set(room.subscriptions_for(daixi)) == {(host, S.microphone), (host, S.thumb), (host, S.screen)}
    assert room.bandwidth_constrained(daixi, True) == []  # no change, nothing to do
    room.bandwidth_constrained(daixi, False)
    assert (host, S.camera) in room.subscriptions_for(daixi)


def test_a_reconnect_forgets_the_old_connections_labels_and_shares() -> None:
    room = new_room()
    host, daixi = seated(room, HOST, DAIXI)
    labelled(room, host)
    room.receive(host, Share(type="share", source=S.screen, active=True), T0)
    room.dropped(host, T0)
    room.join(HOST, "h2", T0)
    assert room.seat_infos()[0].sharing == []
    assert room.source_of("h2", "3", "video") is S.camera
