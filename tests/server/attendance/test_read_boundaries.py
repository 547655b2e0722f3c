"""Hidden means hidden: a role-boundary table of reads.

A teacher never sees an observer (巡课) — in attendance, observations, reports — and reads the attendance,
quotas, tallies, ledger and reports of the communities their school is or was in (or a session they took
part in); a classroom terminal reads none of them. Schedulers, researchers and admins read the whole
county, observers included.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
import time_machine
from openpyxl import load_workbook

from scheduling.enums import AttendanceEventKind as K
from scheduling.enums import LiveRole
from tests.conftest import Api
from tests.server.attendance.test_attendance_api import START, attend, make_class, run_lifecycle
from tests.server.helpers import assert_error
from tests.server.schedule.conftest import (
    CHANGTU,
    CO_BUILT,
    COLLABORATIVE,
    DAIXI,
    FUSED,
    QUSHANZHONG,
    ROOM_DAIXI,
    ROOM_ERZHONG,
    ROOM_GAOTING,
    ROOM_GAOTING_REC,
    ROOM_QUSHANZHONG,
    SHANGHAI,
    XIUSHAN,
)
from tests.server.schedule.test_booking_boundaries import research

RESEARCHER_NAME = "县教研室 教研员 郑老师"
COMMUNITY_NAMES = {
    FUSED: "高亭小学城乡教育共同体",
    CO_BUILT: "岱山二中—衢山初中联岛共同体",
    COLLABORATIVE: "定海城东—衢山一小协作体",
}
READ_AT = START + timedelta(hours=2)
BOOK_AT = datetime(2026, 11, 20, 8, 0, tzinfo=SHANGHAI)  # a Friday before the class


@dataclass
class Scene:
    fused_class: int
    co_built_class: int


async def held_class_with_a_patrol(api: Api) -> Scene:
    """A held class of community 1 that the researcher patrolled, and a class of community 2."""
    fused = await make_class(api)
    other = {
        "kind": "sync_class",
        "community_id": CO_BUILT,
        "title": "七年级英语",
        "subject": "英语",
        "host_classroom_id": ROOM_ERZHONG,
        "host_teacher_id": await api.person_id("t-erzhong"),
        "receiver_classroom_ids": [ROOM_QUSHANZHONG],
        "start": START.isoformat(),
        "end": (START + timedelta(minutes=45)).isoformat(),
    }
    with time_machine.travel(START - timedelta(days=1)):
        resp = await api.client.post("/api/v1/sessions", json=other, headers=await api.auth("scheduler"))
    assert resp.status_code == 201, resp.text
    await run_lifecycle(api, [-9])
    await attend(api, fused, "t-gaoting", LiveRole.host, ROOM_GAOTING, [(0, 45, K.leave)])
    await attend(api, fused, "dev-daixi-1", LiveRole.receiver, ROOM_DAIXI, [(0, 45, K.leave)])
    await attend(api, fused, "researcher", LiveRole.observer, None, [(10, 30, K.leave)])
    await run_lifecycle(api, [61])
    with time_machine.travel(READ_AT, tick=True):
        note = await api.client.post(
            f"/api/v1/sessions/{fused}/observations", json={"note": "互动充分"}, headers=await api.auth("researcher")
        )
    assert note.status_code == 201, note.text
    return Scene(fused, int(resp.json()["id"]))


@dataclass(frozen=True)
class Read:
    name: str
    login: str
    path: str
    status: int
    check: Callable[[httpx.Response], None] | None = None
    code: str | None = None


def observers(resp: httpx.Response) -> list[dict]:
    return [s for s in resp.json()["seats"] if s["role"] == "observer"]


def sees_the_observer(resp: httpx.Response) -> None:
    (seat,) = observers(resp)
    assert seat["name"] == RESEARCHER_NAME
    assert seat["minutes"] == 20.0


def no_observer(resp: httpx.Response) -> None:
    assert observers(resp) == []
    assert RESEARCHER_NAME not in resp.text
    assert {s["role"] for s in resp.json()["seats"]} == {"host", "receiver"}
    assert resp.json()["verdict"]["held"] is True


def communities(*ids: int) -> Callable[[httpx.Response], None]:
    def check(resp: httpx.Response) -> None:
        assert [c["community_id"] for c in resp.json()] == list(ids)

    return check


def csv_communities(*ids: int) -> Callable[[httpx.Response], None]:
    def check(resp: httpx.Response) -> None:
        rows = list(csv.reader(io.StringIO(resp.text.lstrip("\ufeff"))))[1:]
        assert sorted({r[0] for r in rows}) == sorted(COMMUNITY_NAMES[i] for i in ids)

    return check


def xlsx_communities(*ids: int) -> Callable[[httpx.Response], None]:
    def check(resp: httpx.Response) -> None:
        wb = load_workbook(io.BytesIO(resp.content))
        assert wb.sheetnames == ["汇总", *(COMMUNITY_NAMES[i][:31] for i in ids)]
        texts = [c for ws in wb for row in ws.iter_rows(values_only=True) for c in row if isinstance(c, str)]
        assert not any(RESEARCHER_NAME in t or "巡课" in t for t in texts)

    return check


def ledger_rows(resp: httpx.Response) -> None:
    assert resp.json(), "an empty ledger"


def observations(researcher_shown: bool) -> Callable[[httpx.Response], None]:
    def check(resp: httpx.Response) -> None:
        (note,) = resp.json()
        assert note["note"] == "互动充分"
        assert (note["researcher_id"] is not None) is researcher_shown

    return check


ATT = "/api/v1/sessions/{fused}/attendance"
READS = [
    # attendance of the patrolled class
    Read("researcher sees the observer", "researcher", ATT, 200, sees_the_observer),
    Read("scheduler sees the observer", "scheduler", ATT, 200, sees_the_observer),
    Read("admin sees the observer", "admin", ATT, 200, sees_the_observer),
    Read("host teacher does not", "t-gaoting", ATT, 200, no_observer),
    Read("receiving school's teacher does not", "t-daixi", ATT, 200, no_observer),
    Read("a teacher of the community whose school sat out does not", "t-changtu", ATT, 200, no_observer),
    Read("another community's teacher is refused", "t-erzhong", ATT, 403, code="other_community"),
    Read("a teacher outside the county is refused", "t-dinghai", ATT, 403, code="other_community"),
    Read("a terminal is refused", "dev-daixi-1", ATT, 403, code="forbidden_role"),
    # observations: the observed teacher reads the notes, not who wrote them
    Read(
        "researcher reads who observed", "researcher", "/api/v1/sessions/{fused}/observations", 200, observations(True)
    ),
    Read(
        "host teacher reads the note only",
        "t-gaoting",
        "/api/v1/sessions/{fused}/observations",
        200,
        observations(False),
    ),
    Read("patrol list is the researchers'", "t-gaoting", "/api/v1/patrol/live", 403, code="forbidden_role"),
    Read("patrol list is not the terminals'", "dev-gaoting-1", "/api/v1/patrol/live", 403, code="forbidden_role"),
    # session events go out through webhooks, whose list and delivery log are the admin's
    Read("webhooks are not the teachers'", "t-gaoting", "/api/v1/webhooks", 403, code="forbidden_role"),
    Read("nor the terminals'", "dev-gaoting-1", "/api/v1/webhooks", 403, code="forbidden_role"),
    # quotas, tallies, ledger
    Read(
        "scheduler reads every community's quotas",
        "scheduler",
        "/api/v1/quotas?year=2026",
        200,
        communities(FUSED, CO_BUILT, COLLABORATIVE),
    ),
    Read(
        "researcher reads every community's quotas",
        "researcher",
        "/api/v1/quotas?year=2026",
        200,
        communities(FUSED, CO_BUILT, COLLABORATIVE),
    ),
    Read(
        "a core school's teacher reads its community", "t-gaoting", "/api/v1/quotas?year=2026", 200, communities(FUSED)
    ),
    Read(
        "a member school's teacher reads its community",
        "t-qushan",
        "/api/v1/quotas?year=2026",
        200,
        communities(COLLABORATIVE),
    ),
    Read(
        "own community asked for", "t-daixi", f"/api/v1/quotas?year=2026&community_id={FUSED}", 200, communities(FUSED)
    ),
    Read(
        "another community's quotas",
        "t-gaoting",
        f"/api/v1/quotas?year=2026&community_id={CO_BUILT}",
        403,
        code="other_community",
    ),
    Read("own tallies", "t-gaoting", "/api/v1/tallies?year=2026", 200, communities(FUSED)),
    Read(
        "another community's tallies",
        "t-gaoting",
        f"/api/v1/tallies?year=2026&community_id={CO_BUILT}",
        403,
        code="other_community",
    ),
    Read(
        "scheduler reads any tallies",
        "scheduler",
        f"/api/v1/tallies?year=2026&community_id={CO_BUILT}",
        200,
        communities(CO_BUILT),
    ),
    Read("own ledger", "t-gaoting", f"/api/v1/quotas/{FUSED}/sessions?year=2026", 200, ledger_rows),
    Read(
        "another community's ledger",
        "t-gaoting",
        f"/api/v1/quotas/{CO_BUILT}/sessions?year=2026",
        403,
        code="other_community",
    ),
    Read("terminal reads no quotas", "dev-gaoting-1", "/api/v1/quotas?year=2026", 403, code="forbidden_role"),
    # the bureau's report, as a teacher and as a scheduler
    Read("report json, teacher", "t-gaoting", "/api/v1/reports/quotas?year=2026&format=json", 200, communities(FUSED)),
    Read(
        "report csv, teacher", "t-gaoting", "/api/v1/reports/quotas?year=2026&format=csv", 200, csv_communities(FUSED)
    ),
    Read(
        "report xlsx, teacher",
        "t-gaoting",
        "/api/v1/reports/quotas?year=2026&format=xlsx",
        200,
        xlsx_communities(FUSED),
    ),
    Read(
        "report xlsx, scheduler",
        "scheduler",
        "/api/v1/reports/quotas?year=2026&format=xlsx",
        200,
        xlsx_communities(FUSED, CO_BUILT, COLLABORATIVE),
    ),
    Read(
        "report csv, scheduler",
        "scheduler",
        "/api/v1/reports/quotas?year=2026&format=csv",
        200,
        csv_communities(FUSED, CO_BUILT, COLLABORATIVE),
    ),
]


async def test_teachers_read_their_communities_without_observers(demo_api: Api) -> None:
    api = demo_api
    scene = await held_class_with_a_patrol(api)
    ids = {"fused": scene.fused_class, "co_built": scene.co_built_class}
    with time_machine.travel(READ_AT, tick=True):
        for row in READS:
            resp = await api.client.get(row.path.format(**ids), headers=await api.auth(row.login))
            if row.status != 200:
                assert_error(resp, row.status, row.code)
                continue
            assert resp.status_code == 200, (row.name, resp.text)
            assert row.check is not None
            try:
                row.check(resp)
            except AssertionError as exc:
                raise AssertionError(f"{row.name}: {exc}") from exc
        # A teacher's ledger is their community's sessions, the class among them.
        ledger = await api.client.get(f"/api/v1/quotas/{FUSED}/sessions?year=2026", headers=await api.auth("t-daixi"))
        assert [r["session_id"] for r in ledger.json()] == [scene.fused_class]


async def test_a_school_that_left_still_reads_its_years_and_one_not_yet_in_reads_nothing(demo_api: Api) -> None:
    api = demo_api
    scene = await held_class_with_a_patrol(api)
    # 岱西 leaves community 1 after the class, and is to join community 2 next term.
    fused = [
        {"school_id": DAIXI, "joined_on": "2021-09-01", "left_on": "2026-11-30"},
        {"school_id": CHANGTU, "joined_on": "2021-09-01"},
    ]
    co_built = [
        {"school_id": QUSHANZHONG, "joined_on": "2022-02-14"},
        {"school_id": XIUSHAN, "joined_on": "2022-02-14"},
        {"school_id": DAIXI, "joined_on": "2027-02-01"},
    ]
    with time_machine.travel(READ_AT, tick=True):
        for community, members in ((FUSED, fused), (CO_BUILT, co_built)):
            resp = await api.client.patch(
                f"/api/v1/communities/{community}", json={"members": members}, headers=await api.auth("scheduler")
            )
            assert resp.status_code == 200, resp.text
    with time_machine.travel(datetime(2026, 12, 10, 9, tzinfo=SHANGHAI), tick=True):
        teacher = await api.auth("t-daixi")
        quotas = await api.client.get("/api/v1/quotas?year=2026", headers=teacher)
        assert [c["community_id"] for c in quotas.json()] == [FUSED]
        attendance = await api.client.get(f"/api/v1/sessions/{scene.fused_class}/attendance", headers=teacher)
        assert attendance.status_code == 200, attendance.text
        assert observers(attendance) == []
        assert_error(
            await api.client.get(f"/api/v1/sessions/{scene.co_built_class}/attendance", headers=teacher),
            403,
            "other_community",
        )


async def test_a_teacher_invited_from_outside_reads_the_session_they_took_part_in(demo_api: Api) -> None:
    """A scheduler may invite a teacher of another community; that teacher reads the session's attendance
    (without observers), not the community's counts."""
    api = demo_api
    body = await research(api, "t-gaoting", FUSED, ROOM_GAOTING_REC, ("t-erzhong",))
    with time_machine.travel(BOOK_AT, tick=True):
        resp = await api.client.post("/api/v1/sessions", json=body, headers=await api.auth("scheduler"))
        assert resp.status_code == 201, resp.text
        session_id = resp.json()["id"]
        teacher = await api.auth("t-erzhong")
        attendance = await api.client.get(f"/api/v1/sessions/{session_id}/attendance", headers=teacher)
        assert attendance.status_code == 200, attendance.text
        assert_error(await api.client.get(f"/api/v1/quotas/{FUSED}/sessions", headers=teacher), 403, "other_community")
        assert_error(
            await api.client.get(f"/api/v1/sessions/{session_id}/attendance", headers=await api.auth("t-qushan")),
            403,
            "other_community",
        )
