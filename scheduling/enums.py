"""The domain's vocabularies. States are enums, never bare strings."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    admin = "admin"
    scheduler = "scheduler"
    teacher = "teacher"
    researcher = "researcher"
    device = "device"  # a classroom terminal with its own credential


class CommunityKind(StrEnum):
    fused = "fused"  # 融合型: one legal person
    co_built = "co_built"  # 共建型: paired help, often cross-island
    collaborative = "collaborative"  # 协作型: e.g. partners outside the county


class Locality(StrEnum):
    urban = "urban"
    rural = "rural"


class Stage(StrEnum):
    primary = "primary"  # 小学
    junior = "junior"  # 初中
    nine_year = "nine_year"  # 九年一贯


class ClassroomKind(StrEnum):
    host = "host"  # 主讲教室
    receiving = "receiving"  # 互动听讲教室
    general = "general"


class SessionKind(StrEnum):
    sync_class = "sync_class"  # 同步课堂, counted in 节
    dedicated_class = "dedicated_class"  # 专递课堂
    master_class = "master_class"  # 名师课堂
    research = "research"  # 网络教研, counted in 次

    @property
    def is_class(self) -> bool:
        return self is not SessionKind.research


class SessionStatus(StrEnum):
    scheduled = "scheduled"
    open = "open"  # lobby: joinable before the start
    live = "live"  # host and a receiver connected
    ended = "ended"
    missed = "missed"
    cancelled = "cancelled"

    @property
    def is_final(self) -> bool:
        return self in (SessionStatus.ended, SessionStatus.missed, SessionStatus.cancelled)


class LiveRole(StrEnum):
    host = "host"  # 主讲端
    receiver = "receiver"  # 听讲端
    participant = "participant"  # 网络教研
    observer = "observer"  # 巡课: unseen, unheard


class AttendanceEventKind(StrEnum):
    join = "join"  # type: ignore[assignment]  # shadows str.join on members; the wire name is "join"
    leave = "leave"
    drop = "drop"  # connection lost without a goodbye
    reconnect = "reconnect"


SESSION_KIND_LABELS_ZH = {
    SessionKind.sync_class: "同步课堂",
    SessionKind.dedicated_class: "专递课堂",
    SessionKind.master_class: "名师课堂",
    SessionKind.research: "网络教研",
}

COMMUNITY_KIND_LABELS_ZH = {
    CommunityKind.fused: "融合型",
    CommunityKind.co_built: "共建型",
    CommunityKind.collaborative: "协作型",
}


class RoomEventKind(StrEnum):
    """What happened in a live room besides attendance: marks on a recording's timeline."""

    floor_given = "floor_given"
    floor_released = "floor_released"
    hand_raised = "hand_raised"
    hand_lowered = "hand_lowered"
    share_started = "share_started"
    share_stopped = "share_stopped"
    recording_started = "recording_started"
    recording_stopped = "recording_stopped"
    recording_failed = "recording_failed"  # disk full, write error or a writer that fell behind: the class goes on


class DownloadState(StrEnum):
    """A file made by a job in the service: a lesson's MP4 (server/recordings/download_api.py), kept until
    retention, or a quota report (server/reports/jobs.py), kept some days."""

    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"


class ReportScope(StrEnum):
    """What a report job covers: every community the bureau has, or the ones listed (a teacher's)."""

    county = "county"
    communities = "communities"


class ReportFormat(StrEnum):
    json = "json"
    csv = "csv"
    xlsx = "xlsx"
