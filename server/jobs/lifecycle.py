"""The lifecycle sweep: a persisted APScheduler job that moves every session whose time has come.

The state lives in the sessions table, so a sweep after a restart applies exactly what is due and
nothing twice. Presence (who is connected) comes from the live rooms through ``app.state.presence``.
"""

from __future__ import annotations

import logging
from datetime import datetime

import httpx
from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from scheduling.enums import SessionStatus
from scheduling.session_states import NOBODY, Presence
from server.attendance import facts
from server.attendance.summary import county_quotas
from server.backup.job import install_backups
from server.hooks.addresses import AddressPolicy
from server.hooks.delivery import deliver_due
from server.jobs.runner import JobRunner, runner_for
from server.live import heartbeats
from server.models import Session
from server.recordings.retention import install_retention
from server.schedule.transitions import PresenceOf, settle_now, timing_of
from server.settings import Settings
from server.timefmt import SHANGHAI

log = logging.getLogger("haiqiao.lifecycle")

LIFECYCLE_JOB = "lifecycle:sweep"
WEBHOOK_JOB = "webhooks:deliver"
QUOTA_JOB = "quotas:warm"
FACT_BATCH = 500


def no_presence(_session_id: int) -> Presence:
    return NOBODY


async def sweep(
    db: AsyncSession, now: datetime, settings: Settings, presence_of: PresenceOf = no_presence
) -> list[tuple[int, list[SessionStatus]]]:
    """Settle every session with a transition due at ``now`` and compute the facts of those that moved
    (a session over is judged here); returns what moved."""
    timing = timing_of(settings)
    due_to_open = (col(Session.status) == SessionStatus.scheduled) & (col(Session.start) <= now + timing.lobby)
    running = col(Session.status).in_([SessionStatus.open, SessionStatus.live])
    stmt = select(Session).where(or_(due_to_open, running)).order_by(col(Session.start))
    moved = []
    for session in (await db.exec(stmt)).all():
        assert session.id is not None
        path = await settle_now(db, session, now, timing, presence_of(session.id))
        if path:
            moved.append((session.id, path))
    await facts.touch(db, settings, now, sessions=[session_id for session_id, _ in moved])
    return moved


async def lifecycle_tick(database_url: str) -> None:
    """The persisted job's body: find the app by its database and sweep."""
    runner = runner_for(database_url)
    if runner is None:
        return
    await run_sweep(runner)


async def run_sweep(runner: JobRunner) -> list[tuple[int, list[SessionStatus]]]:
    runner.on_run(LIFECYCLE_JOB)
    now = runner.clock()
    async with runner.sessionmaker() as db, db.begin():
        # Rooms whose holder stopped beating: their open connections end at its last beat first.
        await heartbeats.recover(db, now, runner.settings)
        moved = await sweep(db, now, runner.settings, runner.presence_of)
    for session_id, path in moved:
        log.info("session %s → %s", session_id, " → ".join(s.value for s in path))
    if runner.after_sweep is not None:
        await runner.after_sweep()
    return moved


async def webhook_tick(database_url: str) -> None:
    runner = runner_for(database_url)
    if runner is None:
        return
    async with httpx.AsyncClient(timeout=5.0) as client, runner.sessionmaker() as db, db.begin():
        policy = AddressPolicy.from_settings(runner.settings.webhook_allowed_networks)
        await deliver_due(db, client, runner.clock(), policy=policy)


async def quota_tick(database_url: str) -> None:
    """Keep the county summary's cache warm: stale communities (a new day, writes) are counted here
    rather than by the next person who opens the dashboard."""
    runner = runner_for(database_url)
    if runner is None:
        return
    await warm_quotas(runner)


async def warm_quotas(runner: JobRunner) -> int:
    runner.on_run(QUOTA_JOB)
    today = runner.clock().astimezone(SHANGHAI).date()
    while True:  # sessions without a fact (after an upgrade, a bulk load): a transaction per batch
        async with runner.sessionmaker() as db, db.begin():
            stored = await facts.fill_missing(db, None, None, runner.settings, runner.clock(), limit=FACT_BATCH)
        if stored < FACT_BATCH:
            break
    async with runner.sessionmaker() as db, db.begin():
        counted = await county_quotas(db, today.year, today, runner.settings)
    return len(counted)


def install_jobs(runner: JobRunner, sweep_seconds: float) -> None:
    runner.every(LIFECYCLE_JOB, sweep_seconds, lifecycle_tick)
    runner.every(WEBHOOK_JOB, 10, webhook_tick)
    runner.every(QUOTA_JOB, 600, quota_tick)
    install_retention(runner)  # recordings past their community's retention: daily
    install_backups(runner)  # the nightly backup, when HAIQIAO_BACKUP_DIR is set
