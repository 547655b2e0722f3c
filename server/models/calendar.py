"""The school calendar: bell schedules, terms, closures and holidays entered by hand."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from server.models.base import created_at_field, json_field


class BellSchedule(SQLModel, table=True):
    """A school's numbered periods; ``variants`` holds seasonal timetables (夏季/冬季作息)."""

    __tablename__ = "bell_schedules"

    school_id: int = Field(foreign_key="schools.id", primary_key=True)
    # [{"name": "冬季作息", "from": "10-01", "periods": [{"number": 1, "start": "08:00", "end": "08:40"}]}]
    variants: list[dict[str, Any]] = json_field()
    updated_at: datetime = created_at_field()


class Term(SQLModel, table=True):
    __tablename__ = "terms"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    school_year: int  # 学年 named by its starting year
    semester: int  # 1 = 第一学期 (autumn), 2 = 第二学期 (spring)
    start: date
    end: date


class Closure(SQLModel, table=True):
    """Days without classes for the county (``school_ids`` empty) or for some schools."""

    __tablename__ = "closures"

    id: int | None = Field(default=None, primary_key=True)
    start: date
    end: date
    reason: str = Field(max_length=200)
    school_ids: list[int] = json_field()
    created_by: int | None = Field(default=None, foreign_key="people.id")
    created_at: datetime = created_at_field()


class HolidayOverride(SQLModel, table=True):
    """A day from the State Council's notice for years the calendar package does not know yet."""

    __tablename__ = "holiday_overrides"
    __table_args__ = (sa.UniqueConstraint("day", name="uq_holiday_override_day"),)

    id: int | None = Field(default=None, primary_key=True)
    day: date
    is_holiday: bool  # False: a make-up workday (调休上班)
    name: str = Field(default="", max_length=100)
    # For a make-up workday: which weekday's timetable runs (0 = Monday).
    timetable_weekday: int | None = None
    created_at: datetime = created_at_field()
