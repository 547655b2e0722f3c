"""Backup → restore into a fresh database → the same quota report, on SQLite and PostgreSQL; a restore
into a database that has tables is refused and changes nothing."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from typer.testing import CliRunner, Result

from server.backup.archive import BackupError, read_backup, read_index
from server.backup.create import make_backup
from server.backup.restore import Mark, existing_tables, restore_backup
from server.cli import app as cli
from server.demo.loader import load_demo
from server.settings import Settings
from tests.server.backup.conftest import settings_for
from tests.server.schedule.conftest import SHANGHAI

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=SHANGHAI)  # the demo's autumn term, weeks of it held


async def quota_report(settings: Settings) -> list[dict[str, Any]]:
    """The report a scheduler downloads (JSON), from an app on ``settings``' database."""
    import httpx

    from server.app import create_app
    from server.auth.security import create_access_token
    from server.org import repository as org_repo

    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with app.state.sessionmaker() as db:
            scheduler = await org_repo.person_by_login(db, "scheduler")
        assert scheduler is not None
        assert scheduler.id is not None
        token = create_access_token(scheduler.id, secret=settings.secret_key, now=NOW, ttl=timedelta(hours=1))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            resp = await client.get(
                "/api/v1/reports/quotas",
                params={"year": 2026, "format": "json"},
                headers={"Authorization": f"Bearer {token}"},
            )
    assert resp.status_code == 200, resp.text
    report: list[dict[str, Any]] = resp.json()
    return report


async def test_a_restored_backup_gives_the_same_quota_report(
    migrated_url: str, spare_database_url: str, tmp_path: Path
) -> None:
    original = settings_for(migrated_url, tmp_path / "school")
    with time_machine.travel(NOW, tick=False):
        await load_demo(original, history=True)
        before = await quota_report(original)
    assert sum(rule["held"] for community in before for rule in community["rules"]) > 0  # a term was held

    made = await asyncio.to_thread(make_backup, original, tmp_path / "backups")
    assert made.path.name.startswith("haiqiao-backup-2026")
    index = read_index(made)
    assert index, "the demo's recorded lesson is indexed"
    assert all(entry["present"] and len(entry["sha256"]) == 64 for entry in index)
    assert not (made.path / "recordings").exists()  # media travel by rsync unless asked for

    # The spare machine: an empty database and, at first, no media.
    spare = settings_for(spare_database_url, tmp_path / "spare")
    report = await asyncio.to_thread(restore_backup, spare, made.path)
    marks = {step.name: step.mark for step in report.steps}
    assert marks["迁移版本 migrations"] is Mark.ok
    assert marks["数据 rows"] is Mark.ok
    assert marks["录制文件 recordings"] is Mark.warn
    assert "rsync" in report.steps[-1].message
    assert report.ok
    with time_machine.travel(NOW, tick=False):
        after = await quota_report(spare)
    assert after == before


async def test_a_restore_into_a_database_with_tables_is_refused(migrated_url: str, tmp_path: Path) -> None:
    settings = settings_for(migrated_url, tmp_path)
    made = await asyncio.to_thread(make_backup, settings, tmp_path / "backups")
    tables = await asyncio.to_thread(existing_tables, settings)
    with pytest.raises(BackupError, match=f"目标数据库不是空的（已有 {len(tables)} 张表") as refused:
        await asyncio.to_thread(restore_backup, settings, made.path)
    assert "not empty" in str(refused.value)
    assert await asyncio.to_thread(existing_tables, settings) == tables


def haiqiao(args: list[str], settings: Settings) -> Result:
    env = {
        "HAIQIAO_DATABASE_URL": settings.database_url,
        "HAIQIAO_RECORDINGS_DIR": settings.recordings_dir,
        "HAIQIAO_VAR_DIR": settings.var_dir,
        "HAIQIAO_BACKUP_DIR": "",
    }
    return CliRunner().invoke(cli, args, env=env)


async def test_the_commands_back_up_with_media_restore_and_refuse(
    migrated_url: str, spare_database_url: str, tmp_path: Path
) -> None:
    settings = settings_for(migrated_url, tmp_path / "school")
    with time_machine.travel(NOW, tick=False):
        await load_demo(settings, history=True)  # with its recorded lesson
    backups = tmp_path / "backups"
    done = await asyncio.to_thread(haiqiao, ["backup", "--to", str(backups), "--with-media"], settings)
    assert done.exit_code == 0, done.output
    assert f"✓ 备份 backup: {backups}" in done.output
    (folder,) = backups.iterdir()
    files = [entry["path"] for entry in read_index(read_backup(folder))]
    assert files

    refused = await asyncio.to_thread(haiqiao, ["restore", str(folder)], settings)
    assert refused.exit_code == 1
    assert "✗ 恢复 restore: 目标数据库不是空的" in refused.output

    spare = settings_for(spare_database_url, tmp_path / "spare")
    restored = await asyncio.to_thread(haiqiao, ["restore", str(folder), "--verify-media"], spare)
    assert restored.exit_code == 0, restored.output
    assert "✓ 迁移版本 migrations" in restored.output
    assert "✓ 数据 rows" in restored.output
    assert f"✓ 录制文件 recordings: {len(files)} 个文件齐全（核对sha256）" in restored.output
    for path in files:  # the media came with the backup
        assert (Path(spare.recordings_dir) / path).read_bytes() == (Path(settings.recordings_dir) / path).read_bytes()

    if spare_database_url.startswith("sqlite"):  # (the media check is the same code on PostgreSQL)
        # Into another new database: a damaged media copy in the backup is named, with a non-zero exit.
        (folder / "recordings" / files[0]).write_bytes(b"not the lesson")
        again = settings_for(f"sqlite+aiosqlite:///{tmp_path / 'again.db'}", tmp_path / "again")
        damaged = await asyncio.to_thread(haiqiao, ["restore", str(folder)], again)
        assert damaged.exit_code == 1
        assert "✗ 录制文件 recordings: 1 个文件与索引不符" in damaged.output
