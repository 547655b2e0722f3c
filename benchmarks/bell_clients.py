"""One process of morning-bell clients; benchmarks/bell.py starts several, so that no client process is
what limits the bell. Commands come as JSON lines on stdin, answers go out as JSON lines on stdout:

- ``{"cmd": "join", "url", "go_at", "deadline", "clients": [{"login", "token", "session_id", "role",
  "classroom_id", "publish"}]}``: at ``go_at`` (epoch seconds) every client asks to join at once — the
  join request, the signaling socket, its offer — as headless classrooms (clients/bot.py). Once each has
  its first complete video frame (a receiver) or its media connected (a host), or ``deadline`` seconds
  have passed, it answers ``{"event": "ready", "clients": [{"login", "role", "requested_at", "join_ms",
  "first_ms", "ready_at", "error"}]}``; the clients stay (receiving, publishing) until
- ``{"cmd": "leave"}``: every client leaves; answers ``{"event": "left"}``.

``first_ms`` is from the join request to the first complete video frame (receivers only), on this
process's clock; ``ready_at`` is the epoch time each became ready.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo

import asyncio
import contextlib
import json
import time
from typing import Any

import httpx

from clients.bot import Bot, join


class Client:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.host = spec["role"] == "host"
        self.bot = Bot(spec["role"], publish=bool(spec["publish"]))
        self.stop = asyncio.Event()
        self.requested_at = 0.0
        self.started = 0.0
        self.join_ms: float | None = None
        self.ready: float | None = None  # monotonic
        self.connected: float | None = None  # monotonic: ICE and DTLS done
        self.error: str | None = None
        self.task: asyncio.Future[None] | None = None

    async def run(self, http: httpx.AsyncClient) -> None:
        self.requested_at, self.started = time.time(), time.monotonic()
        self.bot.started = self.started
        s = self.spec
        try:
            joined = await join(http, s["token"], s["session_id"], s["role"], s["classroom_id"])
            self.join_ms = (time.monotonic() - self.started) * 1000
            report = await self.bot.run(
                joined["signaling_url"], joined["token"], joined["ice_servers"], 3600, self.stop
            )
            if report.errors and self.error is None:
                self.error = "; ".join(report.errors)
        except Exception as exc:  # a refused join, a socket that closed, a timeout: a failed join
            self.error = f"{type(exc).__name__}: {exc}"[:200]

    def check(self) -> bool:
        """Whether this client is settled: ready, or failed."""
        if self.ready is not None or self.error is not None:
            return True
        peer = self.bot.peer
        if peer is not None:
            if self.connected is None and peer.connection_state == "connected":
                self.connected = time.monotonic()
            if self.host:
                self.ready = self.connected
            else:
                firsts = [r.first_at for r in peer.received if r.kind == "video" and r.first_at is not None]
                if firsts:
                    self.ready = min(firsts)
        if self.task is not None and self.task.done() and self.ready is None:
            self.error = self.error or "ended before it was ready"
        return self.ready is not None or self.error is not None

    def steps(self) -> dict[str, float]:
        """Milliseconds from the join request to each step this client saw (the first of each kind)."""
        out: dict[str, float] = {}
        if self.join_ms is not None:
            out["join answered"] = self.join_ms
        answers = 0
        for message in self.bot.report.messages:
            kind = message.get("type")
            if kind == "answer":
                answers += 1
                kind = "answer" if answers == 1 else "answer 2"
            if kind in ("welcome", "answer", "renegotiate", "answer 2"):
                out.setdefault(str(kind), float(message["_ms"]))
        if self.connected is not None:
            out["media connected"] = (self.connected - self.started) * 1000
        return out

    def result(self) -> dict[str, Any]:
        ready = self.ready
        return {
            "steps": self.steps(),
            "login": self.spec["login"],
            "role": self.spec["role"],
            "requested_at": self.requested_at,
            "join_ms": self.join_ms,
            "first_ms": None if ready is None or self.host else (ready - self.started) * 1000,
            "ready_at": None if ready is None else self.requested_at + (ready - self.started),
            "error": self.error if ready is None else None,
        }


def emit(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


async def storm(command: dict[str, Any], http: httpx.AsyncClient) -> list[Client]:
    clients = [Client(spec) for spec in command["clients"]]
    await asyncio.sleep(max(0.0, command["go_at"] - time.time()))
    for client in clients:
        client.task = asyncio.ensure_future(client.run(http))
    deadline = time.monotonic() + command["deadline"]
    while time.monotonic() < deadline:
        settled = [c.check() for c in clients]  # every one checked: check() notes when each became ready
        if all(settled):
            break
        await asyncio.sleep(0.01)
    for client in clients:
        if not client.check():
            client.error = f"not ready within {command['deadline']} s"
    emit({"event": "ready", "clients": [c.result() for c in clients]})
    return clients


async def leave(clients: list[Client]) -> None:
    for client in clients:
        client.stop.set()
    tasks = [c.task for c in clients if c.task is not None]
    if tasks:
        _, pending = await asyncio.wait(tasks, timeout=10)
        for task in pending:
            task.cancel()
    emit({"event": "left"})


async def main() -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    clients: list[Client] = []
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=0)
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:
        emit({"event": "started"})
        while line := await reader.readline():
            command = json.loads(line)
            if command["cmd"] == "join":
                http.base_url = httpx.URL(command["url"])
                clients += await storm(command, http)
            elif command["cmd"] == "leave":
                await leave(clients)
                clients = []
        with contextlib.suppress(Exception):
            await leave(clients)


if __name__ == "__main__":
    asyncio.run(main())
