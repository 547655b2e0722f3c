"""The deployment of deploy/ on loopback: nginx (Debian's) with the site of deploy/nginx/haiqiao.conf and a
self-signed certificate, in front of two app processes and two media workers started from the systemd
units' own ExecStart lines with deploy/haiqiao.env, sharing the database and Redis. A headless Chromium
holds a class through nginx's TLS port alone; its signaling goes through nginx to the worker holding the
room, at that worker's path."""

from __future__ import annotations

import asyncio
import os
import re
import ssl
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright

from server.demo.loader import load_demo
from server.settings import Settings, port_range
from tests.deploy.deployment import (
    APP_PORTS,
    HOSTNAME,
    WORKER_PORTS,
    env_file,
    render_site,
    self_signed,
    start_nginx,
    unit_command,
)
from tests.server.live.conftest import PASSWORD, ROOM_DAIXI, LiveServer, free_port, wait_healthy
from tests.server.live.test_browser import CHROMIUM, FLAGS, wait_for_video, wait_until
from tests.server.live.test_cluster import holder

pytestmark = [pytest.mark.process, pytest.mark.browser, pytest.mark.media, pytest.mark.timeout(240)]


@dataclass
class Deployment:
    site: str  # https://127.0.0.1:PORT, nginx's TLS side
    plain: str  # http://127.0.0.1:PORT, nginx's port 80
    cert: Path
    logs: Path
    apps: list[str] = field(default_factory=list)  # each app's own address (behind nginx)
    workers: dict[str, str] = field(default_factory=dict)  # worker name → its own address
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def client(self) -> httpx.AsyncClient:
        """A client of the site that trusts its certificate (and nothing else)."""
        return httpx.AsyncClient(base_url=self.site, verify=ssl.create_default_context(cafile=self.cert))

    def start(self, command: list[str], env: dict[str, str], name: str) -> None:
        """A process as its unit would start it (the state directory standing for WorkingDirectory=); its
        output in the logs directory (the journal's part)."""
        state = self.logs.parent / "lib"
        state.mkdir(exist_ok=True)
        with (self.logs / f"{name}.log").open("wb") as out:
            process = subprocess.Popen(command, env=env, cwd=state, stdout=out, stderr=subprocess.STDOUT)
        self.processes.append(process)

    def tails(self) -> str:
        """The last lines each process wrote, for a failure's message."""
        return "\n".join(
            f"--- {log.name}\n" + "\n".join(log.read_text().splitlines()[-15:]) for log in self.logs.glob("*.log")
        )

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture
async def deployment(database_url: str, redis_url: str, redis_prefix: str, tmp_path: Path) -> AsyncIterator[Deployment]:
    await load_demo(Settings(database_url=database_url, demo_password=PASSWORD), timetable=False)
    tls_port, http_port = free_port(), free_port()
    ports = {port: free_port() for port in (*APP_PORTS, *WORKER_PORTS)}
    cert, key = self_signed(tmp_path)
    logs = tmp_path / "logs"
    logs.mkdir()
    site = f"https://127.0.0.1:{tls_port}"
    # The shipped environment file, with what points at a bureau's machine pointed at this test's.
    env = {name: value for name, value in os.environ.items() if not name.startswith("HAIQIAO_")}
    env |= env_file() | {
        "HAIQIAO_DATABASE_URL": database_url,
        "HAIQIAO_REDIS_URL": redis_url,
        "HAIQIAO_REDIS_PREFIX": redis_prefix,
        "HAIQIAO_SECRET_KEY": "deployment-test-secret-of-more-than-32-characters",
        "HAIQIAO_TURN_URLS": "[]",  # no coturn here: host candidates on loopback
        "HAIQIAO_VAR_DIR": str(tmp_path / "var"),
        "HAIQIAO_RECORDINGS_DIR": str(tmp_path / "recordings"),
        "HAIQIAO_BACKUP_DIR": str(tmp_path / "backups"),
        "MEDIA_PUBLIC_URL": f"wss://127.0.0.1:{tls_port}/media",
    }
    d = Deployment(site=site, plain=f"http://127.0.0.1:{http_port}", cert=cert, logs=logs)
    try:
        for port in WORKER_PORTS:
            d.start(unit_command("haiqiao-media-worker@.service", ports[port], env), env, f"worker-{port}")
            d.workers[f"{HOSTNAME}-{ports[port]}"] = f"http://127.0.0.1:{ports[port]}"
        for port in APP_PORTS:
            d.start(unit_command("haiqiao-app@.service", ports[port], env), env, f"app-{port}")
            d.apps.append(f"http://127.0.0.1:{ports[port]}")
        site_text = render_site(ports, tls_port, http_port, cert, key, logs)
        d.processes.append(start_nginx(tmp_path / "nginx", site_text))
        try:
            await asyncio.gather(*(wait_healthy(url) for url in [*d.apps, *d.workers.values()]))
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{d.tails()}") from exc
        await wait_healthy_through(d)
        yield d
    finally:
        await asyncio.to_thread(d.stop)


async def wait_healthy_through(d: Deployment) -> None:
    async with d.client() as client:
        for _ in range(100):
            try:
                if (await client.get("/healthz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"nginx did not answer at {d.site} (see {d.logs.parent / 'nginx' / 'error.log'})")


async def open_classroom(browser: Browser, d: Deployment, login: str, query: str) -> tuple[Page, list[str]]:
    """A classroom page opened at nginx's TLS address, logged in through it; the WebSockets it opens."""
    async with d.client() as client:
        resp = await client.post("/api/v1/auth/token", data={"username": login, "password": PASSWORD})
    resp.raise_for_status()
    context = await browser.new_context(ignore_https_errors=True)  # the test's self-signed certificate
    await context.add_init_script(f"sessionStorage.setItem('haiqiaoToken', {resp.json()['access_token']!r});")
    page = await context.new_page()
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    await page.goto(f"{d.site}/classroom?{query}")
    return page, sockets


async def candidate_ports(page: Page) -> list[int]:
    """The ports of the worker's ICE candidates, as the page's peer connection knows them."""
    script = """async () => {
        const ports = [];
        (await window.haiqiao.pc.getStats()).forEach((r) => { if (r.type === "remote-candidate") ports.push(r.port); });
        return ports;
    }"""
    return list(await page.evaluate(script))


async def seats(worker: str) -> dict[str, float]:
    """The worker's connected seats by role, from its own /metrics (not reachable through nginx)."""
    async with httpx.AsyncClient(base_url=worker) as client:
        text = (await client.get("/metrics")).text
    return {m[0]: float(m[1]) for m in re.findall(r'^haiqiao_seats\{role="(\w+)"\} ([0-9.e+]+)$', text, re.M)}


async def test_a_class_is_held_through_nginx_tls_with_signaling_routed_to_the_worker_holding_it(
    deployment: Deployment, redis_url: str, redis_prefix: str
) -> None:
    d = deployment
    session_id = await LiveServer(d.apps[0], Settings(), None).create_session(receiver_classroom_ids=[ROOM_DAIXI])
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            host, host_sockets = await open_classroom(browser, d, "t-gaoting", f"session={session_id}&role=host")
            query = f"session={session_id}&role=receiver&classroom={ROOM_DAIXI}"
            room, room_sockets = await open_classroom(browser, d, "dev-daixi-1", query)
            await wait_for_video(host, within=30)
            await wait_for_video(room, within=30)
            await wait_until(host, "window.haiqiao.state === 'connected'")
            # The media went straight to the worker's ICE candidates, inside the env file's UDP range.
            worker_ports = [*await candidate_ports(host), *await candidate_ports(room)]
            worker = await holder(redis_url, redis_prefix, session_id)
            assert worker in d.workers
            # The seats are on that worker (its own metrics), none on the other.
            held = {name: await seats(url) for name, url in d.workers.items()}
        finally:
            await browser.close()
    udp = port_range(env_file()["HAIQIAO_MEDIA_UDP_PORTS"])
    assert worker_ports
    assert all(port in udp for port in worker_ports), worker_ports
    assert held[worker].get("host") == 1, held
    assert held[worker].get("receiver") == 1, held
    assert all(not any(by_role.values()) for name, by_role in held.items() if name != worker), held
    # Both pages opened their signaling at nginx's path of that worker, and nowhere else.
    signaling = f"{d.site.replace('https', 'wss')}/media/{worker}/ws/signaling?token="
    for sockets in (host_sockets, room_sockets):
        assert sockets, "no signaling socket opened"
        assert all(url.startswith(signaling) for url in sockets), sockets
    # nginx carried them (101 Switching Protocols), and its log does not keep the tokens.
    log = (d.logs / "haiqiao.access.log").read_text()
    assert f'"GET /media/{worker}/ws/signaling HTTP/1.1" 101' in log
    assert "token=" not in log


async def test_the_site_redirects_to_https_serves_static_files_and_keeps_metrics_inside(
    deployment: Deployment,
) -> None:
    d = deployment
    async with httpx.AsyncClient() as client:
        redirect = await client.get(f"{d.plain}/classroom?session=1")
    assert redirect.status_code == 301
    assert re.fullmatch(r"https://127\.0\.0\.1/classroom\?session=1", redirect.headers["location"])
    async with d.client() as client:
        page = await client.get("/")
        script = await client.get("/static/common.js")
        metrics = [await client.get("/metrics"), *[await client.get(f"/media/{w}/metrics") for w in d.workers]]
        worker_health = [(await client.get(f"/media/{w}/healthz")).json() for w in d.workers]
    assert page.status_code == 200
    assert "Content-Security-Policy" in page.headers  # from the app
    assert script.status_code == 200
    assert script.headers["cache-control"] == "no-cache"  # from nginx: the apps' StaticFiles set none
    assert [m.status_code for m in metrics] == [404] * 3
    assert [h["worker"] for h in worker_health] == list(d.workers)  # each path reaches its own worker
