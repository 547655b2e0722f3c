"""The ``haiqiao`` command: serve, load the demo county, migrate the database, check a deployment."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from clients.cli import bot as bot_command
from server.backup import commands as backup_commands
from server.settings import Settings

app = typer.Typer(help="Haiqiao 海桥 — 同步课堂、网络教研与巡课平台", no_args_is_help=True)
db_app = typer.Typer(help="Database migrations", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.command("bot")(bot_command)
app.command("backup")(backup_commands.backup)
app.command("restore")(backup_commands.restore)


def _settings() -> Settings:
    try:
        return Settings()
    except ValueError as exc:  # a refused setting is a clear message, not a traceback
        typer.echo(f"haiqiao: {exc}", err=True)
        raise typer.Exit(2) from exc


def _logging(settings: Settings) -> None:
    """The serving commands log in HAIQIAO_LOG_FORMAT; uvicorn is then given no log config of its own."""
    from server.logs import configure_logging

    configure_logging(settings.log_format, settings.log_level)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="bind address")] = None,
    port: Annotated[int | None, typer.Option(help="port")] = None,
    media_workers: Annotated[
        int, typer.Option(help="start this many local media workers with the app (needs HAIQIAO_REDIS_URL)", min=0)
    ] = 0,
) -> None:
    """Serve the API, the signaling endpoint and the browser app."""
    import uvicorn

    from server.app import create_app
    from server.serving import first_request_within

    settings = _settings()
    _logging(settings)
    if media_workers and not settings.redis_url:
        typer.echo(
            "haiqiao: --media-workers needs HAIQIAO_REDIS_URL (rooms are placed on workers through Redis)", err=True
        )
        raise typer.Exit(2)
    app_ = create_app(settings)
    if media_workers:
        from server.live.local_workers import running_local_workers

        # Started and stopped by the app's own lifespan: uvicorn re-raises SIGTERM once it has shut down,
        # so code after uvicorn.run would never run.
        app_.state.startup_hooks.insert(0, running_local_workers(settings, media_workers))
    uvicorn.run(
        app_,
        host=host or settings.host,
        port=port or settings.port,
        timeout_graceful_shutdown=5,
        http=first_request_within(settings.idle_connection_seconds),
        log_config=None,
    )


@app.command("media-worker")
def media_worker(
    name: Annotated[str, typer.Option(help="this worker's name in the cluster (stable across restarts)")],
    host: Annotated[str, typer.Option(help="bind address")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 8101,
    advertise: Annotated[
        str | None, typer.Option(help="the URL clients open, e.g. wss://media1.example.cn (default ws://HOST:PORT)")
    ] = None,
) -> None:
    """Run a media worker: it holds the live rooms Redis places on it (HAIQIAO_REDIS_URL)."""
    import uvicorn

    from server.live.worker import create_worker_app
    from server.serving import first_request_within

    settings = _settings()
    _logging(settings)
    if not settings.redis_url:
        typer.echo("haiqiao: a media worker needs HAIQIAO_REDIS_URL", err=True)
        raise typer.Exit(2)
    url = advertise or f"ws://{host}:{port}"
    uvicorn.run(
        create_worker_app(settings, name, url.rstrip("/")),
        host=host,
        port=port,
        timeout_graceful_shutdown=5,
        http=first_request_within(settings.idle_connection_seconds),
        log_config=None,
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


@app.command()
def doctor(
    min_free_gb: Annotated[
        float, typer.Option("--min-free-gb", help="fail when the recordings directory has less free space (GB)", min=0)
    ] = 5.0,
) -> None:
    """Check this deployment (database, Redis, secret, TURN, recordings, clock, media workers)."""
    from server.doctor import configured_secret, doctor_settings, run_checks

    try:
        settings = doctor_settings()
    except ValueError as exc:  # a refused setting is a clear message, not a traceback
        typer.echo(f"haiqiao: {exc}", err=True)
        raise typer.Exit(2) from exc
    results = asyncio.run(run_checks(settings, configured_secret(), min_free_gb=min_free_gb))
    for result in results:
        typer.echo(result.line())
    failed = sum(not r.ok for r in results)
    if failed:
        typer.echo(f"{failed} 项检查未通过 / {failed} checks failed", err=True)
        raise typer.Exit(1)


@app.command("create-admin")
def create_admin(
    login: Annotated[str, typer.Option(help="the admin's login")],
    name: Annotated[str, typer.Option(help="the admin's name as shown")] = "管理员",
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True, help="asked for when not given")
    ] = "",
) -> None:
    """Create an admin (a new installation's first login: schools, people and classes follow in the pages)."""
    from pydantic import ValidationError

    from scheduling.errors import DomainError
    from server.org.bootstrap import create_admin as create

    settings = _settings()
    try:
        person_id = asyncio.run(create(settings, login, name, password))
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        typer.echo(f"haiqiao: {problems}", err=True)
        raise typer.Exit(2) from exc
    except DomainError as exc:
        typer.echo(f"haiqiao: {exc.message}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"管理员 {login} 已创建 (id {person_id}) / admin {login} created")


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


if __name__ == "__main__":
    main()
