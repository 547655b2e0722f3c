"""The ``haiqiao`` command: serve, load the demo county, migrate the database."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from clients.cli import bot as bot_command
from server.settings import Settings

app = typer.Typer(help="Haiqiao 海桥 — 同步课堂、网络教研与巡课平台", no_args_is_help=True)
db_app = typer.Typer(help="Database migrations", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.command("bot")(bot_command)


def _settings() -> Settings:
    try:
        return Settings()
    except ValueError as exc:  # a refused setting is a clear message, not a traceback
        typer.echo(f"haiqiao: {exc}", err=True)
        raise typer.Exit(2) from exc


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="bind address")] = None,
    port: Annotated[int | None, typer.Option(help="port")] = None,
) -> None:
    """Serve the API, the signaling endpoint and the browser app."""
    import uvicorn

    from server.app import create_app

    settings = _settings()
    uvicorn.run(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        timeout_graceful_shutdown=5,
    )


@app.command()
def demo(
    if_empty: Annotated[bool, typer.Option("--if-empty", help="only when the database has no schools")] = False,
    history: Annotated[
        bool, typer.Option("--history/--no-history", help="give the term's past weeks attendance, as if held")
    ] = True,
) -> None:
    """Load the demo island county (idempotent: loading it twice changes nothing)."""
    from server.demo.loader import load_demo

    settings = _settings()
    report = asyncio.run(load_demo(settings, only_if_empty=if_empty, history=history))
    typer.echo(report)


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply migrations up to REVISION (default: head)."""
    from server.db.migrate import upgrade

    settings = _settings()
    if settings.is_sqlite:
        _ensure_sqlite_dir(settings.database_url)
    upgrade(settings.database_url, revision)
    typer.echo(f"database at {revision}")


@db_app.command("check")
def db_check() -> None:
    """Fail if the models have changes that no migration covers."""
    from server.db.migrate import check

    check(_settings().database_url)
    typer.echo("models and migrations agree")


def _ensure_sqlite_dir(url: str) -> None:
    from pathlib import Path

    path = url.split(":///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def main() -> None:
    app()
