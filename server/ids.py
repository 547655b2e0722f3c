"""Ids and numbers as clients send them.

Every id a client sends (path, query, body) is bounded: ids are ``INTEGER`` primary keys on PostgreSQL, so
anything past 2^31 - 1 can name no row, and a larger number used to overflow the database driver (SQLite
stops at 2^63 - 1) and answer a 500. Out of range is a 422 ``validation_error`` like any other invalid field.

Bodies are strict where the schema says integer or boolean: JSON ``false`` is no id, ``1`` no boolean.
Query and path values arrive as text and are parsed as usual.
"""

from __future__ import annotations

from typing import Annotated

from annotated_types import Ge, Le
from pydantic import Strict

MAX_ID = 2**31 - 1

# In a path or a query: text parsed to an integer, then bounded.
IdParam = Annotated[int, Ge(1), Le(MAX_ID)]
# In a JSON body: an integer and nothing else (no booleans, no "7", no 7.0), bounded.
Id = Annotated[int, Strict(), Ge(1), Le(MAX_ID)]
# Strict scalars for bodies; add bounds with Field(ge=…, le=…) where they apply.
Int = Annotated[int, Strict()]
Bool = Annotated[bool, Strict()]
Float = Annotated[float, Strict()]
