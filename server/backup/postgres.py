"""pg_dump and pg_restore for the configured database: the service's asyncpg SQLAlchemy URL becomes libpq's
environment (PGHOST, PGPORT, …), so the password never appears on a command line (``ps`` shows those)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from server.backup.archive import BackupError

# asyncpg's query parameters that libpq spells as environment variables.
_QUERY_ENV = {"host": "PGHOST", "port": "PGPORT", "ssl": "PGSSLMODE", "sslmode": "PGSSLMODE"}


def libpq_env(database_url: str) -> dict[str, str]:
    url = make_url(database_url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}  # only what the URL says
    for key, name in _QUERY_ENV.items():
        value = url.query.get(key)
        if value:
            env[name] = value if isinstance(value, str) else value[0]
    parts: dict[str, object] = {
        "PGHOST": url.host,
        "PGPORT": url.port,
        "PGUSER": url.username,
        "PGPASSWORD": url.password,
        "PGDATABASE": url.database,
    }
    env.update({name: str(value) for name, value in parts.items() if value})
    env.setdefault("PGCONNECT_TIMEOUT", "10")
    return env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            f"找不到 {name}：请安装 postgresql-client（apt install postgresql-client-15）",
            f"{name} not found: install postgresql-client (apt install postgresql-client-15)",
        )
    return path


def _run(args: list[str], env: dict[str, str], what_zh: str, what_en: str) -> None:
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        reason = (done.stderr or done.stdout).strip().splitlines()
        tail = "; ".join(reason[-3:]) or f"exit {done.returncode}"
        raise BackupError(f"{what_zh}失败：{tail}", f"{what_en} failed: {tail}")


def dump(database_url: str, target: Path, snapshot: str | None = None) -> None:
    """``pg_dump -Fc`` of the whole database; with ``snapshot`` (``pg_export_snapshot()``) it sees exactly
    what the transaction holding that snapshot sees."""
    args = [_tool("pg_dump"), "--format=custom", f"--file={target}"]
    if snapshot:
        args.append(f"--snapshot={snapshot}")
    _run(args, libpq_env(database_url), "pg_dump 导出数据库", "pg_dump")


def restore(database_url: str, source: Path) -> None:
    """Into an empty database, in one transaction: a failure leaves it empty, not half restored. Owners and
    grants are the target server's (a spare machine's role names may differ)."""
    env = libpq_env(database_url)
    args = [
        _tool("pg_restore"),
        "--exit-on-error",
        "--single-transaction",
        "--no-owner",
        "--no-privileges",
        f"--dbname={env.get('PGDATABASE', '')}",
        str(source),
    ]
    _run(args, env, "pg_restore 恢复数据库", "pg_restore")
