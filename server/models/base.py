"""Column helpers shared by the tables."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from server.db.types import UTCDateTime, utcnow


def enum_type(enum_cls: type[StrEnum]) -> sa.Enum:
    # Stored as VARCHAR: adding a value later needs no PostgreSQL type migration.
    return sa.Enum(enum_cls, native_enum=False, length=32, validate_strings=True)


def created_at_field() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


def utc_field(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, index=index)


def json_field(default_factory: Any = list, *, nullable: bool = False) -> Any:
    return Field(default_factory=default_factory, sa_type=sa.JSON, nullable=nullable)


__all__ = ["created_at_field", "datetime", "enum_type", "json_field", "utc_field"]
