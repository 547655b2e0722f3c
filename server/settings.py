"""Service settings, read from the environment with the ``HAIQIAO_`` prefix."""

from __future__ import annotations

import ipaddress
import os
import secrets
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from server.logs import LogFormat

DEFAULT_SECRET = "haiqiao-development-secret-change-me"
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///var/haiqiao.db"
SECRET_FILE = "secret_key"


def installation_secret(var_dir: Path) -> str:
    """This installation's own secret, made once (atomically: two processes starting together agree)."""
    path = var_dir / SECRET_FILE
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    var_dir.mkdir(parents=True, exist_ok=True)
    candidate = var_dir / f".{SECRET_FILE}.{os.getpid()}"
    candidate.write_text(secrets.token_urlsafe(48))
    candidate.chmod(0o600)
    try:
        os.link(candidate, path)  # fails if another process made it first: theirs wins
    except FileExistsError:
        pass
    finally:
        candidate.unlink()
    return path.read_text().strip()


def port_range(text: str) -> range:
    """ "40000-40999" → the ports 40000 to 40999, both included."""
    low, sep, high = text.strip().partition("-")
    if not (sep and low.isdigit() and high.isdigit()) or not 1024 <= int(low) <= int(high) <= 65535:
        raise ValueError(f"HAIQIAO_MEDIA_UDP_PORTS must be LOW-HIGH within 1024-65535, e.g. 40000-40999, not {text!r}")
    return range(int(low), int(high) + 1)


class Mode(StrEnum):
    development = "development"
    production = "production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HAIQIAO_", env_file=None, extra="ignore")

    mode: Mode = Mode.development
    database_url: str = DEFAULT_DATABASE_URL
    secret_key: str = DEFAULT_SECRET
    host: str = "127.0.0.1"
    port: int = 8000
    access_token_minutes: int = Field(default=12 * 60, ge=1)
    join_token_seconds: int = Field(default=120, ge=5)
    demo_password: str = "haiqiao-demo"
    # Files of this installation that are not in the database (the development secret).
    var_dir: str = "var"
    # A connection that sends no request within this many seconds is closed (slow-loris, vanished clients).
    idle_connection_seconds: float = Field(default=10.0, gt=0)
    # Password checks (argon2, ~50 ms of a core each) at once per process; more wait their turn.
    password_checks: int = Field(default=2, ge=1)
    # Jobs (APScheduler) run in the serving process unless disabled, e.g. in API tests.
    run_jobs: bool = True
    # How many minutes before its start a session opens its lobby, and how long it may run over.
    lobby_minutes: int = Field(default=10, ge=0)
    overrun_minutes: int = Field(default=15, ge=0)
    # How often the persisted lifecycle job looks for sessions whose time has come.
    lifecycle_sweep_seconds: float = Field(default=15, gt=0)
    reconnect_grace_seconds: int = Field(default=30, ge=0)
    # A signaling connection that sends nothing (not even its ping every 15 s) for this long is closed (4009).
    signaling_liveness_seconds: float = Field(default=45.0, gt=0)
    # "forward" relays encoded media; "transcode" is aiortc's stock decode/re-encode, the benchmark baseline.
    media_path: Literal["forward", "transcode"] = "forward"
    # TURN with time-limited REST credentials (coturn's use-auth-secret); empty means no TURN.
    turn_urls: list[str] = Field(default_factory=list)
    turn_secret: str = ""
    turn_ttl_seconds: int = 3600
    stun_urls: list[str] = Field(default_factory=list)
    # Networks webhooks may reach besides public addresses (CIDRs, e.g. ["10.20.0.0/16"] for the bureau's
    # own system); loopback, private, link-local and metadata addresses are refused otherwise.
    webhook_allowed_networks: list[str] = Field(default_factory=list)
    # Rooms on media workers placed through Redis (empty: rooms live in this process, no Redis needed).
    redis_url: str = ""
    # Every key this deployment writes in Redis starts with this (two deployments can share one Redis).
    redis_prefix: str = "haiqiao:"
    # `haiqiao serve --media-workers N` starts N local media workers on ports from this one upward.
    media_worker_base_port: int = 8100
    # The UDP ports the media plane's ICE host candidates bind, e.g. "40000-40999" (the firewall opens exactly
    # these); empty: whatever port the OS gives. aioice has no such option: media/aioice_hooks.py (hook 8).
    media_udp_ports: str = ""
    # Recording at all (off: nothing is recorded whatever the communities' policies say; the relay
    # benchmarks measure forwarding alone this way).
    recording: bool = True
    # Recorded lessons (WebM per track) are written here, by whichever process holds the room.
    recordings_dir: str = "var/recordings"
    # A recording's file is served through a signed link valid this long (a <video> sends no token).
    recording_link_seconds: int = Field(default=600, ge=10, le=24 * 3600)
    # Report jobs' files (the county's quota report, server/reports): empty means ``reports`` beside the
    # recordings directory; a done report is kept this many days, then deleted with its job.
    reports_dir: str = ""
    report_keep_days: int = Field(default=7, ge=1)
    # Nightly backups (server/backup): off while the directory is unset. Made once a day at or after
    # BACKUP_AT (Asia/Shanghai, the schools' time); the newest KEEP_COUNT are always kept (a server down for
    # weeks keeps its last backups), older ones go once they are KEEP_DAYS old.
    backup_dir: str = ""
    backup_at: str = Field(default="02:30", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    backup_keep_days: int = Field(default=14, ge=1)
    backup_keep_count: int = Field(default=7, ge=1)
    # Copy the recordings' media files into each backup too (large: rsync the recordings directory instead).
    backup_with_media: bool = False
    # How `haiqiao serve` and `haiqiao media-worker` log: "text" for a terminal, "json" (one object per line
    # with the request, session and seat ids) for a deployment's journal (server/logs.py).
    log_format: LogFormat = LogFormat.text
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("webhook_allowed_networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for network in value:
            ipaddress.ip_network(network, strict=False)  # raises ValueError, named in the message
        return value

    @field_validator("media_udp_ports")
    @classmethod
    def _udp_ports(cls, value: str) -> str:
        if value.strip():
            port_range(value)  # raises ValueError saying what is wrong
        return value.strip()

    @model_validator(mode="after")
    def _own_secret_in_development(self) -> Settings:
        """No installation signs tokens with the published default: in development a secret is made on
        first start and kept under ``HAIQIAO_VAR_DIR`` (only this machine's user can read it)."""
        if self.mode is Mode.development and self.secret_key == DEFAULT_SECRET:
            self.secret_key = installation_secret(Path(self.var_dir))
        return self

    @model_validator(mode="after")
    def _refuse_default_secret_in_production(self) -> Settings:
        if self.mode is Mode.production and self.secret_key == DEFAULT_SECRET:
            raise ValueError("HAIQIAO_SECRET_KEY must be set to a secret of your own in production mode")
        if self.mode is Mode.production and len(self.secret_key) < 32:
            raise ValueError("HAIQIAO_SECRET_KEY must be at least 32 characters in production mode")
        return self

    @property
    def udp_ports(self) -> range | None:
        return port_range(self.media_udp_ports) if self.media_udp_ports else None

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
