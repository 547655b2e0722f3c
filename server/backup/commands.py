"""``haiqiao backup`` and ``haiqiao restore`` (registered on the ``haiqiao`` command in server/cli.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from server.backup.archive import BackupError
from server.settings import Settings
from server.timefmt import SHANGHAI

DEFAULT_DIR = "var/backups"


def _settings() -> Settings:
    try:
        return Settings()
    except ValueError as exc:  # a refused setting is a clear message, not a traceback
        typer.echo(f"haiqiao: {exc}", err=True)
        raise typer.Exit(2) from exc


def backup(
    to: Annotated[
        Path | None, typer.Option("--to", help="where to write it (default HAIQIAO_BACKUP_DIR, else var/backups)")
    ] = None,
    with_media: Annotated[
        bool, typer.Option("--with-media", help="copy the recordings' media files too (large)")
    ] = False,
) -> None:
    """Back up the database and the recordings' index into a new timestamped folder."""
    from server.backup.create import make_backup

    settings = _settings()
    directory = to or Path(settings.backup_dir or DEFAULT_DIR)
    try:
        made = make_backup(settings, directory, with_media=with_media)
    except BackupError as exc:
        typer.echo(f"✗ 备份 backup: {exc}", err=True)
        raise typer.Exit(1) from exc
    recordings = made.manifest["recordings"]
    counts = made.manifest["counts"]
    typer.echo(f"✓ 备份 backup: {made.path}")
    kind, revision = made.manifest["database"]["kind"], made.manifest["alembic_revision"]
    typer.echo(
        f"  数据库 database: {kind}, 迁移版本 revision {revision}, "
        f"{len(counts)} 张表 tables, {sum(counts.values())} 行 rows"
    )
    typer.echo(
        f"  录制文件 recordings: {recordings['files']} 个 files, {recordings['bytes']} bytes"
        + (f", 缺 {recordings['missing']} 个 missing" if recordings["missing"] else "")
        + ("（含媒体文件 media included）" if with_media else "（媒体文件另行 rsync / media files: rsync them）")
    )


def restore(
    path: Annotated[Path, typer.Argument(help="a backup folder made by `haiqiao backup`")],
    verify_media: Annotated[
        bool, typer.Option("--verify-media", help="check each recording's sha256, not only its size (slow)")
    ] = False,
) -> None:
    """Restore a backup into the configured database, which must be empty."""
    from server.backup.restore import Mark, restore_backup

    settings = _settings()
    try:
        report = restore_backup(settings, path, verify_media=verify_media)
    except BackupError as exc:
        typer.echo(f"✗ 恢复 restore: {exc}", err=True)
        raise typer.Exit(1) from exc
    manifest = report.backup.manifest
    made = report.backup.created_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    typer.echo(f"备份 backup {report.backup.path}（{made} 北京时间，海桥 Haiqiao {manifest['haiqiao']}）")
    for step in report.steps:
        typer.echo(step.line())
    counts = manifest["counts"]
    shown = ("schools", "people", "communities", "sessions", "attendance_events", "recordings")
    typer.echo("  " + ", ".join(f"{t} {counts[t]}" for t in shown if t in counts))
    if not report.ok:
        failed = sum(step.mark is Mark.fail for step in report.steps)
        typer.echo(f"{failed} 项检查未通过 / {failed} checks failed", err=True)
        raise typer.Exit(1)
