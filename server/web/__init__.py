"""The browser pages, served by the same service (no Node toolchain needed)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"

# Path → page. Each page is one HTML file with its script; shared code is /static/common.js and haiqiao.css.
PAGES = {
    "/": "index.html",
    "/classroom": "classroom.html",
    "/terminal": "terminal.html",
    "/patrol": "patrol.html",
    "/console": "console.html",
    "/dashboard": "dashboard.html",
    "/recording-policy": "recording-policy.html",
    "/replay": "replay.html",  # 回放 and 观课评课 of one recorded lesson
    "/library": "library.html",  # 研修资源库: recorded lessons to find and watch
    "/admin": "admin.html",  # 运行状态: workers, live rooms, failed jobs and webhooks, recent errors
    # The API's own pages, on Swagger UI and ReDoc vendored under static/vendor/ (nothing from outside).
    "/docs": "docs.html",
    "/redoc": "redoc.html",
}


# Scripts only from this service (no inline script: an injected <script> does not run); media and
# signaling may go to the media workers' own addresses (ws:, wss:); nothing may frame the pages. ReDoc's
# search runs in a worker it makes from a blob.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob: mediastream:",
        "connect-src 'self' ws: wss:",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def install_security_headers(app: FastAPI) -> None:
    @app.middleware("http")
    async def _headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response


def install_pages(app: FastAPI) -> None:
    install_security_headers(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for path, filename in PAGES.items():
        app.add_api_route(path, _page(STATIC / filename), methods=["GET"], include_in_schema=False)


# Every page's head starts the same; the files say where with a marker, and this is the one place it is
# written. The API's pages (Swagger UI, ReDoc) bring their own styles: the bare variant.
BARE_HEAD = "\n".join(
    [
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<link rel="icon" href="data:,">',
    ]
)
HEAD = BARE_HEAD + '\n<link rel="stylesheet" href="/static/haiqiao.css">'


def render_page(file: Path) -> str:
    return file.read_text(encoding="utf-8").replace("<!--#head-->", HEAD).replace("<!--#head-bare-->", BARE_HEAD)


def _page(file: Path):  # type: ignore[no-untyped-def]
    html = render_page(file)  # read once: the pages are part of the installed package

    async def serve() -> HTMLResponse:
        return HTMLResponse(html, headers={"Cache-Control": "no-cache"})

    return serve
