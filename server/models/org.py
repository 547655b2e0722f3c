"""Schools, classrooms, people and communities with dated memberships."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from scheduling.enums import ClassroomKind, CommunityKind, Locality, Role, Stage
from server.models.base import created_at_field, enum_type, json_field

NAME_MAX = 100


class School(SQLModel, table=True):
    __tablename__ = "schools"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=NAME_MAX, unique=True)
    island: str = Field(default="", max_length=NAME_MAX)
    region: str = Field(default="", max_length=NAME_MAX)
    locality: Locality = Field(sa_type=enum_type(Locality))
    stage: Stage = Field(sa_type=enum_type(Stage))
    # A school that closed or merged keeps its row so that its history stays countable.
    closed_on: date | None = None
    created_at: datetime = created_at_field()


class Classroom(SQLModel, table=True):
    __tablename__ = "classrooms"
    __table_args__ = (sa.UniqueConstraint("school_id", "name", name="uq_classroom_school_name"),)

    id: int | None = Field(default=None, primary_key=True)
    school_id: int = Field(foreign_key="schools.id", index=True)
    name: str = Field(max_length=NAME_MAX)
    kind: ClassroomKind = Field(default=ClassroomKind.general, sa_type=enum_type(ClassroomKind))
    capacity: int | None = None
    created_at: datetime = created_at_field()


class Person(SQLModel, table=True):
    """A login: a person, or a classroom terminal (role ``device``, with ``classroom_id``)."""

    __tablename__ = "people"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=NAME_MAX)
    login: str = Field(max_length=64, unique=True)
    password_hash: str = Field(max_length=255)
    roles: list[Role] = json_field()
    school_id: int | None = Field(default=None, foreign_key="schools.id", index=True)
    classroom_id: int | None = Field(default=None, foreign_key="classrooms.id")
    active: bool = True
    # Secret for calendar-app subscriptions (iCalendar feeds) in place of a bearer token.
    feed_token: str | None = Field(default=None, max_length=64, unique=True)
    created_at: datetime = created_at_field()

    def has_role(self, *roles: Role) -> bool:
        return any(Role(r) in roles for r in self.roles)


class Community(SQLModel, table=True):
    """教共体: one core school and its member schools, with its quota and held-session rules."""

    __tablename__ = "communities"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=NAME_MAX, unique=True)
    kind: CommunityKind = Field(sa_type=enum_type(CommunityKind))
    core_school_id: int = Field(foreign_key="schools.id", index=True)
    # [{"name", "kinds": [...], "required": int, "unit": "节"|"次", "min_subjects": int|None}]
    quota_rules: list[dict[str, Any]] = json_field()
    # Per-mode overrides of the held-session rule, e.g. {"sync_class": {"min_ratio": 0.8}}.
    held_rules: dict[str, Any] = json_field(dict)
    # Share of a cross-school lesson credited to the teacher's workload (按一定比例计入工作量).
    workload_ratio: float = 1.0
    # Raised beside every write that could change the community's counts (server/attendance/facts.py); a
    # cached count (quota_counts) is good only for the version it was computed from.
    counts_version: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # Recording policy (minors on camera): classes are recorded unless the community turns it off; a
    # research session only when its host starts it. Files are deleted after this many days.
    record_classes: bool = Field(default=True, sa_column_kwargs={"server_default": sa.true()})
    recording_retention_days: int = Field(default=365, ge=1, sa_column_kwargs={"server_default": "365"})
    created_at: datetime = created_at_field()


class CommunityMember(SQLModel, table=True):
    __tablename__ = "community_members"

    id: int | None = Field(default=None, primary_key=True)
    community_id: int = Field(foreign_key="communities.id", index=True)
    school_id: int = Field(foreign_key="schools.id", index=True)
    joined_on: date
    left_on: date | None = None  # not included: the school's last day in the community is the day before


def membership(community_id: int, school_id: int, joined_on: date, left_on: date | None) -> CommunityMember:
    return CommunityMember(community_id=community_id, school_id=school_id, joined_on=joined_on, left_on=left_on)
