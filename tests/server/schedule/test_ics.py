"""The iCalendar feeds, read the way a calendar app reads them, give exactly the sessions the API lists."""

from __future__ import annotations

from datetime import date, datetime

import icalendar
import recurring_ical_events

from tests.conftest import Api
from tests.server.helpers import assert_error
from tests.server.schedule.conftest import FUSED, ROOM_CHANGTU, ROOM_DAIXI, ROOM_GAOTING, SHANGHAI, at


async def _make_term(api: Api) -> dict:
    headers = await api.auth("scheduler")
    await api.client.post(
        "/api/v1/holidays/import",
        json={"days": [{"day": "2026-10-10", "is_holiday": False, "name": "国庆调休", "timetable_weekday": 1}]},
        headers=headers,
    )
    body = {
        "kind": "sync_class",
        "community_id": FUSED,
        "title": "六年级科学",
        "subject": "科学",
        "grade": 6,
        "host_classroom_id": ROOM_GAOTING,
        "host_teacher_id": await api.person_id("t-gaoting"),
        "receiver_classroom_ids": [ROOM_DAIXI, ROOM_CHANGTU],
        "start": at("2026-09-01", "08:50"),
        "end": at("2026-09-01", "09:30"),
        "rrule": "FREQ=WEEKLY;BYDAY=TU",
        "until": "2027-01-19",
    }
    series = (await api.client.post("/api/v1/series", json=body, headers=headers)).json()
    by_day = {s["start"][:10]: s for s in series["sessions"]}
    await api.client.post(
        f"/api/v1/sessions/{by_day['2026-12-01']['id']}/cancel", json={"reason": "运动会"}, headers=headers
    )
    await api.client.post(
        f"/api/v1/sessions/{by_day['2026-12-08']['id']}/reschedule",
        json={"date": "2026-12-09", "period": 3},
        headers=headers,
    )
    one_off = {**body, "title": "补课", "start": at("2026-12-03", "13:30"), "end": at("2026-12-03", "14:10")}
    del one_off["rrule"], one_off["until"]
    await api.client.post("/api/v1/sessions", json=one_off, headers=headers)
    return series


def _expand(ics: bytes) -> list[icalendar.Event]:
    cal = icalendar.Calendar.from_ical(ics)
    return recurring_ical_events.of(cal).between(date(2026, 8, 1), date(2027, 2, 1))


async def test_teacher_feed_matches_the_api_exactly(demo_api: Api) -> None:
    await _make_term(demo_api)
    teacher_id = await demo_api.person_id("t-gaoting")
    links = (await demo_api.client.get("/api/v1/calendars/links", headers=await demo_api.auth("t-gaoting"))).json()
    assert links["teacher"].startswith(f"/api/v1/calendars/teachers/{teacher_id}.ics?token=")
    resp = await demo_api.client.get(links["teacher"])  # no bearer: the feed token stands in
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/calendar")
    events = _expand(resp.content)
    listed = (
        await demo_api.client.get(
            "/api/v1/sessions", params={"teacher_id": teacher_id}, headers=await demo_api.auth("scheduler")
        )
    ).json()
    api_live = sorted(datetime.fromisoformat(s["start"]) for s in listed if s["status"] != "cancelled")
    feed_live = sorted(e["DTSTART"].dt for e in events if str(e.get("STATUS")) != "CANCELLED")
    assert feed_live == api_live
    cancelled = [e for e in events if str(e.get("STATUS")) == "CANCELLED"]
    assert [e["DTSTART"].dt.date() for e in cancelled] == [date(2026, 12, 1)]
    assert datetime(2026, 10, 10, 8, 50, tzinfo=SHANGHAI) in feed_live  # the make-up Saturday (RDATE)
    assert datetime(2026, 12, 9, 9, 55, tzinfo=SHANGHAI) in feed_live  # moved (RECURRENCE-ID override)
    raw = resp.text
    rrule_line = next(line for line in raw.splitlines() if line.startswith("RRULE:"))
    assert "FREQ=WEEKLY" in rrule_line
    assert "BYDAY=TU" in rrule_line
    assert "UNTIL=20270119T" in rrule_line
    assert "EXDATE" in raw
    assert "VTIMEZONE" in raw
    assert "TZID=Asia/Shanghai" in raw
    assert "UID:series-" in raw


async def test_uids_are_stable_between_fetches(demo_api: Api) -> None:
    series = await _make_term(demo_api)
    url = f"/api/v1/calendars/communities/{FUSED}.ics"
    headers = await demo_api.auth("scheduler")
    first = icalendar.Calendar.from_ical((await demo_api.client.get(url, headers=headers)).content)
    second = icalendar.Calendar.from_ical((await demo_api.client.get(url, headers=headers)).content)
    uids = [str(e["UID"]) for e in first.walk("VEVENT")]
    assert uids == [str(e["UID"]) for e in second.walk("VEVENT")]
    assert f"series-{series['id']}@haiqiao" in uids


async def test_classroom_feed_and_refusals(demo_api: Api) -> None:
    await _make_term(demo_api)
    device = await demo_api.auth("dev-changtu-1")
    own = await demo_api.client.get(f"/api/v1/calendars/classrooms/{ROOM_CHANGTU}.ics", headers=device)
    assert own.status_code == 200
    assert len(_expand(own.content)) > 15
    assert_error(await demo_api.client.get(f"/api/v1/calendars/classrooms/{ROOM_DAIXI}.ics", headers=device), 403)
    assert_error(await demo_api.client.get("/api/v1/calendars/teachers/1.ics?token=forged"), 401, "invalid_feed_token")
    assert_error(await demo_api.client.get("/api/v1/calendars/teachers/1.ics"), 401)
    assert_error(
        await demo_api.client.get("/api/v1/calendars/teachers/99999.ics", headers=await demo_api.auth("admin")), 404
    )
