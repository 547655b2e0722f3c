"""Holding a report job after its first community, so a test sees the progress in between."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from server.reports import produce


def hold_after_first_community(monkeypatch: pytest.MonkeyPatch) -> asyncio.Event:
    """The job waits before its second community until the returned event is set."""
    opened = asyncio.Event()
    real = produce.community_quota
    seen: list[int] = []

    async def gated(*args: Any) -> Any:
        if seen:
            await opened.wait()
        seen.append(1)
        return await real(*args)

    monkeypatch.setattr(produce, "community_quota", gated)
    return opened
