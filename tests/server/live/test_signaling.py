"""The signaling protocol at the wire: seats, reconnect grace, refusals and hostile input."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import websockets
from sqlmodel import col, select

from server.jobs.lifecycle import run_sweep
from server.live import grants
from server.models import AttendanceEvent
from tests.server.live.conftest import ROOM_DAIXI, LiveServer

pytestmark = pytest.mark.media


async def join(server: LiveServer, login: str, session_id: int, role: str, classroom: int | None = None) -> dict:
    async with httpx.AsyncClient(base_url=server.url) as client:
        resp = await client.post(
            f"/api/v1/sessions/{session_id}/join",
            json={"role": role, "classroom_id": classroom},
            headers={"Authorization": f"Bearer {await server.token(login)}"},
        )
    assert resp.status_code == 200, resp.text
    return resp.json()


async def connect(joined: dict):
    return await websockets.connect(f"{joined['signaling_url']}?token={joined['token']}")


async def next_of(ws, kind: str, within: float = 5.0) -> dict:
    async def wait() -> dict:
        while True:
            msg = json.loads(await ws.recv())
            if msg["type"] == kind:
                return msg

    return await asyncio.wait_for(wait(), within)


async def test_a_dropped_classroom_keeps_its_seat_and_others_see_reconnecting(live_server: LiveServer) -> None:
    session_id = await live_server.create_session()
    host = await connect(await join(live_server, "t-gaoting", session_id, "host"))
    await next_of(host, "welcome")
    first = await connect(await join(live_server, "dev-daixi-1", session_id, "receiver", ROOM_DAIXI))
    seat = (await next_of(first, "welcome"))["seat"]
    first.transport.abort()  # the island link goes down: no close frame, no goodbye
    seen = await next_of(host, "seats")
    while not any(s["seat"] == seat and s["state"] == "reconnecting" for s in seen["seats"]):
        seen = await next_of(host, "seats")
    again = await connect(await join(live_server, "dev-daixi-1", session_id, "receiver", ROOM_DAIXI))
    welcome = await next_of(again, "welcome")
    assert welcome["seat"] == seat
    assert welcome["reconnected"] is True
    seen = await next_of(host, "seats")
    assert [s["state"] for s in seen["seats"] if s["seat"] == seat] == ["connected"]
    await again.send(json.dumps({"type": "leave"}))
    await next_of(again, "bye")  # the leave was committed before this acknowledgement: no wait needed
    await host.close()
    async with live_server.app.state.sessionmaker() as db:  # type: ignore[attr-defined]
        events = (
            await db.exec(
                select(AttendanceEvent)
                .where(AttendanceEvent.session_id == session_id, AttendanceEvent.role == "receiver")
                .order_by(col(AttendanceEvent.id))
            )
        ).all()
    assert [e.kind.value for e in events] == ["join", "drop", "reconnect", "leave"]


async def test_beyond_the_grace_period_the_seat_is_given_up(live_server: LiveServer) -> None:
    session_id = await live_server.create_session()
    host = await connect(await join(live_server, "t-gaoting", session_id, "host"))
    await next_of(host, "welcome")
    first = await connect(await join(live_server, "dev-daixi-1", session_id, "receiver", ROOM_DAIXI))
    seat = (await next_of(first, "welcome"))["seat"]
    first.transport.abort()
    deadline = asyncio.get_running_loop().time() + 8
    while asyncio.get_running_loop().time() < deadline:
        seen = await next_of(host, "seats", within=8)
        if not any(s["seat"] == seat for s in seen["seats"]):
            break
    else:
        raise AssertionError("the seat was never given up")
    await host.close()


async def test_refusals_close_with_clear_codes(live_server: LiveServer) -> None:
    session_id = await live_server.create_session(receiver_classroom_ids=[ROOM_DAIXI])
    other_id = await live_server.create_session(
        host_login="t-gaoting-2",
        start=(datetime.now(UTC) + timedelta(minutes=2)).isoformat(),
        end=(datetime.now(UTC) + timedelta(minutes=30)).isoformat(),
        receiver_classroom_ids=[7],
        host_classroom_id=2,
    )
    joined = await join(live_server, "dev-daixi-1", session_id, "receiver", ROOM_DAIXI)
    base = joined["signaling_url"]
    # A forged token, an expired one.
    for token in (
        "forged",
        grants.issue(
            grants.read(joined["token"], live_server.settings),
            live_server.settings,
            now=datetime.now(UTC) - timedelta(hours=1),
        ),
    ):
        ws = await websockets.connect(f"{base}?token={token}")
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
        assert closed.value.rcvd.code == 4001
    # A token is for one session only: the join API refuses a classroom that is not in that session.
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        resp = await client.post(
            f"/api/v1/sessions/{other_id}/join",
            json={"role": "receiver", "classroom_id": 4},
            headers={"Authorization": f"Bearer {await live_server.token('dev-daixi-1')}"},
        )
        assert resp.status_code == 422
        assert resp.json()["error"]["code"] == "not_a_receiver"
        resp = await client.post(
            f"/api/v1/sessions/{session_id}/join",
            json={"role": "observer"},
            headers={"Authorization": f"Bearer {await live_server.token('t-qushan')}"},
        )
        assert resp.status_code == 403
        resp = await client.post(
            f"/api/v1/sessions/{session_id}/join",
            json={"role": "host"},
            headers={"Authorization": f"Bearer {await live_server.token('t-daixi')}"},
        )
        assert resp.status_code == 403


async def test_hostile_messages_get_errors_and_the_room_stays_up(live_server: LiveServer) -> None:
    session_id = await live_server.create_session()
    host = await connect(await join(live_server, "t-gaoting", session_id, "host"))
    await next_of(host, "welcome")
    ws = await connect(await join(live_server, "dev-daixi-1", session_id, "receiver", ROOM_DAIXI))
    await next_of(ws, "welcome")
    await ws.send(json.dumps({"type": "teleport"}))
    assert (await next_of(ws, "error"))["code"] == "unknown_type"
    await ws.send("{not json")
    assert (await next_of(ws, "error"))["code"] == "bad_message"
    await ws.send(json.dumps({"type": "offer", "sdp": "v=0\r\nthis is not sdp at all\r\n" * 3}))
    assert (await next_of(ws, "error"))["code"] == "bad_sdp"
    await ws.send(json.dumps({"type": "offer", "sdp": "x" * 70_000}))
    assert (await next_of(ws, "error"))["code"] == "bad_message"
    await ws.send(json.dumps({"type": "mute", "seat": "someone"}))
    assert (await next_of(ws, "error"))["code"] == "not_allowed"
    # Sources: a label not in the list, two tracks claiming the screen, a share without the floor.
    two_video = "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\n"
    await ws.send(json.dumps({"type": "offer", "sdp": two_video, "sources": {"0": "hologram"}}))
    assert (await next_of(ws, "error"))["code"] == "bad_message"
    await ws.send(json.dumps({"type": "offer", "sdp": two_video, "sources": {"0": "screen", "1": "screen"}}))
    refused = await next_of(ws, "error")
    assert (refused["code"], "screen" in refused["message"]) == ("bad_source", True)
    await ws.send(json.dumps({"type": "share", "source": "document", "active": True}))
    assert (await next_of(ws, "error"))["code"] == "floor_required"
    await ws.send(json.dumps({"type": "share", "source": "camera", "active": True}))
    assert (await next_of(ws, "error"))["code"] == "bad_message"  # only screen and document are shared
    for _ in range(200):
        await ws.send(json.dumps({"type": "ping"}))

    async def drain() -> None:
        while True:
            await asyncio.wait_for(ws.recv(), 5)

    with pytest.raises(websockets.ConnectionClosed) as closed:
        await drain()
    assert closed.value.rcvd.code == 4008
    # The host is still seated and answered.
    await host.send(json.dumps({"type": "ping"}))
    assert (await next_of(host, "pong"))["type"] == "pong"
    await host.close()


async def test_a_half_open_socket_does_not_lock_its_classroom_out(live_server: LiveServer) -> None:
    session_id = await live_server.create_session()
    host = await connect(await join(live_server, "t-gaoting", session_id, "host"))
    await next_of(host, "welcome")
    stale = await connect(await join(live_server, "dev-daixi-1", session_id, "receiver", ROOM_DAIXI))
    seat = (await next_of(stale, "welcome"))["seat"]
    # The island link is half-open: the old socket neither reads nor closes while the terminal rejoins.
    again = await connect(await join(live_server, "dev-daixi-1", session_id, "receiver", ROOM_DAIXI))
    welcome = await next_of(again, "welcome")
    assert (welcome["seat"], welcome["reconnected"]) == (seat, True)
    assert (await next_of(stale, "bye"))["reason"] == "replaced"
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await asyncio.wait_for(stale.recv(), 5)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4004
    await again.send(json.dumps({"type": "ping"}))
    await next_of(again, "pong")
    await again.send(json.dumps({"type": "leave"}))
    await next_of(again, "bye")  # the leave was committed before this acknowledgement: no wait needed
    await host.close()
    async with live_server.app.state.sessionmaker() as db:  # type: ignore[attr-defined]
        events = (
            await db.exec(
                select(AttendanceEvent)
                .where(AttendanceEvent.session_id == session_id, AttendanceEvent.role == "receiver")
                .order_by(col(AttendanceEvent.id))
            )
        ).all()
    # The replaced connection's interval was closed when the newer one came: nothing stays open.
    assert [e.kind.value for e in events] == ["join", "drop", "reconnect", "leave"]
    assert len({e.connection_id for e in events}) == 2


async def test_a_called_off_session_closes_its_room_with_session_ended(live_server: LiveServer) -> None:
    session_id = await live_server.create_session()
    host = await connect(await join(live_server, "t-gaoting", session_id, "host"))
    await next_of(host, "welcome")
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        resp = await client.post(
            f"/api/v1/sessions/{session_id}/cancel",
            json={"reason": "台风停课"},
            headers={"Authorization": f"Bearer {await live_server.token('scheduler')}"},
        )
    assert resp.status_code == 200, resp.text
    await run_sweep(live_server.app.state.jobs)  # type: ignore[attr-defined]
    assert (await next_of(host, "bye"))["reason"] == "session_ended"
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await asyncio.wait_for(host.recv(), 5)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4010
    assert session_id not in live_server.app.state.rooms.rooms  # type: ignore[attr-defined]
    async with live_server.app.state.sessionmaker() as db:  # type: ignore[attr-defined]
        kinds = (
            await db.exec(
                select(AttendanceEvent.kind)
                .where(AttendanceEvent.session_id == session_id)
                .order_by(col(AttendanceEvent.id))
            )
        ).all()
    assert [k.value for k in kinds] == ["join", "leave"]


async def test_a_join_token_opens_one_connection_only(live_server: LiveServer) -> None:
    session_id = await live_server.create_session()
    joined = await join(live_server, "dev-daixi-1", session_id, "receiver", ROOM_DAIXI)
    first = await connect(joined)
    await next_of(first, "welcome")
    again = await connect(joined)  # the same token: a copied link, a replay
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await asyncio.wait_for(again.recv(), 5)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4001
    assert closed.value.rcvd.reason == "token_already_used"
    await first.send(json.dumps({"type": "ping"}))
    await next_of(first, "pong")  # the first connection is untouched
    async with live_server.app.state.sessionmaker() as db:  # type: ignore[attr-defined]
        kinds = (await db.exec(select(AttendanceEvent.kind).where(AttendanceEvent.session_id == session_id))).all()
    assert [k.value for k in kinds] == ["join"]  # the refused one wrote nothing


async def test_a_binary_frame_gets_an_error_and_the_seat_stays(live_server: LiveServer) -> None:
    session_id = await live_server.create_session()
    ws = await connect(await join(live_server, "t-gaoting", session_id, "host"))
    await next_of(ws, "welcome")
    await ws.send(b"\x00\x01binary")
    error = await next_of(ws, "error")
    assert error["code"] == "bad_message"
    assert "二进制" in error["message"]
    await ws.send(json.dumps({"type": "ping"}))
    await next_of(ws, "pong")


async def test_a_client_that_never_pings_is_closed_with_4009(live_server: LiveServer) -> None:
    live_server.settings.signaling_liveness_seconds = 1.5
    session_id = await live_server.create_session()
    ws = await connect(await join(live_server, "t-gaoting", session_id, "host"))
    await next_of(ws, "welcome")
    assert await close_code(ws) == 4009


async def close_code(ws, within: float = 10.0) -> int | None:  # type: ignore[no-untyped-def]
    """Read until the server closes; its close code."""

    async def drain() -> int | None:
        try:
            while True:
                await ws.recv()
        except websockets.ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None

    return await asyncio.wait_for(drain(), within)
