"""How datetimes cross the API: stored in UTC, shown with the county's offset (Asia/Shanghai)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, AwareDatetime, PlainSerializer

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _as_local(value: datetime) -> str:
    return value.astimezone(SHANGHAI).isoformat()


# Output: always with +08:00. Input: must carry an offset; naive datetimes are refused.
LocalDateTime = Annotated[
    AwareDatetime,
    AfterValidator(lambda v: v.astimezone(SHANGHAI)),
    PlainSerializer(_as_local, return_type=str),
]
