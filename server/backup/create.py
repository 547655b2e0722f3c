"""Making a backup: the database and the recordings' index from one consistent view of it.

PostgreSQL: a read-only REPEATABLE READ transaction exports its snapshot, ``pg_dump --snapshot`` dumps
exactly that, and the index and counts are read in the same transaction, so the index names the rows the
dump holds. SQLite: the online backup API copies the file while the service writes, and the index is read
from the copy. Blocking throughout (subprocesses, hashing): the job runs it in a thread."""

from __future__ import annotations

import os
import shutil
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from server.backup import postgres
from server.backup.archive import (
    FORMAT,
    INDEX,
    MANIFEST,
    MEDIA,
    POSTGRES_DUMP,
    SQLITE_COPY,
    Backup,
    BackupError,
    backup_name,
    copy_hashing,
    inside,
    sha256_of,
    write_json,
)
from server.jobs.runner import sync_database_url
from server.settings import Settings


@dataclass(frozen=True)
class DatabaseState:
    revision: str | None
    counts: dict[str, int]
    recordings: list[dict[str, Any]]


def haiqiao_version() -> str:
    try:
        return version("haiqiao")
    except PackageNotFoundError:
        return "unknown"


def read_state(conn: Connection) -> DatabaseState:
    tables = sorted(inspect(conn).get_table_names())
    counts = {t: int(conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one()) for t in tables}
    revision = None
    if "alembic_version" in tables:
        revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    rows: list[dict[str, Any]] = []
    if "recordings" in tables:
        # Files retention already deleted are not needed by anybody: their rows stay, marked.
        stmt = text("SELECT id, session_id, path, bytes FROM recordings WHERE deleted_at IS NULL ORDER BY id")
        rows = [dict(r._mapping) for r in conn.execute(stmt)]
    return DatabaseState(revision, counts, rows)


def sqlite_path(database_url: str) -> Path:
    database = make_url(database_url).database
    if not database or database == ":memory:":
        raise BackupError("内存中的 SQLite 数据库无法备份", "an in-memory SQLite database cannot be backed up")
    return Path(database)


def _sqlite_backup(database_url: str, target: Path) -> DatabaseState:
    source_path = sqlite_path(database_url)
    if not source_path.exists():
        raise BackupError(f"数据库文件 {source_path} 不存在", f"the database file {source_path} does not exist")
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True, timeout=30)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)  # page by page, a consistent copy even while the service writes
    finally:
        copy.close()
        source.close()
    engine = create_engine(f"sqlite:///{target}")
    try:
        with engine.connect() as conn:
            return read_state(conn)
    finally:
        engine.dispose()


def _postgres_backup(database_url: str, target: Path) -> DatabaseState:
    engine = create_engine(sync_database_url(database_url), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
            with conn.begin():
                snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
                postgres.dump(database_url, target, snapshot)  # while this transaction holds the snapshot
                return read_state(conn)
    except BackupError:
        raise
    except Exception as exc:
        raise BackupError(f"数据库连不上（{exc}）", f"the database cannot be reached ({exc})") from exc
    finally:
        engine.dispose()


def _index(rows: list[dict[str, Any]], recordings_dir: Path, media_to: Path | None) -> list[dict[str, Any]]:
    """Each recording row's file as it is now: size and sha256, or missing."""
    entries = []
    for row in rows:
        entry: dict[str, Any] = {"id": row["id"], "session_id": row["session_id"], "path": row["path"]}
        path = inside(recordings_dir, row["path"])
        if path is None or not path.is_file():
            entry.update(present=False, size=None, sha256=None)
        else:
            if media_to is not None:
                digest = copy_hashing(path, media_to / row["path"])
            else:
                digest = sha256_of(path)
            entry.update(present=True, size=path.stat().st_size, sha256=digest)
        entries.append(entry)
    return entries


def make_backup(settings: Settings, to: Path, *, with_media: bool = False, now: datetime | None = None) -> Backup:
    """Write a new backup folder under ``to``; it appears under its final name only once complete."""
    now = now or datetime.now(UTC)
    to.mkdir(parents=True, exist_ok=True)
    name = backup_name(now)
    final = to / name
    if final.exists():
        raise BackupError(f"{final} 已存在", f"{final} already exists")
    work = to / f".{name}.partial"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    try:
        if settings.is_sqlite:
            kind, file = "sqlite", SQLITE_COPY
            state = _sqlite_backup(settings.database_url, work / file)
        else:
            kind, file = "postgresql", POSTGRES_DUMP
            state = _postgres_backup(settings.database_url, work / file)
        entries = _index(state.recordings, Path(settings.recordings_dir), work / MEDIA if with_media else None)
        write_json(work / INDEX, entries)
        manifest = {
            "format": FORMAT,
            "haiqiao": haiqiao_version(),
            "created_at": now.astimezone(UTC).isoformat(),
            "alembic_revision": state.revision,
            "database": {"kind": kind, "file": file, "sha256": sha256_of(work / file)},
            "counts": state.counts,
            "recordings": {
                "files": sum(e["present"] for e in entries),
                "missing": sum(not e["present"] for e in entries),
                "bytes": sum(e["size"] or 0 for e in entries),
                "with_media": with_media,
            },
        }
        write_json(work / MANIFEST, manifest)
        os.replace(work, final)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return Backup(final, manifest)
