"""报表任务: the county's quota report made by a job — its progress, its file against the JSON answer, a
second request joining the first, a failure shown with its reason, the signed link and who may ask."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from openpyxl import load_workbook
from sqlmodel import select

from scheduling.enums import DownloadState, ReportFormat, ReportScope
from server.db.types import utcnow
from server.models import ReportJob
from server.recordings import links
from server.reports import jobs
from tests.conftest import Api
from tests.server.helpers import assert_error
from tests.server.reports.gate import hold_after_first_community
from tests.server.schedule.conftest import FUSED

JOBS = "/api/v1/reports/quotas/jobs"
YEAR = datetime.now(UTC).year  # the demo term's history lies in the current year's autumn


@pytest.fixture
async def county_api(api: Api) -> Api:
    """The demo county with its term's history: held, missed and cancelled sessions to count."""
    from server.demo.loader import load_demo

    await load_demo(api.settings, history=True)
    return api


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> asyncio.Event:
    """Holds a job after its first community until set: the test sees the progress between."""
    return hold_after_first_community(monkeypatch)


async def poll(api: Api, job_id: int, login: str, until: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    headers = await api.auth(login)
    async with asyncio.timeout(60):
        while True:
            resp = await api.client.get(f"/api/v1/reports/jobs/{job_id}", headers=headers)
            assert resp.status_code == 200, resp.text
            if until(job := resp.json()):
                return job
            await asyncio.sleep(0.05)


async def json_answer(api: Api, login: str = "scheduler") -> list[dict[str, Any]]:
    resp = await api.client.get(
        "/api/v1/reports/quotas", params={"year": YEAR, "format": "json"}, headers=await api.auth(login)
    )
    assert resp.status_code == 200, resp.text
    return list(resp.json())


def json_rows(answer: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [
        (c["community"], r["rule"], r["required"], r["held"], r["scheduled"], r["pending"], r["missed"], r["cancelled"])
        for c in answer
        for r in c["rules"]
    ]


async def test_progress_moves_a_second_request_joins_and_the_xlsx_totals_equal_the_json_answer(
    county_api: Api, gate: asyncio.Event
) -> None:
    api = county_api
    headers = await api.auth("scheduler")
    async with asyncio.timeout(120):
        first = await api.client.post(JOBS, json={"year": YEAR, "format": "xlsx"}, headers=headers)
        assert first.status_code == 202, first.text
        job = first.json()
        assert (job["scope"], job["state"], job["url"]) == ("county", "queued", None)
        communities = (await api.client.get("/api/v1/communities", headers=headers)).json()
        between = await poll(api, job["id"], "scheduler", lambda j: j["done"] >= 1)
        assert (between["state"], between["done"], between["total"]) == ("running", 1, len(communities))
        again = await api.client.post(JOBS, json={"format": "xlsx", "year": YEAR}, headers=await api.auth("admin"))
        assert again.status_code == 202
        assert again.json()["id"] == job["id"]  # joined, not a second job
        async with api.sessionmaker() as db:
            assert len((await db.exec(select(ReportJob))).all()) == 1
        gate.set()
        done = await poll(api, job["id"], "scheduler", lambda j: j["state"] != "running")
        assert (done["state"], done["done"], done["total"]) == ("done", len(communities), len(communities))
        file = await api.client.get(done["url"])  # the link is the authorisation: no token
        answer = await json_answer(api)
    assert file.status_code == 200, file.text
    assert file.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in file.headers["content-disposition"]
    assert done["bytes"] == len(file.content)
    wb = load_workbook(io.BytesIO(file.content))
    summary = [tuple(row[:8]) for row in wb["汇总"].iter_rows(min_row=3, values_only=True)]
    assert summary == json_rows(answer)
    assert sum(r[3] for r in summary) > 0, "the demo term has held sessions"
    assert len(wb.sheetnames) == 1 + len(answer)
    # A new request once it is done makes a fresh report (the counts may have moved since).
    fresh = await api.client.post(JOBS, json={"year": YEAR, "format": "xlsx"}, headers=headers)
    assert fresh.json()["id"] != job["id"]
    await asyncio.wait_for(asyncio.gather(*api_reports(api).tasks.values()), 60)


def api_reports(api: Api) -> jobs.Reports:
    return api.client._transport.app.state.reports  # type: ignore[attr-defined]


async def test_a_teachers_csv_covers_their_communities_and_equals_the_json_answer(county_api: Api) -> None:
    api = county_api
    headers = await api.auth("t-gaoting")
    async with asyncio.timeout(120):
        resp = await api.client.post(JOBS, json={"year": YEAR, "format": "csv"}, headers=headers)
        assert resp.status_code == 202, resp.text
        job = resp.json()
        assert job["scope"] == "communities"
        assert FUSED in job["community_ids"]
        done = await poll(api, job["id"], "t-gaoting", lambda j: j["state"] != "queued" and j["state"] != "running")
        file = await api.client.get(done["url"])
        answer = await json_answer(api, "t-gaoting")
    assert done["state"] == "done", done
    assert file.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(file.content.decode("utf-8-sig"))))
    assert rows[0][:2] == ["教共体", "考核项目"]
    expected = [tuple(str(v) for v in row) for row in json_rows(answer)]
    assert [tuple(r[:8]) for r in rows[1:]] == expected
    assert {c["community_id"] for c in answer} == set(job["community_ids"])


async def test_who_may_ask_and_read_a_report_job(demo_api: Api) -> None:
    api = demo_api
    async with asyncio.timeout(60):
        county = await api.client.post(JOBS, json={"year": YEAR}, headers=await api.auth("researcher"))
        assert county.status_code == 202, county.text
        assert (county.json()["scope"], county.json()["format"]) == ("county", "xlsx")
        teacher = await api.auth("t-gaoting")
        assert_error(await api.client.get(f"/api/v1/reports/jobs/{county.json()['id']}", headers=teacher), 403)
        others = {"year": YEAR, "community_ids": [FUSED, FUSED + 1, FUSED + 2]}
        assert_error(await api.client.post(JOBS, json=others, headers=teacher), 403)
        assert_error(await api.client.post(JOBS, json={"year": YEAR}, headers=await api.auth("dev-daixi-1")), 403)
        missing = {"year": YEAR, "community_ids": [999]}
        assert_error(await api.client.post(JOBS, json=missing, headers=await api.auth("scheduler")), 404)
        bad = {"year": YEAR, "format": "pdf"}
        assert_error(await api.client.post(JOBS, json=bad, headers=await api.auth("scheduler")), 422)
        assert_error(await api.client.get("/api/v1/reports/jobs/999", headers=teacher), 404)
        await asyncio.wait_for(asyncio.gather(*api_reports(api).tasks.values()), 30)


@pytest.fixture
def unwritable(tmp_path: Path) -> str:
    """A reports directory that can't be made (a file stands in its way), as a full or read-only disk."""
    (tmp_path / "a-file").write_text("x")
    return str(tmp_path / "a-file" / "reports")


async def test_a_failed_job_shows_failed_with_its_error_and_a_new_request_tries_again(
    demo_api: Api, unwritable: str
) -> None:
    api = demo_api
    api.settings.reports_dir = unwritable
    headers = await api.auth("scheduler")
    async with asyncio.timeout(60):
        job = (await api.client.post(JOBS, json={"year": YEAR, "format": "json"}, headers=headers)).json()
        failed = await poll(api, job["id"], "scheduler", lambda j: j["state"] in ("done", "failed"))
        assert failed["state"] == "failed"
        assert "NotADirectoryError" in failed["error"] or "FileExistsError" in failed["error"], failed
        assert failed["url"] is None
        api.settings.reports_dir = ""
        again = (await api.client.post(JOBS, json={"year": YEAR, "format": "json"}, headers=headers)).json()
        assert again["id"] != job["id"]
        done = await poll(api, again["id"], "scheduler", lambda j: j["state"] in ("done", "failed"))
        assert done["state"] == "done", done
        assert (await api.client.get(done["url"])).json() == await json_answer(api)


async def test_the_link_is_for_reports_alone_and_expires(demo_api: Api) -> None:
    api = demo_api
    headers = await api.auth("scheduler")
    async with asyncio.timeout(60):
        job = (await api.client.post(JOBS, json={"year": YEAR, "format": "json"}, headers=headers)).json()
        done = await poll(api, job["id"], "scheduler", lambda j: j["state"] in ("done", "failed"))
        url = urlsplit(done["url"])
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        assert (await api.client.get(url.path, params=query)).status_code == 200
        secret, job_id, expires = api.settings.secret_key, job["id"], int(query["expires"])
        for purpose in (links.Purpose.download, links.Purpose.recording):  # another purpose's signature
            forged = {"expires": expires, "sig": links.signature(secret, job_id, expires, purpose)}
            assert_error(await api.client.get(url.path, params=forged), 403, "link_invalid")
        other = {"expires": expires, "sig": links.signature(secret, job_id + 1, expires, links.Purpose.report)}
        assert_error(await api.client.get(url.path, params=other), 403, "link_invalid")
        past = int(datetime.now(UTC).timestamp()) - 1
        old = {"expires": past, "sig": links.signature(secret, job_id, past, links.Purpose.report)}
        assert_error(await api.client.get(url.path, params=old), 403, "link_expired")
        # A report's link does not fetch a lesson's MP4 either.
        mp4 = {"expires": expires, "sig": query["sig"]}
        assert_error(await api.client.get(f"/api/v1/sessions/{job_id}/download/file", params=mp4), 403)


async def test_a_done_report_is_kept_its_days_then_deleted_with_its_job(demo_api: Api) -> None:
    api = demo_api
    async with asyncio.timeout(60):
        async with api.sessionmaker() as db, db.begin():
            row = jobs.new_job(ReportScope.county, [], YEAR, ReportFormat.csv, None)
            db.add(row)
        made = await jobs.make_report(api.sessionmaker, api.settings, row.id or 0)  # as a script runs it
        assert made is not None
        assert made.state is DownloadState.done
        assert made.path
        path = jobs.reports_root(api.settings) / made.path
        assert path.read_bytes().startswith("\ufeff教共体".encode())
        kept = utcnow() + timedelta(days=api.settings.report_keep_days - 1)
        assert await jobs.prune(api.sessionmaker, api.settings, kept) == 0
        assert await jobs.prune(api.sessionmaker, api.settings, kept + timedelta(days=2)) == 1
        assert not path.exists()
        headers = await api.auth("scheduler")
        assert_error(await api.client.get(f"/api/v1/reports/jobs/{made.id}", headers=headers), 404)


async def test_in_a_cluster_a_job_whose_beat_stopped_is_taken_over_and_a_beating_one_joined(demo_api: Api) -> None:
    api = demo_api
    # Another app process of a cluster (Redis set): it cannot tell a job of a living process by its tasks.
    other = jobs.Reports(api.settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"}), api.sessionmaker)
    async with asyncio.timeout(60):
        async with api.sessionmaker() as db, db.begin():
            row = jobs.new_job(ReportScope.county, [], YEAR, ReportFormat.json, None)
            row.state, row.beat_at = DownloadState.running, utcnow() - timedelta(seconds=5)
            db.add(row)
        joined = await other.request(ReportScope.county, [], YEAR, ReportFormat.json, None)
        assert (joined.id, joined.state) == (row.id, DownloadState.running)
        assert other.tasks == {}  # its maker is alive somewhere: joined, not started again
        async with api.sessionmaker() as db, db.begin():
            stale = await db.get(ReportJob, row.id)
            assert stale is not None
            stale.beat_at = utcnow() - timedelta(minutes=2)  # that process died
            db.add(stale)
        taken = await other.request(ReportScope.county, [], YEAR, ReportFormat.json, None)
        assert taken.id == row.id
        assert list(other.tasks) == [row.id]
        await asyncio.gather(*other.tasks.values())
        async with api.sessionmaker() as db:
            ended = await db.get(ReportJob, row.id)
            assert ended is not None
            assert (ended.state, ended.active_key) == (DownloadState.done, None)


async def test_a_job_left_queued_by_a_stopped_service_is_taken_up_at_its_start(demo_api: Api) -> None:
    api = demo_api
    async with asyncio.timeout(60):
        async with api.sessionmaker() as db, db.begin():
            row = jobs.new_job(ReportScope.communities, [FUSED], YEAR, ReportFormat.json, None)
            db.add(row)
        restarted = jobs.Reports(api.settings, api.sessionmaker)  # one process, no Redis: what is left is its
        assert await restarted.resume() == 1
        await asyncio.gather(*restarted.tasks.values())
        headers = await api.auth("t-gaoting")
        done = (await api.client.get(f"/api/v1/reports/jobs/{row.id}", headers=headers)).json()
        assert (done["state"], done["done"], done["total"]) == ("done", 1, 1)
        (only,) = (await api.client.get(done["url"])).json()
        assert only["community_id"] == FUSED
