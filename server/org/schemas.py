"""Request and response bodies of the organisation API."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from scheduling.enums import ClassroomKind, CommunityKind, Locality, Role, SessionKind, Stage
from server.ids import Body, Bool, Float, Id, Int
from server.timefmt import Day, LocalDateTime

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)]
LOGIN_PATTERN = r"^[A-Za-z0-9_.\-]{2,64}$"
Login = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=64, pattern=LOGIN_PATTERN)]
Password = Annotated[str, StringConstraints(min_length=8, max_length=128)]
HHMM = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
MonthDay = Annotated[str, StringConstraints(pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")]


class Strict(Body):
    """Request bodies: no unknown fields, no NUL in text (server/ids.py)."""


class SchoolIn(Strict):
    name: Name
    island: ShortText = ""
    region: ShortText = ""
    locality: Locality
    stage: Stage


class SchoolPatch(Strict):
    name: Name | None = None
    island: ShortText | None = None
    region: ShortText | None = None
    locality: Locality | None = None
    stage: Stage | None = None
    closed_on: Day | None = None


class SchoolOut(BaseModel):
    id: int
    name: str
    island: str
    region: str
    locality: Locality
    stage: Stage
    closed_on: date | None
    created_at: LocalDateTime


class ClassroomIn(Strict):
    name: Name
    kind: ClassroomKind = ClassroomKind.general
    capacity: Int | None = Field(default=None, ge=1, le=500)


class ClassroomOut(BaseModel):
    id: int
    school_id: int
    name: str
    kind: ClassroomKind
    capacity: int | None


class PeriodIn(Strict):
    number: Int = Field(ge=1, le=20)
    start: HHMM
    end: HHMM


class BellVariantIn(Strict):
    name: Name
    from_: MonthDay = Field(default="01-01", alias="from")
    periods: list[PeriodIn] = Field(min_length=1, max_length=20)

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class BellScheduleIn(Strict):
    variants: list[BellVariantIn] = Field(min_length=1, max_length=6)


class BellScheduleOut(BaseModel):
    school_id: int
    variants: list[dict[str, Any]]
    updated_at: LocalDateTime


class PersonIn(Strict):
    name: Name
    login: Login
    password: Password
    roles: list[Role] = Field(min_length=1, max_length=5)
    school_id: Id | None = None
    classroom_id: Id | None = None

    @model_validator(mode="after")
    def _device_needs_classroom(self) -> PersonIn:
        if Role.device in self.roles and self.classroom_id is None:
            raise ValueError("教室终端账号要指定教室 (classroom_id) / a device login needs classroom_id")
        return self


class PersonOut(BaseModel):
    id: int
    name: str
    login: str
    roles: list[Role]
    school_id: int | None
    classroom_id: int | None
    active: bool


class QuotaRuleIn(Strict):
    name: Name
    kinds: list[SessionKind] = Field(min_length=1, max_length=4)
    required: Int = Field(ge=0, le=10000)
    unit: Annotated[str, StringConstraints(max_length=4)] = "次"
    min_subjects: Int | None = Field(default=None, ge=1, le=20)


class HeldRuleIn(Strict):
    """When a session counts as held (同步课堂: host + receivers together; 网络教研: schools together)."""

    min_ratio: Float = Field(default=0.8, gt=0, le=1)
    min_receivers: Int = Field(default=1, ge=1, le=30)  # classes: receiving classrooms with the host
    min_schools: Int = Field(default=2, ge=2, le=30)  # research: distinct schools connected together


class MemberIn(Strict):
    school_id: Id
    joined_on: Day
    left_on: Day | None = None

    @model_validator(mode="after")
    def _ordered(self) -> MemberIn:
        if self.left_on is not None and self.left_on < self.joined_on:
            raise ValueError("退出日期不能早于加入日期 / left_on must not be before joined_on")
        return self


class CommunityIn(Strict):
    name: Name
    kind: CommunityKind
    core_school_id: Id
    members: list[MemberIn] = Field(default_factory=list, max_length=50)
    quota_rules: list[QuotaRuleIn] = Field(default_factory=list, max_length=10)
    held_rules: dict[SessionKind, HeldRuleIn] = Field(default_factory=dict)
    workload_ratio: Float = Field(default=1.0, ge=0, le=5)
    record_classes: Bool = True
    recording_retention_days: Int = Field(default=365, ge=1, le=3650)


class CommunityPatch(Strict):
    name: Name | None = None
    kind: CommunityKind | None = None
    members: list[MemberIn] | None = Field(default=None, max_length=50)
    quota_rules: list[QuotaRuleIn] | None = Field(default=None, max_length=10)
    held_rules: dict[SessionKind, HeldRuleIn] | None = None
    workload_ratio: Float | None = Field(default=None, ge=0, le=5)
    # Recording policy: classes are recorded unless turned off; files are deleted after this many days.
    record_classes: Bool | None = None
    recording_retention_days: Int | None = Field(default=None, ge=1, le=3650)


class MemberOut(BaseModel):
    school_id: int
    school_name: str
    joined_on: date
    left_on: date | None


class CommunityOut(BaseModel):
    id: int
    name: str
    kind: CommunityKind
    core_school_id: int
    members: list[MemberOut]
    quota_rules: list[dict[str, Any]]
    held_rules: dict[str, Any]
    workload_ratio: float
    record_classes: bool
    recording_retention_days: int
    warnings: list[str] = Field(default_factory=list)
