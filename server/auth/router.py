"""Login and the caller's own profile."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel
from sqlmodel import select

from scheduling.enums import Role
from scheduling.errors import Unauthenticated
from server.auth.security import create_access_token, verify_password, verify_unknown_user
from server.deps import CurrentUser, DbSession, SettingsDep
from server.models import Person

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


@router.post("/auth/token", response_model=TokenOut, summary="登录 / log in (OAuth2 password form)")
async def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], db: DbSession, settings: SettingsDep
) -> TokenOut:
    person = (await db.exec(select(Person).where(Person.login == form.username))).first()
    # argon2 is deliberately slow: off the event loop, or forty terminals logging in at the bell stall
    # every live room in this process.
    if person is None:
        await asyncio.to_thread(verify_unknown_user, form.password)
    if (
        person is None
        or not person.active
        or not await asyncio.to_thread(verify_password, person.password_hash, form.password)
    ):
        raise Unauthenticated("用户名或密码错误 / wrong login or password", code="bad_credentials")
    assert person.id is not None
    ttl = timedelta(minutes=settings.access_token_minutes)
    token = create_access_token(person.id, secret=settings.secret_key, now=datetime.now(UTC), ttl=ttl)
    return TokenOut(access_token=token, expires_in=int(ttl.total_seconds()))


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
