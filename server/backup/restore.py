"""Restoring a backup into an EMPTY database (never over data: a restore that merged into a live database
would be worse than none), then saying what came back: the migration revision against this code's, the
row counts against the manifest's, and whether the recordings' files are where the index says."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, inspect
from sqlalchemy.pool import NullPool

from server.backup import postgres
from server.backup.archive import MEDIA, Backup, BackupError, copy_hashing, inside, read_backup, read_index, sha256_of
from server.backup.create import read_state, sqlite_path
from server.jobs.runner import sync_database_url
from server.settings import Settings


class Mark(StrEnum):
    ok = "✓"
    warn = "!"  # needs a step from the technician, e.g. `haiqiao db upgrade` or rsync of the media
    fail = "✗"


@dataclass(frozen=True)
class Step:
    mark: Mark
    name: str
    message: str

    def line(self) -> str:
        return f"{self.mark.value} {self.name}: {self.message}"


@dataclass(frozen=True)
class RestoreReport:
    backup: Backup
    steps: list[Step]

    @property
    def ok(self) -> bool:
        return all(step.mark is not Mark.fail for step in self.steps)


def _sync_engine(settings: Settings) -> Any:
    if settings.is_sqlite:
        return create_engine(f"sqlite:///{sqlite_path(settings.database_url)}", poolclass=NullPool)
    return create_engine(sync_database_url(settings.database_url), poolclass=NullPool)


def existing_tables(settings: Settings) -> list[str]:
    if settings.is_sqlite and not sqlite_path(settings.database_url).exists():
        return []
    engine = _sync_engine(settings)
    try:
        with engine.connect() as conn:
            return sorted(inspect(conn).get_table_names())
    except Exception as exc:
        raise BackupError(
            f"目标数据库连不上（{exc}）：请先建好一个空数据库（createdb）并检查 HAIQIAO_DATABASE_URL",
            f"the target database cannot be reached ({exc}): create an empty database (createdb) and check "
            "HAIQIAO_DATABASE_URL",
        ) from exc
    finally:
        engine.dispose()


def _refuse_non_empty(settings: Settings) -> None:
    tables = existing_tables(settings)
    if tables:
        shown = ", ".join(tables[:5]) + (" …" if len(tables) > 5 else "")
        raise BackupError(
            f"目标数据库不是空的（已有 {len(tables)} 张表：{shown}）：恢复只写入空数据库，请新建一个空数据库",
            f"the target database is not empty ({len(tables)} tables: {shown}): a restore only writes into an "
            "empty database; create a new one",
        )


def _restore_sqlite(settings: Settings, source: Path) -> None:
    target = sqlite_path(settings.database_url)
    target.parent.mkdir(parents=True, exist_ok=True)
    for leftover in (target.with_name(target.name + "-wal"), target.with_name(target.name + "-shm")):
        leftover.unlink(missing_ok=True)  # an empty database's journal must not be replayed onto the copy
    partial = target.with_name(f".{target.name}.restoring")
    shutil.copyfile(source, partial)
    os.replace(partial, target)


def _revision_step(settings: Settings, backup: Backup, restored: str | None) -> Step:
    from alembic.script import ScriptDirectory

    from server.db.migrate import alembic_config

    name = "迁移版本 migrations"
    expected = backup.manifest.get("alembic_revision")
    if restored != expected:
        return Step(
            Mark.fail, name, f"恢复后为 {restored}，备份中为 {expected} / restored {restored}, backup has {expected}"
        )
    if restored is None:
        return Step(
            Mark.fail,
            name,
            "数据库没有迁移版本（alembic_version）：它不是用 `haiqiao db upgrade` 建的 / "
            "the database has no migration revision (alembic_version): it was not made by `haiqiao db upgrade`",
        )
    script = ScriptDirectory.from_config(alembic_config(settings.database_url))
    heads = set(script.get_heads())
    if restored in heads:
        return Step(Mark.ok, name, f"{restored}，即此版本的最新 / {restored}, this version's head")
    known = {rev.revision for rev in script.walk_revisions()}
    if restored in known:
        return Step(
            Mark.warn,
            name,
            f"{restored} 早于最新 {', '.join(sorted(heads))}：请运行 `haiqiao db upgrade` / "
            f"{restored} is older than head: run `haiqiao db upgrade`",
        )
    return Step(
        Mark.fail,
        name,
        f"{restored} 不是此版本的迁移：备份来自更新的海桥（{backup.manifest.get('haiqiao')}），请安装该版本 / "
        f"{restored} is unknown to this version: the backup comes from a newer Haiqiao "
        f"({backup.manifest.get('haiqiao')}), install that one",
    )


def _counts_step(backup: Backup, counts: dict[str, int]) -> Step:
    name = "数据 rows"
    expected: dict[str, int] = backup.manifest["counts"]
    differ = sorted(t for t in set(expected) | set(counts) if expected.get(t) != counts.get(t))
    if differ:
        shown = ", ".join(f"{t} {counts.get(t)}≠{expected.get(t)}" for t in differ[:5])
        return Step(Mark.fail, name, f"与备份不一致：{shown} / differ from the backup: {shown}")
    rows = sum(counts.values())
    return Step(
        Mark.ok, name, f"{len(counts)} 张表、{rows} 行，与备份一致 / {len(counts)} tables, {rows} rows, as backed up"
    )


def _media_step(settings: Settings, backup: Backup, verify: bool) -> Step:
    """Copies the media a ``--with-media`` backup holds where they are missing, then checks the files."""
    name = "录制文件 recordings"
    root = Path(settings.recordings_dir)
    entries = [e for e in read_index(backup) if e["present"]]
    carried = backup.manifest["recordings"]["with_media"]
    missing, damaged = [], []
    for entry in entries:
        path = inside(root, entry["path"])
        if path is None:
            damaged.append(entry["path"])
            continue
        copied = None
        if carried and not (path.is_file() and path.stat().st_size == entry["size"]):
            copied = copy_hashing(backup.path / MEDIA / entry["path"], path)
        if not path.is_file():
            missing.append(entry["path"])
        elif path.stat().st_size != entry["size"]:
            damaged.append(entry["path"])
        else:
            digest = copied or (sha256_of(path) if verify else None)  # without --verify-media: sizes only
            if digest is not None and digest != entry["sha256"]:
                damaged.append(entry["path"])
    if damaged:
        return Step(
            Mark.fail,
            name,
            f"{len(damaged)} 个文件与索引不符（如 {damaged[0]}）：请从原服务器重新复制 / "
            f"{len(damaged)} files differ from the index (e.g. {damaged[0]}): copy them again from the old server",
        )
    if missing:
        return Step(
            Mark.warn,
            name,
            f"{len(entries)} 个中缺 {len(missing)} 个（如 {missing[0]}）：请用 rsync 把原服务器的录制目录复制到 "
            f"{root} / {len(missing)} of {len(entries)} files missing: rsync the old server's recordings directory "
            f"to {root}",
        )
    checked = "sha256" if verify else "大小 size"
    return Step(Mark.ok, name, f"{len(entries)} 个文件齐全（核对{checked}） / all {len(entries)} files present")


def restore_backup(settings: Settings, path: Path, *, verify_media: bool = False) -> RestoreReport:
    """Raises :class:`BackupError` (nothing written) when the backup is damaged, of the other database
    kind, or the target is not empty; otherwise restores and reports what came back."""
    backup = read_backup(path)
    database = backup.manifest["database"]
    kind = "sqlite" if settings.is_sqlite else "postgresql"
    if database["kind"] != kind:
        raise BackupError(
            f"这是 {database['kind']} 的备份，目标数据库是 {kind}",
            f"this is a {database['kind']} backup, the target is {kind}",
        )
    if not backup.database_file.is_file() or sha256_of(backup.database_file) != database["sha256"]:
        raise BackupError(
            f"备份中的数据库文件 {backup.database_file} 缺失或已损坏（sha256 不符）",
            f"the backup's database file {backup.database_file} is missing or damaged (sha256 differs)",
        )
    _refuse_non_empty(settings)
    if settings.is_sqlite:
        _restore_sqlite(settings, backup.database_file)
    else:
        postgres.restore(settings.database_url, backup.database_file)
    engine = _sync_engine(settings)
    try:
        with engine.connect() as conn:
            state = read_state(conn)
    finally:
        engine.dispose()
    steps = [
        Step(Mark.ok, "数据库 database", f"已从 {backup.path.name} 恢复 / restored from {backup.path.name}"),
        _revision_step(settings, backup, state.revision),
        _counts_step(backup, state.counts),
        _media_step(settings, backup, verify_media),
    ]
    return RestoreReport(backup, steps)
