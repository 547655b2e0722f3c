"""How datetimes cross the API: stored in UTC, shown with the county's offset (Asia/Shanghai)."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, PlainSerializer, WithJsonSchema

SHANGHAI = ZoneInfo("Asia/Shanghai")

# The calendar the service plans in. Past its ends a date means nothing here, and near Python's own ends
# (year 1, year 9999) the conversion between Asia/Shanghai and UTC overflowed: a 500 instead of a 422.
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2100, 12, 31)
_RANGE = f"{FIRST_DAY.isoformat()} … {LAST_DAY.isoformat()}"
_DATE_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def _date_text(value: Any) -> Any:
    """Dates are written ``YYYY-MM-DD``: not a number (pydantic would read it as a Unix time)."""
    if isinstance(value, str) and not _DATE_TEXT.match(value):
        raise ValueError("日期格式为 YYYY-MM-DD / a date is written YYYY-MM-DD")
    if isinstance(value, int | float):
        raise ValueError("日期格式为 YYYY-MM-DD / a date is written YYYY-MM-DD, not a number")
    return value


def _datetime_text(value: Any) -> Any:
    if isinstance(value, str) and not _DATETIME_TEXT.match(value):
        raise ValueError("时间格式为 ISO 8601 / a date-time is written in ISO 8601, with its offset")
    if isinstance(value, int | float):
        raise ValueError("时间格式为 ISO 8601 / a date-time is written in ISO 8601, not a number")
    return value


def _in_range(value: date) -> date:
    day = value.date() if isinstance(value, datetime) else value
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValueError(f"日期超出范围 / date out of range ({_RANGE})")
    return value


# A day as the API takes it (bodies and queries): "YYYY-MM-DD" within the service's calendar.
Day = Annotated[
    date,
    BeforeValidator(_date_text),
    AfterValidator(_in_range),
    WithJsonSchema({"type": "string", "format": "date", "description": f"YYYY-MM-DD, {_RANGE}"}),
]


def _as_local(value: datetime) -> str:
    return value.astimezone(SHANGHAI).isoformat()


# Output: always with +08:00. Input: ISO 8601 text that carries an offset (naive datetimes and numbers are
# refused), within the service's calendar.
LocalDateTime = Annotated[
    AwareDatetime,
    BeforeValidator(_datetime_text),
    AfterValidator(_in_range),
    AfterValidator(lambda v: v.astimezone(SHANGHAI)),
    PlainSerializer(_as_local, return_type=str),
]
