"""Report jobs: a county's (or a teacher's communities') quota report written to a file by a job in the
service (server/reports/jobs.py), kept some days for download."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from scheduling.enums import DownloadState, ReportFormat, ReportScope
from server.db.types import UTCDateTime
from server.models.base import created_at_field, enum_type, json_field


class ReportJob(SQLModel, table=True):
    __tablename__ = "report_jobs"

    id: int | None = Field(default=None, primary_key=True)
    scope: ReportScope = Field(sa_type=enum_type(ReportScope))
    community_ids: list[int] = json_field()  # the scope's communities, sorted; empty for the county
    year: int
    format: ReportFormat = Field(sa_type=enum_type(ReportFormat))
    state: DownloadState = Field(sa_type=enum_type(DownloadState))
    done: int = 0  # communities written so far
    total: int = 0  # communities in the report (known once the job runs)
    path: str | None = Field(default=None, max_length=500)  # relative to HAIQIAO_REPORTS_DIR, when done
    bytes: int = Field(default=0, sa_type=sa.BigInteger)
    error: str = Field(default="", max_length=500)
    requested_by: int | None = Field(default=None, foreign_key="people.id")
    # The parameters' digest while the job is queued or running, null after: a unique column, so that two
    # processes asked for the same report at once make one job (the second insert fails and joins it).
    active_key: str | None = Field(default=None, max_length=64, unique=True)
    created_at: datetime = created_at_field()
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Renewed every few seconds by the process making it: a job whose beat stopped died with its process,
    # and whoever asks for it next takes it over (any process of a cluster).
    beat_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
