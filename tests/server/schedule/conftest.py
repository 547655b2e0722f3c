"""Scheduling tests run at a fixed moment of the 2026学年 autumn term, whatever today is."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 20, 8, 0, tzinfo=SHANGHAI)  # a Friday

# Demo ids (see server/demo/data.py): schools and their first classroom.
GAOTING, ERZHONG, DAIXI, QUSHAN, QUSHANZHONG, CHANGTU, XIUSHAN, DINGHAI = range(1, 9)
ROOM_GAOTING, ROOM_GAOTING_REC, ROOM_ERZHONG, ROOM_DAIXI, ROOM_QUSHAN = 1, 2, 3, 4, 5
ROOM_QUSHANZHONG, ROOM_CHANGTU, ROOM_XIUSHAN, ROOM_DINGHAI = 6, 7, 8, 9
FUSED, CO_BUILT, COLLABORATIVE = 1, 2, 3


@pytest.fixture(autouse=True)
def frozen_clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(NOW, tick=True) as traveller:
        yield traveller


def at(day: str, hhmm: str) -> str:
    return f"{day}T{hhmm}:00+08:00"
