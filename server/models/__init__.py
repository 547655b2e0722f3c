"""The tables. Importing this package registers every table on ``SQLModel.metadata``."""

from server.models.admin import ErrorEntry, JobFailure
from server.models.calendar import BellSchedule, Closure, HolidayOverride, Term
from server.models.facts import StoredFact
from server.models.hooks import DeliveryState, Webhook, WebhookDelivery
from server.models.live import (
    AttendanceEvent,
    HeadCount,
    HeldCorrection,
    Observation,
    QuotaCount,
    RoomHeartbeat,
)
from server.models.org import Classroom, Community, CommunityMember, Person, School
from server.models.recordings import (
    FeaturedLesson,
    LessonDownload,
    Recording,
    RecordingComment,
    RecordingView,
    RoomEvent,
)
from server.models.reports import ReportJob
from server.models.sessions import (
    Series,
    SeriesSkip,
    Session,
    SessionEvent,
    SessionParticipant,
    SessionReceiver,
)

__all__ = [
    "AttendanceEvent",
    "BellSchedule",
    "Classroom",
    "DeliveryState",
    "ErrorEntry",
    "JobFailure",
    "Closure",
    "Community",
    "CommunityMember",
    "HeadCount",
    "HeldCorrection",
    "HolidayOverride",
    "Observation",
    "Person",
    "QuotaCount",
    "ReportJob",
    "RoomHeartbeat",
    "School",
    "Series",
    "SeriesSkip",
    "Session",
    "SessionEvent",
    "SessionParticipant",
    "SessionReceiver",
    "StoredFact",
    "Term",
    "FeaturedLesson",
    "LessonDownload",
    "Recording",
    "RecordingComment",
    "RecordingView",
    "RoomEvent",
    "Webhook",
    "WebhookDelivery",
]
