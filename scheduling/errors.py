"""Domain errors. The service layer raises these; one handler in server/errors.py maps them to HTTP."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A request the domain refuses. ``code`` is machine-readable, ``message`` is for people."""

    code: str = "invalid"

    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    code = "conflict"


class Invalid(DomainError):
    code = "invalid"


class Forbidden(DomainError):
    code = "forbidden"


class Unauthenticated(DomainError):
    code = "unauthenticated"


class TooManyRequests(DomainError):
    """Refused until ``retry_after`` seconds have passed (a login under attack)."""

    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int, code: str | None = None, details: Any = None) -> None:
        super().__init__(message, code=code, details=details)
        self.retry_after = retry_after
