"""Ids, numbers and text as clients send them.

Every id a client sends (path, query, body) is bounded: ids are ``INTEGER`` primary keys on PostgreSQL, so
anything past 2^31 - 1 can name no row, and a larger number used to overflow the database driver (SQLite
stops at 2^63 - 1) and answer a 500. Out of range is a 422 ``validation_error`` like any other invalid field.

Bodies are strict where the schema says integer or boolean: JSON ``false`` is no id, ``1`` no boolean.
Query and path values arrive as text and are parsed as usual.

Text holds no NUL character (``\u0000``): PostgreSQL's text can't store one, and a name with it answered a
500 there (SQLite took it). Every request body derives from ``Body``, which refuses it in any field.
"""

from __future__ import annotations

from typing import Annotated, Any

from annotated_types import Ge, Le
from pydantic import BaseModel, ConfigDict, Strict, field_validator

MAX_ID = 2**31 - 1

# In a path or a query: text parsed to an integer, then bounded.
IdParam = Annotated[int, Ge(1), Le(MAX_ID)]
# In a JSON body: an integer and nothing else (no booleans, no "7", no 7.0), bounded.
Id = Annotated[int, Strict(), Ge(1), Le(MAX_ID)]
# Strict scalars for bodies; add bounds with Field(ge=…, le=…) where they apply.
Int = Annotated[int, Strict()]
Bool = Annotated[bool, Strict()]
Float = Annotated[float, Strict()]


def has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(has_nul(v) for v in value)
    return False


class Body(BaseModel):
    """A request body: unknown fields refused, and text without NUL characters in every field."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if has_nul(value):
            raise ValueError("文本不能含 NUL 字符 / text may not contain NUL (\\u0000)")
        return value
