"""The browser pages, served by the same service (no Node toolchain needed)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
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
}


def install_pages(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for path, filename in PAGES.items():
        app.add_api_route(path, _page(STATIC / filename), methods=["GET"], include_in_schema=False)


def _page(file: Path):  # type: ignore[no-untyped-def]
    async def serve() -> FileResponse:
        return FileResponse(file, headers={"Cache-Control": "no-cache"})

    return serve
