"""Janus 1.1.2 VideoRoom as the relay benchmark's baseline: configured, started and driven over its HTTP API."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from relay_support import BITRATE, JANUS_ROOM, SIZE, free_port, ingest_rate, own_address, window_of

from media.client import ClientPeer

JANUS_CONFIG = """general: {{ configs_folder = "{dir}" plugins_folder = "{lib}/plugins"
  transports_folder = "{lib}/transports" events_folder = "{lib}/events" loggers_folder = "{lib}/loggers"
  session_timeout = 0 debug_level = 3 }}
nat: {{ ice_enforce_list = "{address}" }}
media: {{ rtp_port_range = "30000-40000" }}
plugins: {{ disable = "{plugins}" }}
transports: {{ disable = "{transports}" }}
events: {{ broadcast = false }}
"""
JANUS_TRANSPORTS_OFF = ",".join(f"libjanus_{t}.so" for t in "websockets pfunix mqtt nanomsg rabbitmq".split())
JANUS_PLUGINS_OFF = ",".join(
    f"libjanus_{p}.so"
    for p in "audiobridge duktape echotest lua nosip recordplay sip streaming textroom videocall voicemail".split()
)


class JanusClient:
    """Just enough of Janus's HTTP API for one VideoRoom publisher or subscriber."""

    def __init__(self, url: str) -> None:
        self.http = httpx.AsyncClient(base_url=url, timeout=30)
        self.path = ""

    async def call(self, body: dict[str, Any], path: str | None = None) -> dict[str, Any]:
        resp = await self.http.post(
            path if path is not None else self.path, json={**body, "transaction": uuid.uuid4().hex}
        )
        data: dict[str, Any] = resp.json()
        if data.get("janus") == "error":
            raise RuntimeError(f"janus: {data}")
        return data

    async def open(self) -> None:
        session = (await self.call({"janus": "create"}, "/janus"))["data"]["id"]
        self.session = f"/janus/{session}"
        handle = (await self.call({"janus": "attach", "plugin": "janus.plugin.videoroom"}, self.session))["data"]["id"]
        self.path = f"{self.session}/{handle}"

    async def message(self, body: dict[str, Any], jsep: dict[str, str] | None = None) -> dict[str, Any]:
        """A plugin request; asynchronous requests are answered by an event, which we wait for."""
        data = await self.call({"janus": "message", "body": body, **({"jsep": jsep} if jsep else {})})
        if data.get("janus") != "ack":
            return data
        while True:
            events = (await self.http.get(self.session, params={"maxev": 1})).json()
            for event in events if isinstance(events, list) else [events]:
                if event.get("janus") == "event":
                    return event

    async def close(self) -> None:
        await self.http.aclose()


async def janus_subscriber(url: str, feed: int, seconds: float, out: list[ClientPeer]) -> None:
    janus, peer = JanusClient(url), ClientPeer([], publish=False)
    out.append(peer)
    try:
        await janus.open()
        event = await janus.message(
            {"request": "join", "room": JANUS_ROOM, "ptype": "subscriber", "streams": [{"feed": feed}]}
        )
        answer = await peer.answer(event["jsep"]["sdp"])
        await janus.message({"request": "start"}, {"type": "answer", "sdp": answer})
        await asyncio.sleep(seconds)
    finally:
        await peer.close()
        await janus.close()


def install_janus() -> None:
    """Debian's ``janus`` (1.1.2), installed with apt when missing; raises with apt's words if it can't be."""
    if shutil.which("janus") is None:
        done = subprocess.run(["apt-get", "install", "-y", "janus"], capture_output=True, text=True)
        if done.returncode != 0 or shutil.which("janus") is None:
            raise RuntimeError(f"apt-get install janus failed: {(done.stderr or done.stdout).strip()[-300:]}")


@contextlib.asynccontextmanager
async def janus_running() -> AsyncIterator[tuple[subprocess.Popen[bytes], str]]:
    """Janus with the HTTP transport and the VideoRoom alone, on this machine's own address: its process
    and its HTTP API's URL."""
    install_janus()
    lib = "/usr/lib/x86_64-linux-gnu/janus"
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        config = {
            "dir": tmp,
            "lib": lib,
            "address": own_address(),
            "plugins": JANUS_PLUGINS_OFF,
            "transports": JANUS_TRANSPORTS_OFF,
        }
        files = {
            "janus.jcfg": JANUS_CONFIG.format(**config),
            "janus.transport.http.jcfg": f'general: {{ base_path = "/janus" http = true port = {port} '
            'ip = "127.0.0.1" }\nadmin: { admin_http = false }\n',
            "janus.plugin.videoroom.jcfg": "general: { }\n",
        }
        for name, text in files.items():
            Path(tmp, name).write_text(text)  # noqa: ASYNC240  # before anything runs
        proc = subprocess.Popen(
            ["janus", "-F", tmp, "-C", f"{tmp}/janus.jcfg"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(100):
                try:
                    httpx.get(f"{url}/janus/info", timeout=1)
                    break
                except httpx.HTTPError:
                    await asyncio.sleep(0.1)
            yield proc, url
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


async def measure_janus(sizes: list[int], window: float) -> dict[str, Any]:
    async with janus_running() as (proc, url):
        publisher, janus = ClientPeer([], size=SIZE, texture=True, bitrate=BITRATE), JanusClient(url)
        await janus.open()
        await janus.message({"request": "create", "room": JANUS_ROOM, "publishers": 4, "bitrate": 1_500_000})
        event = await janus.message(
            {"request": "joinandconfigure", "room": JANUS_ROOM, "ptype": "publisher", "display": "bench"},
            {"type": "offer", "sdp": await publisher.offer()},
        )
        await publisher.accept_answer(event["jsep"]["sdp"])
        feed = event["plugindata"]["data"]["id"]
        await asyncio.sleep(3)
        ingest = await ingest_rate(proc.pid)
        rows = []
        for n in sizes:
            peers: list[ClientPeer] = []
            tasks = [asyncio.ensure_future(janus_subscriber(url, feed, window + 5, peers)) for _ in range(n)]
            await asyncio.sleep(3)
            rows.append(await window_of(proc.pid, peers, publisher, n, ingest, window))
            await asyncio.gather(*tasks)
            await asyncio.sleep(1.0)
        await publisher.close()
        await janus.close()
        return {"rows": rows}


# --- the direct path, for the latency baseline ---------------------------------------------------------
