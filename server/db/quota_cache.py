"""Keeps the county summary's cache honest: every write that could change a community's counts raises
that community's ``counts_version`` in the same transaction, and a cached count (``quota_counts``) is
used only while the version it was computed from is current. The reader takes the version before it
counts, so a write committed while it counts leaves its row stale, never wrong.

ORM writes name their community directly (a session, a membership, the community) or through a session
(its receivers, its stored verdict, a correction); calendar and organisation changes raise every
community's version. So do bulk statements (``delete``/``update``/``insert``) on any of those tables:
they are rare (replacing a session's receivers or a community's members) and not cheap to attribute; a
raised version costs one recount of that community on the next summary. Attendance events are not
watched: they reach the counts only through stored verdicts.
"""

from __future__ import annotations

from itertools import chain
from typing import Any

from sqlalchemy import event, select, update
from sqlmodel import Session as ModelSession

from server.models import (
    Classroom,
    Closure,
    Community,
    CommunityMember,
    HeldCorrection,
    HolidayOverride,
    School,
    Session,
    SessionReceiver,
    SessionVerdict,
    Term,
)

BY_SESSION = (SessionReceiver, SessionVerdict, HeldCorrection)
EVERYTHING = (Closure, HolidayOverride, Term, Classroom, School)
WATCHED = {m.__tablename__ for m in (Session, Community, CommunityMember, *BY_SESSION, *EVERYTHING)}


def _table(model: Any) -> Any:
    return model.__table__


class CountingSession(ModelSession):
    """The ORM session every sessionmaker of the app uses (server/db/engine.py)."""


@event.listens_for(CountingSession, "after_flush")
def _forget_touched(session: ModelSession, _flush: Any) -> None:
    communities: set[int] = set()
    sessions: set[int] = set()
    everything = False
    for obj in chain(session.new, session.dirty, session.deleted):
        if isinstance(obj, Session | CommunityMember):
            communities.add(obj.community_id)
        elif isinstance(obj, Community) and obj.id is not None:
            communities.add(obj.id)
        elif isinstance(obj, BY_SESSION):
            sessions.add(obj.session_id)
        elif isinstance(obj, EVERYTHING):
            everything = True
    table, sessions_table = _table(Community), _table(Session)
    bump = update(table).values(counts_version=table.c.counts_version + 1)
    conn = session.connection()
    if everything:
        conn.execute(bump)
        return
    if communities:
        conn.execute(bump.where(table.c.id.in_(communities)))
    if sessions:
        owners = select(sessions_table.c.community_id).where(sessions_table.c.id.in_(sessions))
        conn.execute(bump.where(table.c.id.in_(owners)))


@event.listens_for(CountingSession, "do_orm_execute")
def _forget_all_on_bulk_writes(state: Any) -> None:
    if not (state.is_delete or state.is_update or state.is_insert):
        return
    target = getattr(state.statement, "table", None)
    if getattr(target, "name", None) in WATCHED:
        table = _table(Community)
        state.session.connection().execute(update(table).values(counts_version=table.c.counts_version + 1))
