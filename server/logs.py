"""Logging: text for ``make run``, one JSON object per line for a deployment (``HAIQIAO_LOG_FORMAT=json``),
with the request, session and seat a line belongs to when known.

The ids live in context variables: an HTTP request's is set by ``RequestIds`` (a pure ASGI middleware
that also echoes it in ``X-Request-ID``), a signaling connection's session and seat by
``server/live/ws.py``. Each request and each WebSocket runs in its own task, so what one sets is never seen
by another. Logging is configured by the CLI's entry points (``configure_logging``), never at import.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

request_id_var: ContextVar[str | None] = ContextVar("haiqiao_request_id", default=None)
session_id_var: ContextVar[int | None] = ContextVar("haiqiao_session_id", default=None)
seat_id_var: ContextVar[str | None] = ContextVar("haiqiao_seat_id", default=None)

REQUEST_ID_HEADER = "X-Request-ID"
# An incoming id is kept only when it is short and plain (it goes into logs and a response header).
_ACCEPTABLE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


QUIET = ("aioice", "aiortc", "apscheduler", "httpx", "httpcore")


class LogFormat(StrEnum):
    text = "text"
    json = "json"


def new_request_id() -> str:
    return uuid.uuid4().hex


def current_request_id() -> str | None:
    return request_id_var.get()


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, the ids known, and the
    exception's trace as one string."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, var in (("request_id", request_id_var), ("session_id", session_id_var), ("seat_id", seat_id_var)):
            value = var.get()
            if value is not None:
                line[key] = value
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """The development format, with the ids in brackets when known."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        known = (("req", request_id_var.get()), ("session", session_id_var.get()), ("seat", seat_id_var.get()))
        ids = [f"{key}={value}" for key, value in known if value is not None]
        return f"{text} [{' '.join(ids)}]" if ids else text


def formatter_for(log_format: LogFormat) -> logging.Formatter:
    return JsonFormatter() if log_format is LogFormat.json else TextFormatter()


def configure_logging(log_format: LogFormat, level: str = "INFO") -> None:
    """The root logger writes to stderr in the chosen format; uvicorn's loggers go through it too, so a
    deployment's journal holds one format."""
    handler = logging.StreamHandler()
    handler.setFormatter(formatter_for(log_format))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    # Libraries that say something at INFO for every ICE check, HTTP call or job run: their warnings only,
    # unless the level asks for everything.
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.DEBUG if level.upper() == "DEBUG" else logging.WARNING)


class RequestIds:
    """Every HTTP request gets an id: the caller's ``X-Request-ID`` when it is plain, else a new one. It is
    set for the request's logs, echoed in the response's ``X-Request-ID`` and kept in the scope, where
    the error handlers find it for the body of a 500 (``server/errors.py``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"x-request-id"), "")
        request_id = incoming if _ACCEPTABLE_ID.match(incoming) else new_request_id()
        scope["haiqiao.request_id"] = request_id
        token = request_id_var.set(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"]
                headers.append((b"x-request-id", request_id.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)
