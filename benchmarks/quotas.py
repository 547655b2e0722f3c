"""A province-sized year on PostgreSQL: the county quota summary and one community's report.

Loads 2,000 communities (6,000 schools), 250,000 sessions and 2,000,000 attendance intervals into a fresh
database with the project's migrations and COPY (benchmarks/quotas_province.py), then times through the real
HTTP API (create_app, in process): GET /api/v1/quotas (every community's counters: the county summary),
GET /api/v1/quotas?community_id= and /api/v1/quotas/{id}/sessions (one community's counters and the
sessions behind them, each with its verdict), all read from the stored facts (one per session), against a
baseline measured in the same run: a plain
`SELECT count(*) FROM sessions` through the same stack. Prints the main query's plan (EXPLAIN ANALYZE).
Also times computing facts as the lifecycle does when sessions end.

Run: .venv/bin/python benchmarks/quotas.py [--scale 0.05] [--keep] [--database-url postgresql+asyncpg://…]
Only 127.0.0.1 is used.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo; this folder stays on the path too

import argparse
import asyncio
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
from quotas_province import TODAY, copy_in, generate
from sqlalchemy import event, text

from scheduling.enums import ReportFormat, ReportScope
from server.app import create_app
from server.attendance.facts import touch
from server.auth.security import hash_password
from server.db.migrate import upgrade
from server.reports.jobs import make_report, new_job
from server.settings import Settings

ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


async def fresh_database(name: str) -> None:
    conn = await asyncpg.connect(ADMIN_DSN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def drop_database(name: str) -> None:
    conn = await asyncpg.connect(ADMIN_DSN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def timed(label: str, call: Any, runs: int) -> list[float]:
    await call()  # warm: connection pool, plan cache
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        await call()
        times.append((time.perf_counter() - t0) * 1000)
    print(f"  {label:<46} median {statistics.median(times):8.1f} ms   p95 {pct(times, 0.95):8.1f} ms")
    return times


async def timed_after(label: str, call: Any, marks: list[float], runs: int) -> list[float]:
    """Runs ``call`` (a write, a mark, then a read) and times the read from the mark."""
    await call()
    times = []
    for _ in range(runs):
        await call()
        times.append((time.perf_counter() - marks[-1]) * 1000)
    print(f"  {label:<46} median {statistics.median(times):8.1f} ms   p95 {pct(times, 0.95):8.1f} ms")
    return times


async def timed_cold(label: str, engine: Any, get: Any, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM quota_counts"))
        t0 = time.perf_counter()
        await get("/api/v1/quotas", year=2026)
        times.append((time.perf_counter() - t0) * 1000)
    print(f"  {label:<46} median {statistics.median(times):8.1f} ms   p95 {pct(times, 0.95):8.1f} ms")
    return times


async def measure(url: str, runs: int, community_id: int) -> dict[str, list[float]]:
    files = tempfile.mkdtemp(prefix="haiqiao-bench-")  # the report job's file, removed at the end
    settings = Settings(database_url=url, run_jobs=False, recordings_dir=f"{files}/recordings")
    app = create_app(settings)
    captured: list[tuple[str, Any]] = []
    async with app.router.lifespan_context(app):
        engine = app.state.engine
        async with engine.begin() as conn:  # a scheduler to log in as
            await conn.execute(
                text(
                    "INSERT INTO people (name, login, password_hash, roles, active, created_at) "
                    "VALUES ('教务科', 'bench-scheduler', :h, '[\"scheduler\"]', true, now())"
                ),
                {"h": hash_password("bench-password-1")},
            )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=600) as client:
            form = {"username": "bench-scheduler", "password": "bench-password-1"}
            token = (await client.post("/api/v1/auth/token", data=form)).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}

            async def get(path: str, **params: Any) -> Any:
                resp = await client.get(path, params=params, headers=headers)
                assert resp.status_code == 200, resp.text
                return resp.json()

            async def baseline() -> None:
                async with app.state.sessionmaker() as db:
                    await db.exec(text("SELECT count(*) FROM sessions"))  # type: ignore[call-overload]

            t0 = time.perf_counter()
            summary = await get("/api/v1/quotas", year=2026)
            cold = (time.perf_counter() - t0) * 1000
            held = sum(r["held"] for c in summary for r in c["rules"] if r["rule"].startswith("同步课堂、"))
            print(f"  summary: {len(summary)} communities, {held} sessions held towards the 60-per-year rule")
            print(f"  county summary, cold (every community counted, then cached)  {cold:8.1f} ms")
            corrected = iter(range(1, 10_000))

            correcting: list[float] = []

            async def after_a_write() -> None:
                # A scheduler corrects one verdict through the API (its fact is computed again in the same
                # transaction and its community's counts retired); the summary is timed right after.
                async with app.state.sessionmaker() as db:
                    row = (
                        await db.exec(  # type: ignore[call-overload]
                            text(
                                "SELECT session_id, held FROM session_facts WHERE status = 'ended' "
                                "ORDER BY session_id OFFSET :n LIMIT 1"
                            ),
                            params={"n": next(corrected) * 97},
                        )
                    ).one()
                t0 = time.perf_counter()
                body = {"held": not row[1], "reason": "复核"}
                resp = await client.post(f"/api/v1/sessions/{row[0]}/verdict", json=body, headers=headers)
                assert resp.status_code == 200, resp.text
                correcting.append((time.perf_counter() - t0) * 1000)
                written_at.append(time.perf_counter())
                await get("/api/v1/quotas", year=2026)

            written_at: list[float] = []

            out = {
                "baseline": await timed("baseline: SELECT count(*) FROM sessions", baseline, runs),
                "summary": await timed(
                    "county summary, cached  GET /quotas?year=2026", lambda: get("/api/v1/quotas", year=2026), runs
                ),
                "written": await timed_after(
                    "county summary right after one correction", after_a_write, written_at, runs
                ),
                "one": await timed(
                    "one community   GET /quotas?community_id=",
                    lambda: get("/api/v1/quotas", community_id=community_id),
                    runs,
                ),
                "ledger": await timed(
                    "one community's sessions and verdicts",
                    lambda: get(f"/api/v1/quotas/{community_id}/sessions"),
                    runs,
                ),
            }

            print(f"  the correction itself (POST …/verdict)  median {statistics.median(correcting):8.1f} ms")

            def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
                if "count(*) AS count_1" in statement and "session_facts" in statement:
                    captured.append((statement, parameters))

            async with engine.begin() as conn:  # every community stale: the grouped query runs for all
                await conn.execute(text("UPDATE communities SET counts_version = counts_version + 1"))
            event.listen(engine.sync_engine, "before_cursor_execute", capture)
            await get("/api/v1/quotas", year=2026)
            event.remove(engine.sync_engine, "before_cursor_execute", capture)
            if captured:
                statement, parameters = captured[-1]
                async with engine.connect() as conn:
                    raw = await conn.get_raw_connection()
                    plan = await raw.driver_connection.fetch("EXPLAIN (ANALYZE, COSTS OFF) " + statement, *parameters)
                print("\n  plan of the summary's grouped query (EXPLAIN ANALYZE):")
                for row in plan:
                    print("   ", row[0])

            async with engine.begin() as conn:  # cold: no cached count at all
                await conn.execute(text("DELETE FROM quota_counts"))
            out["cold"] = await timed_cold("county summary, cold (nothing cached)", engine, get, runs)

            # What the lifecycle pays when sessions end: their facts judged from their events and stored.
            async with app.state.sessionmaker() as db, db.begin():
                ids = list(
                    (
                        await db.exec(text("SELECT session_id FROM session_facts WHERE status = 'ended' LIMIT 500"))
                    ).scalars()  # type: ignore[call-overload]
                )
                t0 = time.perf_counter()
                stored = await touch(db, settings, datetime.now(UTC), sessions=ids)
                per = (time.perf_counter() - t0) * 1000 / max(stored, 1)
                await db.rollback()
            print(f"\n  computing a fact when a session ends: {per:.2f} ms per session ({stored} sessions)")

            # The province's xlsx, made as the report job makes it (server/reports/jobs.py).
            async with app.state.sessionmaker() as db, db.begin():
                job = new_job(ReportScope.county, [], 2026, ReportFormat.xlsx, None)
                db.add(job)
            t0 = time.perf_counter()
            done = await make_report(app.state.sessionmaker, settings, job.id)
            took = time.perf_counter() - t0
            assert done is not None
            print(f"  the province's xlsx as a job: {took:.1f} s, {done.state.value}, {done.bytes / 1e6:.1f} MB")
            out["xlsx_job"] = [took * 1000]
            shutil.rmtree(files, ignore_errors=True)
    return out


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--database", default="haiqiao_bench")
    args = parser.parse_args()
    communities = max(10, int(2000 * args.scale))
    sessions, intervals = int(250_000 * args.scale), int(2_000_000 * args.scale)
    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{args.database}"
    print(f"province: {communities} communities, {sessions} sessions, ~{intervals} intervals (scale {args.scale})")
    t0 = time.perf_counter()
    await fresh_database(args.database)
    await asyncio.to_thread(upgrade, url)
    province = generate(communities, sessions, intervals)
    await copy_in(url.replace("+asyncpg", ""), province)
    print(
        f"loaded in {time.perf_counter() - t0:.0f} s: {province.count('sessions')} sessions, "
        f"{province.count('attendance_events') // 2} intervals, {province.count('session_facts')} stored facts, "
        f"{province.count('held_corrections')} corrections (today is {TODAY})\n"
    )
    try:
        result = await measure(url, args.runs, community_id=communities // 2)
    finally:
        if not args.keep:
            await drop_database(args.database)
    base = statistics.median(result["baseline"])
    print("\n  ratios to the baseline (same run):")
    for key, label in (
        ("summary", "county summary, cached"),
        ("written", "summary after a correction"),
        ("cold", "summary, cold"),
        ("one", "one community"),
        ("ledger", "one community's sessions"),
    ):
        print(f"    {label:<28} ×{statistics.median(result[key]) / base:8.1f}")


if __name__ == "__main__":
    asyncio.run(main())
