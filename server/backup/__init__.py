"""Backups (备份与恢复): ``haiqiao backup`` / ``haiqiao restore`` and the nightly backup job.

A backup is a folder: the database (``pg_dump -Fc`` taken in one snapshot, or SQLite's online backup),
the recordings' index (each recording row's file with its size and sha256, read in the same snapshot) and
a manifest (format, version, alembic revision, time, row counts). Media files travel separately
(rsync) unless asked for."""
