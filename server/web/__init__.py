"""The browser pages, served by the same service (no Node toolchain needed)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"


def install_pages(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    async def today() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.get("/classroom", include_in_schema=False)
    async def classroom() -> FileResponse:
        return FileResponse(STATIC / "classroom.html")
