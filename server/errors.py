"""The one place where errors become HTTP answers: ``{"error": {"code", "message", "details"}}``."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scheduling.errors import Conflict, DomainError, Forbidden, Invalid, NotFound, TooManyRequests, Unauthenticated

STATUS_BY_ERROR: dict[type[DomainError], int] = {
    NotFound: 404,
    Conflict: 409,
    Invalid: 422,
    Forbidden: 403,
    Unauthenticated: 401,
    TooManyRequests: 429,
}

HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
}


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


def status_for(exc: DomainError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 400


async def _domain_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    status = status_for(exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if isinstance(exc, TooManyRequests):
        headers = {"Retry-After": str(exc.retry_after)}
    return JSONResponse(error_body(exc.code, exc.message, exc.details), status_code=status, headers=headers)


def _jsonable_validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors():
        out.append(
            {
                "loc": [str(p) for p in err.get("loc", ())],
                "msg": str(err.get("msg", "")),
                "type": str(err.get("type", "")),
            }
        )
    return out


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = _jsonable_validation_errors(exc)
    fields = ", ".join(".".join(d["loc"][1:] or d["loc"]) for d in details[:5])
    message = f"请求数据不合法 / invalid request: {fields}" if fields else "invalid request"
    return JSONResponse(error_body("validation_error", message, details), status_code=422)


# Starlette's and FastAPI's own refusals speak English only: Chinese first, as everywhere else.
HTTP_MESSAGES = {
    400: "请求格式错误",
    401: "需要登录",
    403: "无权操作",
    404: "不存在",
    405: "不支持该方法",
    409: "冲突",
    413: "请求过大",
    415: "不支持的内容类型",
    422: "请求数据不合法",
    429: "请稍后再试",
}


def _bilingual(status: int, text: str) -> str:
    if any("\u4e00" <= ch <= "\u9fff" for ch in text) or status not in HTTP_MESSAGES:
        return text
    return f"{HTTP_MESSAGES[status]} / {text}"


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = HTTP_CODES.get(exc.status_code, "http_error")
    message = _bilingual(exc.status_code, exc.detail if isinstance(exc.detail, str) else code)
    return JSONResponse(error_body(code, message), status_code=exc.status_code, headers=getattr(exc, "headers", None))


log = logging.getLogger("haiqiao.errors")

INTERNAL_MESSAGE = "服务器内部错误 / internal error"


def _internal_body(request_id: str) -> dict[str, Any]:
    return error_body("internal_error", INTERNAL_MESSAGE, {"request_id": request_id})


async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    """Starlette's ServerErrorMiddleware's handler: for what escapes everything else (another middleware)."""
    request_id = uuid.uuid4().hex
    log.error(
        "internal error %s on %s %s", request_id, request.method, request.url.path, exc_info=(type(exc), exc, None)
    )
    return JSONResponse(_internal_body(request_id), status_code=500)


class LastResort:
    """A bug answers ``{"error": {"code": "internal_error", …}}`` (500) and its trace goes to the log.

    A pure ASGI middleware just outside the routes and their exception handlers: unlike Starlette's
    ServerErrorMiddleware it does not re-raise after answering, so the server logs the trace once (with the
    request id the client was given) and an in-process client gets the answer, not the exception. Once the
    answer has started (a streamed body) nothing can be changed: then the exception goes on up."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_tracking(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_tracking)
        except Exception:
            request_id = uuid.uuid4().hex
            log.exception("internal error %s on %s %s", request_id, scope.get("method"), scope.get("path"))
            if started:
                raise
            response = JSONResponse(_internal_body(request_id), status_code=500)
            await response(scope, receive, send)


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorOut(BaseModel):
    """Every 4xx (and the 500 of a bug) answers this shape."""

    error: ErrorDetail


# Operations whose answers the rules in ``declared_errors`` would not tell.
OWN_ERRORS: dict[tuple[str, str], set[int]] = {
    # The OAuth2 password form: unparseable form 400, wrong password 401, invalid 422, throttled 429.
    ("post", "/api/v1/auth/token"): {400, 401, 422, 429},
}

ERROR_DESCRIPTIONS = {
    400: "请求格式错误 / malformed request",
    401: "需要登录 / not authenticated",
    403: "无权操作 / forbidden",
    404: "不存在 / not found",
    409: "冲突 / conflict with the current state",
    422: "请求数据不合法 / invalid request",
    429: "请稍后再试 / too many requests",
}

WRITES = {"post", "put", "patch", "delete"}


def declared_errors(path: str, method: str, operation: dict[str, Any]) -> set[int]:
    """The 4xx answers an operation declares, read off its OpenAPI description."""
    if (method, path) in OWN_ERRORS:
        return OWN_ERRORS[method, path]
    params = operation.get("parameters", [])
    has_body = "requestBody" in operation
    statuses = set()
    if params or has_body:
        statuses.add(422)
    if has_body:
        statuses.add(400)  # a body that can't be parsed at all (not even as text)
    if operation.get("security"):
        statuses |= {401, 403}
    names_a_row = any(p.get("in") == "path" or str(p.get("name", "")).endswith("_id") for p in params)
    if names_a_row or has_body:
        statuses.add(404)
    if method in WRITES:
        statuses.add(409)
    return statuses


def _error_openapi(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """The app's OpenAPI with every operation's 4xx answers declared in the error shape (``ErrorOut``),
    FastAPI's own 422 schema (``HTTPValidationError``) replaced by it."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = generate()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        error_schema = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(error_schema.pop("$defs", {}))
        components["ErrorOut"] = error_schema
        ref = {"$ref": "#/components/schemas/ErrorOut"}
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                responses = operation.setdefault("responses", {})
                for status in sorted(declared_errors(path, method, operation)):
                    responses[str(status)] = {
                        "description": ERROR_DESCRIPTIONS[status],
                        "content": {"application/json": {"schema": ref}},
                    }
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        app.openapi_schema = schema
        return schema

    return openapi


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _internal_error)
    app.add_middleware(LastResort)
    app.openapi = _error_openapi(app)  # type: ignore[method-assign]
