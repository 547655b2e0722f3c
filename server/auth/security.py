"""Password hashing (argon2) and bearer tokens (JWT, HS256)."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from scheduling.errors import Unauthenticated

_hasher = PasswordHasher()
ALGORITHM = "HS256"
ACCESS_AUDIENCE = "haiqiao:api"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# A hash to verify against when the login is unknown, so both cases take the same time.
_UNKNOWN_USER_HASH = _hasher.hash(secrets.token_hex(16))


def verify_unknown_user(password: str) -> None:
    verify_password(_UNKNOWN_USER_HASH, password)


def encode_token(claims: dict[str, Any], *, secret: str, now: datetime, ttl: timedelta, audience: str) -> str:
    payload = {**claims, "iat": int(now.timestamp()), "exp": int((now + ttl).timestamp()), "aud": audience}
    return jwt.encode(payload, secret, algorithm=ALGORITHM)


def decode_token(token: str, *, secret: str, audience: str) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(token, secret, algorithms=[ALGORITHM], audience=audience)
    except jwt.ExpiredSignatureError as exc:
        raise Unauthenticated("登录已过期 / token expired", code="token_expired") from exc
    except jwt.InvalidTokenError as exc:
        raise Unauthenticated("无效的凭证 / invalid token", code="invalid_token") from exc
    return claims


def create_access_token(person_id: int, *, secret: str, now: datetime, ttl: timedelta) -> str:
    return encode_token({"sub": str(person_id)}, secret=secret, now=now, ttl=ttl, audience=ACCESS_AUDIENCE)


def new_feed_token() -> str:
    return secrets.token_urlsafe(24)
