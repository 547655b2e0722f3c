"""Login and the caller's own profile."""

from __future__ import annotations

import asyncio
import math
import re
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel
from sqlmodel import select

from scheduling.enums import Role
from scheduling.errors import TooManyRequests, Unauthenticated
from server.auth.security import create_access_token, verify_password, verify_unknown_user
from server.auth.throttle import Throttle
from server.deps import CurrentUser, DbSession, SettingsDep
from server.models import Person
from server.org.schemas import LOGIN_PATTERN

router = APIRouter(tags=["auth"])


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class MeOut(BaseModel):
    id: int
    name: str
    login: str
    roles: list[Role]
    school_id: int | None
    classroom_id: int | None


@router.post(
    "/auth/token",
    response_model=TokenOut,
    summary="登录 / log in (OAuth2 password form)",
    description="Wrong passwords are throttled per login and per address: 429 with Retry-After while waiting.",
)
async def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], db: DbSession, settings: SettingsDep, request: Request
) -> TokenOut:
    throttle: Throttle = request.app.state.login_throttle
    address = request.client.host if request.client else "unknown"
    wait = throttle.wait(form.username, address, throttle.clock())
    if wait > 0:
        seconds = math.ceil(wait)
        raise TooManyRequests(
            f"登录失败次数过多，请 {seconds} 秒后再试 / too many failed logins, try again in {seconds} s",
            code="login_throttled",
            retry_after=seconds,
        )
    person = await _person(db, form.username)
    if not await _password_matches(request, person, form.password):
        throttle.failed(form.username, address, throttle.clock())
        raise Unauthenticated("用户名或密码错误 / wrong login or password", code="bad_credentials")
    throttle.succeeded(form.username)
    assert person is not None
    assert person.id is not None
    ttl = timedelta(minutes=settings.access_token_minutes)
    token = create_access_token(person.id, secret=settings.secret_key, now=datetime.now(UTC), ttl=ttl)
    return TokenOut(access_token=token, expires_in=int(ttl.total_seconds()))


async def _person(db: DbSession, username: str) -> Person | None:
    """Text that can't be a login names no one, and is not sent to the database (PostgreSQL refuses a NUL
    character with an error, which was a 500): it fails like an unknown login."""
    if not re.fullmatch(LOGIN_PATTERN, username):
        return None
    return (await db.exec(select(Person).where(Person.login == username))).first()


async def _password_matches(request: Request, person: Person | None, password: str) -> bool:
    """argon2 is deliberately slow: in a thread, never on the event loop that relays media, and only a
    few at a time (forty terminals logging in at the bell queue up instead of taking every core)."""
    checks: asyncio.Semaphore = request.app.state.password_checks
    async with checks:
        if person is None:
            await asyncio.to_thread(verify_unknown_user, password)
            return False
        return person.active and await asyncio.to_thread(verify_password, person.password_hash, password)


@router.get("/me", response_model=MeOut, summary="当前用户 / the caller")
async def me(user: CurrentUser) -> MeOut:
    assert user.id is not None
    return MeOut(
        id=user.id,
        name=user.name,
        login=user.login,
        roles=[Role(r) for r in user.roles],
        school_id=user.school_id,
        classroom_id=user.classroom_id,
    )
