"""Request dependencies: the database transaction, the caller, and role checks."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlmodel.ext.asyncio.session import AsyncSession

from scheduling.enums import Role
from scheduling.errors import Forbidden, Unauthenticated
from server.auth.security import ACCESS_AUDIENCE, decode_token
from server.models import Person
from server.settings import Settings

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_db(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request: committed before the response is sent, rolled back on error."""
    maker = request.app.state.sessionmaker
    async with maker() as session, session.begin():
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
DbSession = Annotated[AsyncSession, Depends(get_db)]


async def get_current_user(
    db: DbSession, settings: SettingsDep, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> Person:
    if not token:
        raise Unauthenticated("需要登录 / authentication required", code="not_authenticated")
    claims = decode_token(token, secret=settings.secret_key, audience=ACCESS_AUDIENCE)
    try:
        person_id = int(claims["sub"])
    except (KeyError, ValueError) as exc:
        raise Unauthenticated("无效的凭证 / invalid token", code="invalid_token") from exc
    person = await db.get(Person, person_id)
    if person is None or not person.active:
        raise Unauthenticated("账号不存在或已停用 / account unknown or disabled", code="invalid_token")
    return person


CurrentUser = Annotated[Person, Depends(get_current_user)]


def require_roles(*roles: Role) -> Callable[..., Coroutine[Any, Any, Person]]:
    """A dependency that lets through callers holding any of ``roles`` (admin always passes)."""
    allowed = set(roles) | {Role.admin}

    async def dependency(user: CurrentUser) -> Person:
        if not user.has_role(*allowed):
            raise Forbidden(
                "无权执行此操作 / your role may not do this",
                code="forbidden_role",
                details={"allowed_roles": sorted(r.value for r in allowed)},
            )
        return user

    return dependency


AdminUser = Annotated[Person, Depends(require_roles(Role.admin))]
SchedulerUser = Annotated[Person, Depends(require_roles(Role.scheduler))]
