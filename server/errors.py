"""The one place where errors become HTTP answers: ``{"error": {"code", "message", "details"}}``."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scheduling.errors import Conflict, DomainError, Forbidden, Invalid, NotFound, TooManyRequests, Unauthenticated
from server.logs import REQUEST_ID_HEADER, new_request_id

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


# pydantic's messages by error type, in Chinese ({…} filled from the error's context); its English message
# follows. A custom validator raises ValueError("中文 / English"), shown as it is (without "Value error, ").
VALIDATION_MESSAGES = {
    "missing": "缺少字段",
    "extra_forbidden": "不允许的字段",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "int_from_float": "应为整数，不能有小数",
    "float_parsing": "应为数字",
    "float_type": "应为数字",
    "finite_number": "应为有限的数字",
    "bool_parsing": "应为 true 或 false",
    "bool_type": "应为 true 或 false",
    "string_type": "应为文本",
    "string_too_short": "至少 {min_length} 个字符",
    "string_too_long": "最多 {max_length} 个字符",
    "string_pattern_mismatch": "格式不符 ({pattern})",
    "greater_than": "应大于 {gt}",
    "greater_than_equal": "不能小于 {ge}",
    "less_than": "应小于 {lt}",
    "less_than_equal": "不能大于 {le}",
    "multiple_of": "应为 {multiple_of} 的倍数",
    "too_short": "至少 {min_length} 项",
    "too_long": "最多 {max_length} 项",
    "list_type": "应为列表",
    "set_type": "应为列表",
    "tuple_type": "应为列表",
    "dict_type": "应为对象",
    "model_type": "应为对象",
    "model_attributes_type": "应为对象",
    "enum": "应为以下之一：{expected}",
    "literal_error": "应为以下之一：{expected}",
    "date_parsing": "日期格式为 YYYY-MM-DD",
    "date_from_datetime_parsing": "日期格式为 YYYY-MM-DD",
    "date_from_datetime_inexact": "日期不能带时间",
    "date_type": "日期格式为 YYYY-MM-DD",
    "datetime_parsing": "时间格式为 ISO 8601，带时区偏移",
    "datetime_from_date_parsing": "时间格式为 ISO 8601，带时区偏移",
    "datetime_type": "时间格式为 ISO 8601，带时区偏移",
    "datetime_object_invalid": "时间不合法",
    "timezone_aware": "时间须带时区偏移 (如 +08:00)",
    "time_parsing": "时间格式为 HH:MM",
    "time_type": "时间格式为 HH:MM",
    "json_invalid": "JSON 格式错误",
    "json_type": "应为 JSON",
    "url_parsing": "网址格式错误",
    "url_scheme": "网址协议不支持",
    "url_type": "应为网址",
    "uuid_parsing": "UUID 格式错误",
    "union_tag_invalid": "类型不在可选之列",
    "union_tag_not_found": "缺少类型字段",
    "none_required": "应为空",
    "is_instance_of": "类型不符",
}
UNKNOWN_PROBLEM = "数据不合法"


def _has_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def _problem(err: dict[str, Any]) -> tuple[str, str]:
    """(中文, English) for one of pydantic's errors."""
    kind = str(err.get("type", ""))
    ctx = err.get("ctx") or {}
    english = str(err.get("msg", ""))
    if kind in ("value_error", "assertion_error"):
        english = str(ctx.get("error", english)).removeprefix("Value error, ").removeprefix("Assertion failed, ")
        if " / " in english and _has_chinese(english.split(" / ", 1)[0]):
            chinese, english = english.split(" / ", 1)
            return chinese, english
        return UNKNOWN_PROBLEM, english
    template = VALIDATION_MESSAGES.get(kind)
    if template is None:
        return UNKNOWN_PROBLEM, english
    try:
        chinese = template.format(**{k: v for k, v in ctx.items() if isinstance(v, str | int | float)})
    except (KeyError, IndexError):
        chinese = template.split(" ", 1)[0].rstrip("：")
    return chinese, english


def _field(loc: list[str]) -> str:
    """The field a problem is in: the location without "body"/"query"/"path" (empty for the body as a whole)."""
    return ".".join(loc[1:] if loc and loc[0] in ("body", "query", "path", "header", "cookie") else loc)


def _jsonable_validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors():
        chinese, english = _problem(err)
        out.append(
            {
                "loc": [str(p) for p in err.get("loc", ())],
                "msg": f"{chinese} / {english}",
                "type": str(err.get("type", "")),
            }
        )
    return out


def validation_message(exc: RequestValidationError) -> str:
    """The first problem, named in Chinese and English: ``结束时间必须晚于开始时间 / end must be after start``,
    ``title：至少 1 个字符 / title: String should have at least 1 character``."""
    errors = exc.errors()
    if not errors:
        return "请求数据不合法 / invalid request"
    first = errors[0]
    chinese, english = _problem(first)
    field = _field([str(p) for p in first.get("loc", ())])
    if field:
        chinese, english = f"{field}：{chinese}", f"{field}: {english}"
    if len(errors) > 1:
        chinese, english = f"{chinese}（另有 {len(errors) - 1} 处）", f"{english} (and {len(errors) - 1} more)"
    return f"{chinese} / {english}"


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = _jsonable_validation_errors(exc)
    return JSONResponse(error_body("validation_error", validation_message(exc), details), status_code=422)


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
    if _has_chinese(text) or status not in HTTP_MESSAGES:
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


def _request_id(scope: Scope) -> str:
    """The id ``server.logs.RequestIds`` gave this request (echoed in its X-Request-ID), or a new one."""
    return str(scope.get("haiqiao.request_id") or new_request_id())


# What the app does with an internal error besides logging it (``app.state.error_sink``: the admin page's
# recent errors, server/admin/errors_log.py); it must not raise.
ErrorSink = Callable[[str, str, str, BaseException], Awaitable[None]]


async def _report(scope: Scope, request_id: str, exc: BaseException) -> None:
    app = scope.get("app")
    sink: ErrorSink | None = getattr(getattr(app, "state", None), "error_sink", None)
    if sink is not None:
        await sink(request_id, str(scope.get("method", "")), str(scope.get("path", "")), exc)


async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    """Starlette's ServerErrorMiddleware's handler: for what escapes everything else (another middleware)."""
    request_id = _request_id(request.scope)
    log.error(
        "internal error %s on %s %s", request_id, request.method, request.url.path, exc_info=(type(exc), exc, None)
    )
    await _report(request.scope, request_id, exc)
    response = JSONResponse(_internal_body(request_id), status_code=500)
    response.headers[REQUEST_ID_HEADER] = request_id  # answered outside RequestIds: it cannot add it
    return response


class LastResort:
    """A bug answers ``{"error": {"code": "internal_error", …}}`` (500) and its trace goes to the log.

    A pure ASGI middleware just outside the routes and their exception handlers: unlike Starlette's
    ServerErrorMiddleware it does not re-raise after answering, so the server logs the trace once (with the
    request id the client was given, the one in its X-Request-ID) and an in-process client gets the answer,
    not the exception. Once the answer has started (a streamed body) nothing can be changed: then the
    exception goes on up."""

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
        except Exception as exc:
            request_id = _request_id(scope)
            log.exception("internal error %s on %s %s", request_id, scope.get("method"), scope.get("path"))
            await _report(scope, request_id, exc)
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
