"""What viewers do with a recorded lesson: 评课 comments at a moment of it, 点播 views, 优课 marks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends
from sqlmodel.ext.asyncio.session import AsyncSession

from scheduling.enums import Role
from scheduling.errors import Invalid
from server.db.repo import get_or_404
from server.deps import CurrentUser, DbSession, require_roles
from server.ids import IdParam
from server.models import FeaturedLesson, Person, RecordingComment, RecordingView, Session
from server.recordings import repository as repo
from server.recordings.access import check_watches
from server.recordings.replay import comment_out, comments, length_ms, recorded_tracks
from server.recordings.schemas import CommentIn, CommentOut, FeaturedOut, ViewsOut
from server.timefmt import SHANGHAI

router = APIRouter(tags=["recordings"])
Researcher = Annotated[Person, Depends(require_roles(Role.researcher))]
VIEW_WINDOW = timedelta(minutes=30)  # a reload within it is the same 点播


async def _watched(db: AsyncSession, session_id: int, caller: Person) -> Session:
    """The session, when the caller may watch its recording and one exists (403 / 404 otherwise)."""
    session = await get_or_404(db, Session, session_id, "session")
    await check_watches(db, caller, session, datetime.now(SHANGHAI).date())
    return session


@router.get("/sessions/{session_id}/comments", response_model=list[CommentOut], summary="评课: 录像评论")
async def list_comments(session_id: IdParam, db: DbSession, caller: CurrentUser) -> list[CommentOut]:
    """Comments in the order of the moment they are about (``offset_ms`` from the replay's origin)."""
    await _watched(db, session_id, caller)
    return await comments(db, session_id)


@router.post(
    "/sessions/{session_id}/comments", response_model=CommentOut, status_code=201, summary="评课: 在录像某一时刻评论"
)
async def add_comment(session_id: IdParam, body: CommentIn, db: DbSession, caller: CurrentUser) -> CommentOut:
    """Anyone who may watch the replay may comment. ``offset_ms`` past the recording's end: 422
    ``offset_past_end`` (``details.length_ms`` says its length)."""
    await _watched(db, session_id, caller)
    length = length_ms(await recorded_tracks(db, session_id))
    if body.offset_ms > length:
        raise Invalid(
            "评论时刻超出录像长度 / the moment is past the end of the recording",
            code="offset_past_end",
            details={"offset_ms": body.offset_ms, "length_ms": length},
        )
    assert caller.id is not None
    comment = RecordingComment(session_id=session_id, author_id=caller.id, offset_ms=body.offset_ms, body=body.body)
    db.add(comment)
    await db.flush()
    return comment_out(comment, caller.name)


@router.post("/sessions/{session_id}/views", response_model=ViewsOut, summary="点播: 记一次观看")
async def count_view(session_id: IdParam, db: DbSession, caller: CurrentUser) -> ViewsOut:
    """The replay page calls this once when it opens. A person's views of a session within 30 minutes
    count once (a reload is no new 点播): ``counted`` says whether this one did; ``views`` is the total."""
    await _watched(db, session_id, caller)
    await recorded_tracks(db, session_id)
    assert caller.id is not None
    now = datetime.now(UTC)
    last = await repo.last_view(db, session_id, caller.id)
    counted = last is None or now - last >= VIEW_WINDOW
    if counted:
        db.add(RecordingView(session_id=session_id, person_id=caller.id, at=now))
        await db.flush()
    return ViewsOut(views=await repo.view_count(db, session_id), counted=counted)


@router.put("/sessions/{session_id}/featured", response_model=FeaturedOut, summary="优课: 标记")
async def mark_featured(session_id: IdParam, db: DbSession, caller: Researcher) -> FeaturedOut:
    """Researchers (and admins) mark a recorded lesson as 优课; marking it again keeps the first mark."""
    await get_or_404(db, Session, session_id, "session")
    await recorded_tracks(db, session_id)
    assert caller.id is not None
    row = await db.get(FeaturedLesson, session_id)
    if row is None:
        row = FeaturedLesson(session_id=session_id, marked_by=caller.id, at=datetime.now(UTC))
        db.add(row)
        await db.flush()
    return FeaturedOut(session_id=session_id, featured=True, marked_by=row.marked_by, at=row.at)


@router.delete("/sessions/{session_id}/featured", response_model=FeaturedOut, summary="优课: 取消标记")
async def unmark_featured(session_id: IdParam, db: DbSession, _: Researcher) -> FeaturedOut:
    await get_or_404(db, Session, session_id, "session")
    row = await db.get(FeaturedLesson, session_id)
    if row is not None:
        await db.delete(row)
        await db.flush()
    return FeaturedOut(session_id=session_id, featured=False)
