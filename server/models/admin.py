"""What the admin page (/admin) shows that nothing else keeps: the last internal errors and the last job
failures, each a small bounded table (the newest rows are kept, server/admin/repository.py)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from server.models.base import created_at_field


class ErrorEntry(SQLModel, table=True):
    """An internal error (a 500) with the request id its caller was given."""

    __tablename__ = "recent_errors"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = created_at_field()
    request_id: str = Field(max_length=64)
    method: str = Field(default="", max_length=16)
    path: str = Field(default="", max_length=500)
    error: str = Field(default="", max_length=500)  # the exception's type and message


class JobFailure(SQLModel, table=True):
    """A run of a scheduled job that raised (the lifecycle sweep, webhooks, retention…)."""

    __tablename__ = "job_failures"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = created_at_field()
    job: str = Field(max_length=200)
    error: str = Field(default="", max_length=500)
