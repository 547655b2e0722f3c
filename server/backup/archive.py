"""What a backup folder holds and how it is named, read and listed (no database access here)."""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from server.timefmt import SHANGHAI

FORMAT = 1
PREFIX = "haiqiao-backup-"
MANIFEST = "manifest.json"
INDEX = "recordings.json"
MEDIA = "recordings"  # the media files' copy, with --with-media
POSTGRES_DUMP = "database.dump"
SQLITE_COPY = "database.sqlite3"
CHUNK = 1 << 20


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why and what to do, Chinese then English."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(f"{zh} / {en}")


@dataclass(frozen=True)
class Backup:
    path: Path
    manifest: dict[str, Any]

    @property
    def created_at(self) -> datetime:
        return datetime.fromisoformat(self.manifest["created_at"])

    @property
    def database_file(self) -> Path:
        return self.path / str(self.manifest["database"]["file"])


def backup_name(at: datetime) -> str:
    """Named in the schools' time, as the technician will look for it ("last night's")."""
    return PREFIX + at.astimezone(SHANGHAI).strftime("%Y%m%d-%H%M%S")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def copy_hashing(source: Path, target: Path) -> str:
    """Copy a file and hash it in the same read (media files are large)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    with source.open("rb") as src, target.open("wb") as dst:
        while chunk := src.read(CHUNK):
            digest.update(chunk)
            dst.write(chunk)
    shutil.copystat(source, target)
    return digest.hexdigest()


def inside(root: Path, relative: str) -> Path | None:
    """``root / relative`` unless a stored path would lead out of the directory."""
    path = (root / relative).resolve()
    return path if path.is_relative_to(root.resolve()) else None


def write_json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def read_backup(path: Path) -> Backup:
    manifest_path = path / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise BackupError(
            f"{path} 不是海桥备份（缺少 {MANIFEST}）", f"{path} is not a Haiqiao backup (no {MANIFEST})"
        ) from exc
    except ValueError as exc:
        raise BackupError(f"{manifest_path} 已损坏：{exc}", f"{manifest_path} is damaged: {exc}") from exc
    if manifest.get("format") != FORMAT:
        raise BackupError(
            f"备份格式 {manifest.get('format')} 不受此版本支持（支持 {FORMAT}）",
            f"backup format {manifest.get('format')} is not supported by this version (supports {FORMAT})",
        )
    return Backup(path, manifest)


def read_index(backup: Backup) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = json.loads((backup.path / INDEX).read_text(encoding="utf-8"))
    return entries


def list_backups(directory: Path) -> list[Backup]:
    """The finished backups in ``directory``, newest first; anything else there is left alone."""
    found: list[Backup] = []
    if not directory.is_dir():
        return found
    for path in directory.iterdir():
        if not (path.is_dir() and path.name.startswith(PREFIX)):
            continue
        try:
            found.append(read_backup(path))
        except (BackupError, KeyError, OSError):
            continue  # not ours, or damaged: never counted, never deleted
    return sorted(found, key=lambda b: b.created_at, reverse=True)
