"""``haiqiao doctor``: a healthy deployment passes every line; each broken part fails with its own line.

The CLI runs through its function (typer's runner) with the deployment's environment; TURN runs against
a real coturn (``turnserver``, installed by ``make test`` with Debian's chromium)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from server.cli import app
from server.db.migrate import upgrade
from server.settings import DEFAULT_SECRET

REDIS_ENV = "HAIQIAO_TEST_REDIS_URL"
SECRET = "s" * 40


@pytest.fixture
def migrated_url(empty_database_url: str) -> str:
    """A database migrated as ``haiqiao db upgrade`` migrates it (Alembic, not create_all)."""
    upgrade(empty_database_url)
    return empty_database_url


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str | None]:
    """A healthy deployment's environment, less its database (each test sets HAIQIAO_DATABASE_URL)."""
    return {
        "HAIQIAO_MODE": "development",
        "HAIQIAO_SECRET_KEY": SECRET,
        "HAIQIAO_REDIS_URL": None,
        "HAIQIAO_REDIS_PREFIX": f"hqtest:{uuid.uuid4().hex[:10]}:",
        "HAIQIAO_TURN_URLS": None,
        "HAIQIAO_TURN_SECRET": None,
        "HAIQIAO_RECORDINGS_DIR": str(tmp_path / "recordings"),
        "HAIQIAO_VAR_DIR": str(tmp_path / "var"),
    }


@pytest.fixture
def redis_env(env: dict[str, str | None]) -> Iterator[str]:
    """The Redis CI asked for (as tests/conftest.py's ``redis_url``, for these synchronous tests); this
    test's keys are removed after."""
    url = os.environ.get(REDIS_ENV)
    if not url:
        pytest.skip(f"{REDIS_ENV} is not set (.ci/run sets it when Redis answers on 127.0.0.1:6379)")
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=5)
    try:
        client.ping()
    except Exception as exc:
        client.close()
        pytest.fail(f"{REDIS_ENV} is set but Redis does not answer: {exc}")
    yield url
    keys = list(client.scan_iter(f"{env['HAIQIAO_REDIS_PREFIX']}*"))
    if keys:
        client.delete(*keys)
    client.close()


def doctor(env: dict[str, str | None], *args: str) -> tuple[int, dict[str, str]]:
    """Exit status and the printed lines by check name (the part before the first ": ")."""
    result = CliRunner().invoke(app, ["doctor", "--min-free-gb", "0.01", *args], env=env)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert all(line[:2] in {"✓ ", "✗ "} for line in lines), result.stdout
    return result.exit_code, {line[2:].split(": ", 1)[0]: line for line in lines}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_healthy_deployment_passes_every_check(migrated_url: str, env: dict[str, str | None]) -> None:
    code, lines = doctor(env | {"HAIQIAO_DATABASE_URL": migrated_url})
    assert code == 0, lines
    assert all(line.startswith("✓") for line in lines.values()), lines
    assert set(lines) == {
        "数据库 database",
        "Redis",
        "密钥 secret",
        "TURN",
        "录制目录 recordings",
        "时钟 clock",
        "媒体工作进程 media workers",
    }
    assert "已迁移到最新版本" in lines["数据库 database"]
    assert "未配置 Redis：媒体在本进程" in lines["Redis"]
    assert "GB free" in lines["录制目录 recordings"]
    if not migrated_url.startswith("sqlite"):
        assert "from the database server's clock" in lines["时钟 clock"]  # PostgreSQL's now() was compared


@contextlib.contextmanager
def _healthz_server() -> Iterator[int]:
    """A stand-in media worker answering ``GET /healthz``."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200 if self.path == "/healthz" else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"status": "ok"}')

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def _beat(redis_url: str, prefix: str, name: str, url: str) -> None:
    from redis.asyncio import Redis

    from server.live.cluster import Cluster, WorkerInfo

    async def beat() -> None:
        redis = Redis.from_url(redis_url, decode_responses=True)
        try:
            await Cluster(redis, prefix).heartbeat(WorkerInfo(name, url))
        finally:
            await redis.aclose()

    asyncio.run(beat())


def test_a_healthy_deployment_with_redis_reaches_its_media_workers(
    migrated_url: str, env: dict[str, str | None], redis_env: str
) -> None:
    env = env | {"HAIQIAO_DATABASE_URL": migrated_url, "HAIQIAO_REDIS_URL": redis_env}
    prefix = str(env["HAIQIAO_REDIS_PREFIX"])
    with _healthz_server() as port:
        _beat(redis_env, prefix, "w1", f"ws://127.0.0.1:{port}")
        code, lines = doctor(env)
    assert code == 0, lines
    assert all(line.startswith("✓") for line in lines.values()), lines
    assert "Redis 应答 PING" in lines["Redis"]
    assert f"w1 ws://127.0.0.1:{port}" in lines["媒体工作进程 media workers"]

    dead = _closed_port()
    _beat(redis_env, prefix, "w2", f"ws://127.0.0.1:{dead}")
    code, lines = doctor(env)
    assert code == 1
    line = lines["媒体工作进程 media workers"]
    assert line.startswith("✗"), line
    assert "不可达" in line, line
    assert f"w2 ws://127.0.0.1:{dead}" in line, line


def test_redis_down_fails(migrated_url: str, env: dict[str, str | None]) -> None:
    url = f"redis://127.0.0.1:{_closed_port()}/0"
    code, lines = doctor(env | {"HAIQIAO_DATABASE_URL": migrated_url, "HAIQIAO_REDIS_URL": url})
    assert code == 1
    assert lines["Redis"].startswith("✗ Redis: Redis 连不上"), lines["Redis"]
    assert lines["媒体工作进程 media workers"].startswith("✗"), lines
    assert lines["数据库 database"].startswith("✓")


def test_an_unmigrated_database_fails(empty_database_url: str, env: dict[str, str | None]) -> None:
    code, lines = doctor(env | {"HAIQIAO_DATABASE_URL": empty_database_url})
    assert code == 1
    line = lines["数据库 database"]
    assert line.startswith("✗"), line
    assert "请运行 `haiqiao db upgrade`" in line, line
    assert sum(line.startswith("✗") for line in lines.values()) == 1, lines


def test_the_published_default_secret_fails(migrated_url: str, env: dict[str, str | None]) -> None:
    env = env | {"HAIQIAO_DATABASE_URL": migrated_url}
    code, lines = doctor(env | {"HAIQIAO_SECRET_KEY": DEFAULT_SECRET})
    assert code == 1
    assert "HAIQIAO_SECRET_KEY 是公开的默认值" in lines["密钥 secret"]
    assert lines["密钥 secret"].startswith("✗")
    # Production mode: a short secret, or none, fails too (the service would refuse to start).
    code, lines = doctor(env | {"HAIQIAO_MODE": "production", "HAIQIAO_SECRET_KEY": "short-secret"})
    assert code == 1, lines
    assert "至少需要 32 个" in lines["密钥 secret"], lines
    code, lines = doctor(env | {"HAIQIAO_MODE": "production", "HAIQIAO_SECRET_KEY": None})
    assert code == 1, lines
    assert "生产模式未设置 HAIQIAO_SECRET_KEY" in lines["密钥 secret"], lines
    # Development mode without one uses the installation's own secret: fine, and nothing is written.
    code, lines = doctor(env | {"HAIQIAO_SECRET_KEY": None})
    assert code == 0, lines
    assert "开发模式使用本机生成的密钥" in lines["密钥 secret"], lines
    assert not Path(str(env["HAIQIAO_VAR_DIR"])).exists()


def test_an_unwritable_recordings_directory_fails(
    migrated_url: str, env: dict[str, str | None], tmp_path: Path
) -> None:
    """Tests run as root, whom chmod does not stop: the directory is made impossible by a regular file."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    env = env | {"HAIQIAO_DATABASE_URL": migrated_url}
    for path in (blocker / "recordings", blocker):
        code, lines = doctor(env | {"HAIQIAO_RECORDINGS_DIR": str(path)})
        assert code == 1
        line = lines["录制目录 recordings"]
        assert line.startswith("✗"), line
        assert f"录制目录 {path} 不存在且无法创建" in line, line


def test_too_little_free_space_fails(migrated_url: str, env: dict[str, str | None]) -> None:
    code, lines = doctor(env | {"HAIQIAO_DATABASE_URL": migrated_url}, "--min-free-gb", "1000000000")
    assert code == 1
    line = lines["录制目录 recordings"]
    assert line.startswith("✗"), line
    assert "少于 1e+09 GB" in line, line
    assert "GB free under" in line, line


@pytest.fixture
def turnserver(tmp_path: Path) -> Iterator[tuple[int, str]]:
    """coturn on a free loopback port with REST credentials (use-auth-secret): (port, its secret)."""
    binary = shutil.which("turnserver")
    if binary is None:
        pytest.skip("coturn is not installed (`make test` installs it: apt-get install coturn)")
    port, secret = _free_udp_port(), "turn-test-secret"
    log = tmp_path / "turnserver.log"
    process = subprocess.Popen(
        [
            binary,
            "-n",
            "--use-auth-secret",
            f"--static-auth-secret={secret}",
            "--realm=haiqiao",
            "--listening-ip=127.0.0.1",
            f"--listening-port={port}",
            "--relay-ip=127.0.0.1",
            "--no-tls",
            "--no-dtls",
            "--allow-loopback-peers",
            "--no-cli",
            "--log-file=stdout",
            f"--pidfile={tmp_path / 'turnserver.pid'}",
        ],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 10
        while True:  # up when it answers a STUN binding on its UDP port
            if process.poll() is not None:
                pytest.fail(f"turnserver exited: {log.read_text(errors='replace')[-2000:]}")
            if _answers_stun(port):
                break
            if time.monotonic() > deadline:
                pytest.fail("turnserver did not answer within 10 s")
            time.sleep(0.1)
        yield port, secret
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _answers_stun(port: int) -> bool:
    from aioice import stun

    request = stun.Message(message_method=stun.Method.BINDING, message_class=stun.Class.REQUEST)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.2)
        try:
            sock.sendto(bytes(request), ("127.0.0.1", port))
            sock.recvfrom(2048)
        except OSError:
            return False
    return True


@pytest.mark.process
def test_turn_allocates_with_the_services_credentials_and_a_wrong_secret_is_refused(
    migrated_url: str, env: dict[str, str | None], turnserver: tuple[int, str]
) -> None:
    port, secret = turnserver
    url = f"turn:127.0.0.1:{port}?transport=udp"
    env = env | {"HAIQIAO_DATABASE_URL": migrated_url, "HAIQIAO_TURN_URLS": f'["{url}"]'}
    code, lines = doctor(env | {"HAIQIAO_TURN_SECRET": secret})
    assert code == 0, lines
    assert all(line.startswith("✓") for line in lines.values()), lines
    assert "分配到中继地址 127.0.0.1:" in lines[f"TURN {url}"]

    code, lines = doctor(env | {"HAIQIAO_TURN_SECRET": "not-the-secret"})
    assert code == 1
    line = lines[f"TURN {url}"]
    assert line.startswith("✗"), line
    assert "TURN 拒绝了凭据" in line, line
    assert "refused the credentials" in line, line
