"""``haiqiao doctor``: check a deployment and say what is wrong, Chinese first, then English.

Each check is a small coroutine that returns a :class:`CheckResult`; :func:`run_checks` runs them all and
the CLI prints one line per result (✓/✗) and exits non-zero when any failed. The checks only read, except
the recordings directory (created when missing, as the service would, and a probe file written and
deleted) and a TURN allocation made and deleted at once."""

from __future__ import annotations

import asyncio
import shutil
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic_settings import BaseSettings, SettingsConfigDict

from server.settings import DEFAULT_SECRET, Mode, Settings

DB_TIMEOUT = 5.0
REDIS_TIMEOUT = 2.0
TURN_TIMEOUT = 3.0
HEALTH_TIMEOUT = 2.0
MAX_CLOCK_SKEW = 2.0
DEFAULT_MIN_FREE_GB = 5.0
MIN_PRODUCTION_SECRET = 32
DOCTOR_LOGIN = "haiqiao-doctor"  # the TURN username's login part (``expiry:login``)


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    message: str

    def line(self) -> str:
        return f"{'✓' if self.ok else '✗'} {self.name}: {self.message}"


class _ConfiguredSecret(BaseSettings):
    """``HAIQIAO_SECRET_KEY`` as configured, read exactly as Settings reads it — before development mode
    replaces the published default with the installation's own secret."""

    model_config = SettingsConfigDict(env_prefix="HAIQIAO_", env_file=None, extra="ignore")

    secret_key: str | None = None


def configured_secret() -> str | None:
    return _ConfiguredSecret().secret_key


def doctor_settings() -> Settings:
    """The deployment's settings without the secret's side effects: development mode would write an
    installation secret under var/, production mode would refuse a bad one before the check can say so.
    The other checks do not use the secret; :func:`check_secret` reads it as configured."""
    return Settings(secret_key="x" * MIN_PRODUCTION_SECRET + "-doctor-placeholder")


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# --- 1. database -------------------------------------------------------------------------------------


def _sqlite_missing(url: str) -> str | None:
    path = url.split(":///", 1)[-1]
    if path and path != ":memory:" and not Path(path).exists():
        return path
    return None


async def check_database(settings: Settings) -> CheckResult:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from server.db.engine import make_engine
    from server.db.migrate import alembic_config

    name = "数据库 database"
    missing = _sqlite_missing(settings.database_url) if settings.is_sqlite else None
    if missing:
        return CheckResult(
            name,
            False,
            f"数据库文件 {missing} 不存在：请运行 `haiqiao db upgrade` / "
            f"the database file {missing} does not exist: run `haiqiao db upgrade`",
        )
    heads = set(ScriptDirectory.from_config(alembic_config(settings.database_url)).get_heads())
    engine = make_engine(settings.database_url)
    try:

        async def current() -> set[str]:
            async with engine.connect() as conn:
                return set(await conn.run_sync(lambda sync: MigrationContext.configure(sync).get_current_heads()))

        present = await asyncio.wait_for(current(), DB_TIMEOUT)
    except Exception as exc:
        return CheckResult(
            name, False, f"数据库连不上（{_reason(exc)}） / the database cannot be reached ({_reason(exc)})"
        )
    finally:
        await engine.dispose()
    head = ", ".join(sorted(heads))
    if not present:
        return CheckResult(
            name,
            False,
            "数据库未迁移：请运行 `haiqiao db upgrade` / the database is not migrated: run `haiqiao db upgrade`",
        )
    if present != heads:
        at = ", ".join(sorted(present))
        return CheckResult(
            name,
            False,
            f"数据库在版本 {at}，最新为 {head}：请运行 `haiqiao db upgrade` / "
            f"the database is at {at}, head is {head}: run `haiqiao db upgrade`",
        )
    return CheckResult(name, True, f"可连接，已迁移到最新版本 {head} / reachable and migrated to head ({head})")


# --- 2. Redis ----------------------------------------------------------------------------------------


async def check_redis(settings: Settings) -> CheckResult:
    name = "Redis"
    if not settings.redis_url:
        return CheckResult(
            name, True, "未配置 Redis：媒体在本进程 / no HAIQIAO_REDIS_URL: media runs in the service's own process"
        )
    from redis.asyncio import Redis

    redis = Redis.from_url(settings.redis_url, socket_connect_timeout=REDIS_TIMEOUT, socket_timeout=REDIS_TIMEOUT)
    try:
        await asyncio.wait_for(redis.ping(), REDIS_TIMEOUT)
    except Exception as exc:
        return CheckResult(
            name,
            False,
            f"Redis 连不上（{_reason(exc)}） / Redis at HAIQIAO_REDIS_URL does not answer ({_reason(exc)})",
        )
    finally:
        await redis.aclose()
    return CheckResult(name, True, "Redis 应答 PING / Redis answers PING")


# --- 3. the secret -----------------------------------------------------------------------------------


def check_secret(mode: Mode, secret: str | None) -> CheckResult:
    """``secret`` is HAIQIAO_SECRET_KEY as configured (None: not set)."""
    name = "密钥 secret"
    if secret is None:
        if mode is Mode.production:
            return CheckResult(
                name,
                False,
                "生产模式未设置 HAIQIAO_SECRET_KEY / HAIQIAO_SECRET_KEY is not set in production mode",
            )
        return CheckResult(
            name,
            True,
            "未设置：开发模式使用本机生成的密钥（var/secret_key） / "
            "not set: development mode uses this installation's own secret (var/secret_key)",
        )
    if secret == DEFAULT_SECRET:
        return CheckResult(
            name,
            False,
            "HAIQIAO_SECRET_KEY 是公开的默认值：请设置自己的密钥 / "
            "HAIQIAO_SECRET_KEY is the published default: set a secret of your own",
        )
    if mode is Mode.production and len(secret) < MIN_PRODUCTION_SECRET:
        return CheckResult(
            name,
            False,
            f"生产模式的密钥只有 {len(secret)} 个字符，至少需要 {MIN_PRODUCTION_SECRET} 个 / "
            f"the secret has {len(secret)} characters, production mode needs at least {MIN_PRODUCTION_SECRET}",
        )
    return CheckResult(
        name, True, f"已设置自己的密钥（{len(secret)} 个字符） / a secret of its own ({len(secret)} characters)"
    )


# --- 4. TURN -----------------------------------------------------------------------------------------


async def _allocate(uri: dict[str, Any], username: str, password: str) -> tuple[str, int]:
    """A real TURN allocation with aioice's client, deleted at once; returns the relayed address."""
    import ssl

    from aioice.turn import (
        DEFAULT_CHANNEL_REFRESH_TIME,
        TurnClientProtocol,
        TurnClientTcpProtocol,
        TurnClientUdpProtocol,
    )

    loop = asyncio.get_running_loop()
    server = (str(uri["host"]), int(uri["port"]))
    protocol: TurnClientProtocol
    transport: asyncio.BaseTransport
    if uri["transport"] == "tcp":
        transport, protocol = await loop.create_connection(
            lambda: TurnClientTcpProtocol(server, username, password, 600, DEFAULT_CHANNEL_REFRESH_TIME),
            host=server[0],
            port=server[1],
            ssl=ssl.create_default_context() if uri["scheme"] == "turns" else None,
        )
    else:
        transport, protocol = await loop.create_datagram_endpoint(
            lambda: TurnClientUdpProtocol(server, username, password, 600, DEFAULT_CHANNEL_REFRESH_TIME),
            remote_addr=server,
        )
    try:
        relayed = await protocol.connect()
        await protocol.delete()
        return relayed
    finally:
        transport.close()


async def check_turn(settings: Settings, url: str) -> CheckResult:
    from aioice import stun
    from aiortc.rtcicetransport import parse_stun_turn_uri

    from server.live.grants import ice_servers

    name = f"TURN {url}"
    try:
        uri = parse_stun_turn_uri(url)
    except ValueError as exc:
        return CheckResult(name, False, f"TURN 地址写错了（{exc}） / the TURN URL is malformed ({exc})")
    # The credentials exactly as a joining client gets them.
    turn = next(s for s in ice_servers(settings, DOCTOR_LOGIN) if "credential" in s)
    username, password = str(turn["username"]), str(turn["credential"])
    try:
        relayed = await asyncio.wait_for(_allocate(uri, username, password), TURN_TIMEOUT)
    except stun.TransactionFailed as exc:
        code, reason = exc.response.attributes.get("ERROR-CODE", (0, ""))
        if code == 401:
            return CheckResult(
                name,
                False,
                "TURN 拒绝了凭据：HAIQIAO_TURN_SECRET 与服务器的 static-auth-secret 不一致？ / "
                "the TURN server refused the credentials: does HAIQIAO_TURN_SECRET match its static-auth-secret?",
            )
        return CheckResult(
            name,
            False,
            f"TURN 拒绝了分配（{code} {reason}） / the TURN server refused the allocation ({code} {reason})",
        )
    except TimeoutError:
        return CheckResult(
            name,
            False,
            f"TURN 服务器 {TURN_TIMEOUT:g} 秒内没有回应 / the TURN server did not answer within {TURN_TIMEOUT:g} s",
        )
    except Exception as exc:
        return CheckResult(
            name, False, f"TURN 服务器连不上（{_reason(exc)}） / the TURN server cannot be reached ({_reason(exc)})"
        )
    return CheckResult(
        name,
        True,
        f"凭据有效，分配到中继地址 {relayed[0]}:{relayed[1]} / credentials accepted, relay allocated at "
        f"{relayed[0]}:{relayed[1]}",
    )


def turn_checks(settings: Settings) -> list[str] | None:
    """The TURN URLs to allocate on, or None when TURN is not configured (both URLs and secret needed)."""
    return list(settings.turn_urls) if settings.turn_urls and settings.turn_secret else None


# --- 5. recordings directory -------------------------------------------------------------------------


def check_recordings_dir(settings: Settings, min_free_gb: float = DEFAULT_MIN_FREE_GB) -> CheckResult:
    name = "录制目录 recordings"
    directory = Path(settings.recordings_dir)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return CheckResult(
            name,
            False,
            f"录制目录 {directory} 不存在且无法创建（{_reason(exc)}） / "
            f"the recordings directory {directory} does not exist and cannot be created ({_reason(exc)})",
        )
    probe = directory / f".haiqiao-doctor-{uuid.uuid4().hex[:8]}"
    try:
        probe.write_bytes(b"haiqiao doctor probe\n")
        probe.unlink()
    except OSError as exc:
        return CheckResult(
            name,
            False,
            f"录制目录 {directory} 不可写（{_reason(exc)}） / the recordings directory {directory} is not writable "
            f"({_reason(exc)})",
        )
    free_gb = shutil.disk_usage(directory).free / 1e9
    if free_gb < min_free_gb:
        return CheckResult(
            name,
            False,
            f"录制目录 {directory} 只剩 {free_gb:.1f} GB，少于 {min_free_gb:g} GB / "
            f"only {free_gb:.1f} GB free under {directory}, less than {min_free_gb:g} GB",
        )
    return CheckResult(
        name, True, f"{directory} 可写，剩余 {free_gb:.1f} GB / {directory} is writable, {free_gb:.1f} GB free"
    )


# --- 6. clock ----------------------------------------------------------------------------------------


async def check_clock(settings: Settings) -> CheckResult:
    name = "时钟 clock"
    if settings.is_sqlite:
        return CheckResult(
            name, True, "SQLite 用本机时钟，无需比对 / SQLite keeps this machine's clock: nothing to compare"
        )
    from sqlalchemy import text

    from server.db.engine import make_engine

    engine = make_engine(settings.database_url)
    try:

        async def skew() -> float:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))  # connected first: the round trip below is one query
                before = time.time()
                db_now = (await conn.execute(text("SELECT now()"))).scalar_one()
                after = time.time()
            local = datetime.fromtimestamp((before + after) / 2, UTC)
            return float((db_now - local).total_seconds())

        offset = await asyncio.wait_for(skew(), DB_TIMEOUT)
    except Exception as exc:
        return CheckResult(
            name,
            False,
            f"无法比对时钟：数据库连不上（{_reason(exc)}） / cannot compare clocks: the database cannot be reached "
            f"({_reason(exc)})",
        )
    finally:
        await engine.dispose()
    if abs(offset) > MAX_CLOCK_SKEW:
        side = "快" if offset > 0 else "慢"
        return CheckResult(
            name,
            False,
            f"数据库时钟比本机{side} {abs(offset):.1f} 秒（允许 {MAX_CLOCK_SKEW:g} 秒）：请校准 NTP / "
            f"the database's clock is {offset:+.1f} s off this machine's (at most {MAX_CLOCK_SKEW:g} s): fix NTP",
        )
    return CheckResult(name, True, f"与数据库相差 {offset:+.2f} 秒 / {offset:+.2f} s from the database server's clock")


# --- 7. media workers --------------------------------------------------------------------------------


def health_url(advertised: str) -> str:
    """A worker's advertised signaling base (``ws://host:port``) → its ``/healthz`` over HTTP(S)."""
    base = advertised.rstrip("/")
    if base.startswith("wss://"):
        base = "https://" + base[len("wss://") :]
    elif base.startswith("ws://"):
        base = "http://" + base[len("ws://") :]
    return f"{base}/healthz"


async def check_workers(settings: Settings) -> CheckResult:
    name = "媒体工作进程 media workers"
    if not settings.redis_url:
        return CheckResult(
            name, True, "未配置 Redis：媒体在本进程，无工作进程可查 / no Redis: media runs in-process, no workers"
        )
    import httpx
    from redis.asyncio import Redis

    from server.live.cluster import Cluster

    redis = Redis.from_url(
        settings.redis_url, decode_responses=True, socket_connect_timeout=REDIS_TIMEOUT, socket_timeout=REDIS_TIMEOUT
    )
    try:
        alive = await asyncio.wait_for(Cluster(redis, settings.redis_prefix).alive(), REDIS_TIMEOUT * 2)
    except Exception as exc:
        return CheckResult(
            name,
            False,
            f"无法从 Redis 读出工作进程（{_reason(exc)}） / cannot read the workers from Redis ({_reason(exc)})",
        )
    finally:
        await redis.aclose()
    if not alive:
        return CheckResult(
            name,
            False,
            "Redis 中没有在线的媒体工作进程：课堂无处安放 / "
            "no media worker is alive in Redis: rooms have nowhere to go",
        )

    async def probe(client: httpx.AsyncClient, url: str) -> str | None:
        try:
            response = await client.get(health_url(url))
        except Exception as exc:
            return _reason(exc)
        return None if response.status_code == 200 else f"HTTP {response.status_code}"

    async with httpx.AsyncClient(timeout=HEALTH_TIMEOUT) as client:
        problems = await asyncio.gather(*(probe(client, info.url) for info in alive.values()))
    failed = [f"{info.name} {info.url}（{p}）" for info, p in zip(alive.values(), problems, strict=True) if p]
    if failed:
        return CheckResult(
            name,
            False,
            f"{len(failed)}/{len(alive)} 个工作进程的公布地址不可达 / {len(failed)} of {len(alive)} workers' "
            f"advertised addresses do not answer /healthz: {'; '.join(failed)}",
        )
    listed = ", ".join(f"{info.name} {info.url}" for info in alive.values())
    return CheckResult(name, True, f"{len(alive)} 个工作进程均可达 / {len(alive)} workers answer /healthz: {listed}")


# --- all of them -------------------------------------------------------------------------------------


async def run_checks(
    settings: Settings, secret: str | None, *, min_free_gb: float = DEFAULT_MIN_FREE_GB
) -> list[CheckResult]:
    """Every check, in the order printed. ``secret``: HAIQIAO_SECRET_KEY as configured (None: not set)."""
    results = [await check_database(settings), await check_redis(settings), check_secret(settings.mode, secret)]
    urls = turn_checks(settings)
    if urls is None:
        results.append(
            CheckResult("TURN", True, "未配置 TURN / no TURN configured (HAIQIAO_TURN_URLS, HAIQIAO_TURN_SECRET)")
        )
    else:
        results.extend([await check_turn(settings, url) for url in urls])
    results.append(await asyncio.to_thread(check_recordings_dir, settings, min_free_gb))
    results.append(await check_clock(settings))
    results.append(await check_workers(settings))
    return results
