"""Bodies of the calendar and session API (field names fixed by the stable API)."""

from __future__ import annotations

import datetime as dt
from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints, model_validator

from scheduling.enums import SessionKind, SessionStatus
from server.ids import Body, Bool, Id, Int
from server.timefmt import Day, LocalDateTime

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Subject = Annotated[str, StringConstraints(strip_whitespace=True, max_length=50)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
RRule = Annotated[str, StringConstraints(strip_whitespace=True, min_length=5, max_length=500)]


class Strict(Body):
    """Request bodies: no unknown fields, no NUL in text (server/ids.py)."""


class SessionPlacement(Strict):
    """Either explicit ``start``/``end`` or the host school's ``date`` + ``period``."""

    start: LocalDateTime | None = None
    end: LocalDateTime | None = None
    date: Day | None = None
    period: Int | None = Field(default=None, ge=1, le=20)

    @model_validator(mode="after")
    def _one_placement(self) -> SessionPlacement:
        by_time = self.start is not None or self.end is not None
        by_period = self.date is not None or self.period is not None
        if by_time == by_period:
            raise ValueError("请给出开始和结束时间，或日期和节次 / give either start and end, or date and period")
        if by_time and (self.start is None or self.end is None):
            raise ValueError("开始和结束时间须一起给出 / start and end go together")
        if by_period and (self.date is None or self.period is None):
            raise ValueError("日期和节次须一起给出 / date and period go together")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError("结束时间必须晚于开始时间 / end must be after start")
        return self


class SessionIn(SessionPlacement):
    kind: SessionKind
    community_id: Id
    title: Title
    subject: Subject = ""
    grade: Int | None = Field(default=None, ge=1, le=12)
    host_classroom_id: Id
    host_teacher_id: Id
    receiver_classroom_ids: list[Id] = Field(default_factory=list, max_length=30)
    participant_teacher_ids: list[Id] = Field(default_factory=list, max_length=100)
    lesson_session_id: Id | None = None

    @model_validator(mode="after")
    def _receivers_for_classes(self) -> SessionIn:
        if self.lesson_session_id is not None and self.kind.is_class:
            raise ValueError(
                "只有网络教研才研讨一节课 (lesson_session_id)"
                " / lesson_session_id is for research sessions: the lesson they discuss"
            )
        if self.kind.is_class and not self.receiver_classroom_ids:
            raise ValueError("同步课堂至少要有一个接收教室 / a class needs at least one receiving classroom")
        if self.host_classroom_id in self.receiver_classroom_ids:
            raise ValueError("主讲教室不能同时是接收教室 / the host classroom cannot also receive")
        if len(set(self.receiver_classroom_ids)) != len(self.receiver_classroom_ids):
            raise ValueError("接收教室有重复 / receiver_classroom_ids has duplicates")
        return self


class SeriesIn(SessionIn):
    rrule: RRule
    until: Day | None = None

    @model_validator(mode="after")
    def _no_lesson_for_a_series(self) -> SeriesIn:
        if self.lesson_session_id is not None:
            raise ValueError(
                "系列课程不研讨单节课：请在单节课上设置 lesson_session_id"
                " / a series discusses no single lesson: set lesson_session_id on a session"
            )
        return self


class SessionPatch(Strict):
    title: Title | None = None
    subject: Subject | None = None
    grade: Int | None = Field(default=None, ge=1, le=12)
    receiver_classroom_ids: list[Id] | None = Field(default=None, max_length=30)
    participant_teacher_ids: list[Id] | None = Field(default=None, max_length=100)
    host_teacher_id: Id | None = None
    lesson_session_id: Id | None = None


class CancelIn(Strict):
    reason: Reason
    # For a session of a series: also cancel every later session of that series.
    rest_of_series: Bool = False


class RescheduleIn(SessionPlacement):
    reason: Reason | None = None


class Landing(BaseModel):
    """Where a session's time lands in a receiving school's own day."""

    classroom_id: int
    school_id: int
    periods: list[int]
    warning: str | None = None


class SessionOut(BaseModel):
    id: int
    series_id: int | None
    kind: SessionKind
    community_id: int
    title: str
    subject: str
    grade: int | None
    host_classroom_id: int
    host_teacher_id: int
    receiver_classroom_ids: list[int]
    participant_teacher_ids: list[int]
    start: LocalDateTime
    end: LocalDateTime
    period: int | None
    status: SessionStatus
    status_reason: str | None
    lesson_session_id: int | None = None
    landing: list[Landing] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)


class ConflictOut(BaseModel):
    occurrence_start: LocalDateTime
    session_id: int | None  # None: another session of the same batch
    resource: str
    resource_id: int
    message: str


class SkipOut(BaseModel):
    date: dt.date
    reason: str


class SeriesOut(BaseModel):
    id: int | None
    kind: SessionKind
    community_id: int
    title: str
    rrule: str
    until: date | None
    dry_run: bool = False
    sessions: list[SessionOut]
    skipped: list[SkipOut]
    conflicts: list[ConflictOut] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    calendar_notes: list[str] = Field(default_factory=list)


class PlanConflictOut(BaseModel):
    occurrence_start: LocalDateTime
    session_id: int | None  # a session already on the timetable
    other_series_index: int | None  # or another series of the same plan
    resource: str
    resource_id: int
    message: str


class PlanItemOut(BaseModel):
    index: int
    title: str
    sessions: int = 0
    skipped: list[SkipOut] = Field(default_factory=list)
    conflicts: list[PlanConflictOut] = Field(default_factory=list)
    calendar_notes: list[str] = Field(default_factory=list)
    error: dict[str, str] | None = None


class PlanCheckOut(BaseModel):
    series: list[PlanItemOut]
    sessions: int
    conflicts: int
    invalid: int


class TermIn(Strict):
    name: Title
    school_year: Int = Field(ge=2000, le=2100)
    semester: Int = Field(ge=1, le=2)
    start: Day
    end: Day

    @model_validator(mode="after")
    def _ordered(self) -> TermIn:
        if self.end <= self.start:
            raise ValueError("结束时间必须晚于开始时间 / end must be after start")
        return self


class TermOut(BaseModel):
    id: int
    name: str
    school_year: int
    semester: int
    start: date
    end: date


class ClosureIn(Strict):
    start: Day
    end: Day
    reason: Reason
    school_ids: list[Id] = Field(default_factory=list, max_length=200)

    @model_validator(mode="after")
    def _ordered(self) -> ClosureIn:
        if self.end < self.start:
            raise ValueError("结束日期不能早于开始日期 / end must not be before start")
        if (self.end - self.start).days > 62:
            raise ValueError("停课最长 62 天 / a closure spans at most 62 days")
        return self


class MakeUpOut(BaseModel):
    cancelled_session_id: int
    suggestions: list[dict[str, Any]]


class ClosureOut(BaseModel):
    id: int
    start: date
    end: date
    reason: str
    school_ids: list[int]
    cancelled_session_ids: list[int] = Field(default_factory=list)
    make_up: list[MakeUpOut] = Field(default_factory=list)


class HolidayIn(Strict):
    day: Day
    is_holiday: Bool
    name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] = ""
    timetable_weekday: Int | None = Field(default=None, ge=0, le=6)


class HolidayImportIn(Strict):
    days: list[HolidayIn] = Field(min_length=1, max_length=400)
