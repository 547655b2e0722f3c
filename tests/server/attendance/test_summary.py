"""The county summary (counted by the database, cached per community) agrees with the per-community path
(one session at a time through the scheduling core) — on the demo term with its history, and after each
change that must reach it: a correction, a school leaving mid-term, a cancellation, a changed held rule."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import time_machine
from sqlmodel import col, select

from server.attendance.service import community_quota
from server.attendance.summary import county_quotas, tally_dict
from server.demo.loader import load_demo
from server.models import Community, QuotaCount, Session, SessionVerdict
from tests.conftest import Api
from tests.server.schedule.conftest import SHANGHAI

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=SHANGHAI)


async def both_paths(api: Api) -> list[tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
    async with api.sessionmaker() as db, db.begin():
        summary = await county_quotas(db, 2026, NOW.date(), api.settings)
        communities = {c.id: c for c in (await db.exec(select(Community))).all()}
        return [
            (
                row["rules"],
                [
                    tally_dict(t)
                    for t in (
                        await community_quota(db, communities[row["community_id"]], 2026, NOW.date(), api.settings)
                    ).tallies
                ],
            )
            for row in summary
        ]


async def versions(api: Api) -> dict[int, int]:
    async with api.sessionmaker() as db:
        return {c.id: c.counts_version for c in (await db.exec(select(Community))).all() if c.id is not None}


async def assert_agree(api: Api) -> None:
    pairs = await both_paths(api)
    assert [summary for summary, _ in pairs] == [exact for _, exact in pairs]


async def stored_verdicts(api: Api, community_id: int) -> int:
    stmt = (
        select(SessionVerdict)
        .join(Session, col(Session.id) == col(SessionVerdict.session_id))
        .where(Session.community_id == community_id)
    )
    async with api.sessionmaker() as db:
        return len((await db.exec(stmt)).all())


async def test_the_summary_counts_what_the_exact_path_counts(api: Api) -> None:
    with time_machine.travel(NOW, tick=False):
        await load_demo(api.settings, history=True)
        headers = await api.auth("scheduler")
        await assert_agree(api)  # counts and caches every community
        async with api.sessionmaker() as db:
            assert len((await db.exec(select(QuotaCount))).all()) == 3
        before = await versions(api)
        window = {"start": "2026-09-01T00:00:00+08:00", "end": "2026-11-19T00:00:00+08:00"}
        past = (await api.client.get("/api/v1/sessions", params=window, headers=headers)).json()
        ended = next(s for s in past if s["status"] == "ended")
        correction = {"held": False, "reason": "主讲端画面中断，复核不计"}
        resp = await api.client.post(f"/api/v1/sessions/{ended['id']}/verdict", json=correction, headers=headers)
        assert resp.status_code == 200, resp.text
        after = await versions(api)
        # Only the corrected session's community must be counted again.
        assert {c for c in after if after[c] != before[c]} == {ended["community_id"]}
        await assert_agree(api)
        # 长涂 leaves the 融合型 community on 1 October: its later lessons no longer count there.
        community = (await api.client.get("/api/v1/communities/1", headers=headers)).json()
        members = [
            {
                "school_id": m["school_id"],
                "joined_on": m["joined_on"],
                "left_on": "2026-10-01" if m["school_name"].endswith("长涂镇中心小学") else m["left_on"],
            }
            for m in community["members"]
        ]
        resp = await api.client.patch("/api/v1/communities/1", json={"members": members}, headers=headers)
        assert resp.status_code == 200, resp.text
        await assert_agree(api)
        upcoming = (await api.client.get("/api/v1/sessions", params={"community_id": 2}, headers=headers)).json()
        later = next(s for s in upcoming if s["status"] == "scheduled")
        resp = await api.client.post(
            f"/api/v1/sessions/{later['id']}/cancel", json={"reason": "台风停课"}, headers=headers
        )
        assert resp.status_code == 200, resp.text

        pairs = await both_paths(api)
        assert [summary for summary, _ in pairs] == [exact for _, exact in pairs]
        assert sum(rule["held"] for summary, _ in pairs for rule in summary) > 0  # something was held
        await assert_agree(api)  # the same, from the cache
        assert await stored_verdicts(api, 2) > 0

        # A stricter held rule forgets the community's stored verdicts; they are judged again on the next count.
        rule = {"held_rules": {"sync_class": {"min_ratio": 0.99}}}
        resp = await api.client.patch("/api/v1/communities/2", json=rule, headers=headers)
        assert resp.status_code == 200, resp.text
        assert await stored_verdicts(api, 2) == 0
        await assert_agree(api)
