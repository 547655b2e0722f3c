"""``haiqiao bot``: a headless classroom from the command line."""

from __future__ import annotations

import asyncio
import json
import os
from typing import Annotated

import typer

from clients.bot import run_bot


def bot(
    server: Annotated[str, typer.Option(help="e.g. http://127.0.0.1:8000")] = "http://127.0.0.1:8000",
    user: Annotated[str, typer.Option(help="login")] = "",
    password: Annotated[str | None, typer.Option(help="or HAIQIAO_PASSWORD")] = None,
    session: Annotated[int, typer.Option(help="session id")] = 0,
    role: Annotated[str, typer.Option(help="host | receiver | participant | observer")] = "receiver",
    classroom: Annotated[int | None, typer.Option(help="classroom id (receivers)")] = None,
    seconds: Annotated[float, typer.Option(help="how long to stay")] = 10.0,
    report: Annotated[str, typer.Option(help="output format: json (the only one)")] = "json",
) -> None:
    """Join a live session as a headless classroom and print what it received as JSON."""
    if report != "json":
        typer.echo("haiqiao bot: --report json is the only format", err=True)
        raise typer.Exit(2)
    secret = password or os.environ.get("HAIQIAO_PASSWORD", "")
    if not user or not secret or not session:
        typer.echo("haiqiao bot: --user, --password (or HAIQIAO_PASSWORD) and --session are required", err=True)
        raise typer.Exit(2)
    try:
        result = asyncio.run(run_bot(server, user, secret, session, role, classroom, seconds))
    except RuntimeError as exc:
        typer.echo(json.dumps({"role": role, "errors": [str(exc)]}, ensure_ascii=False))
        raise typer.Exit(1) from exc
    typer.echo(json.dumps(result.as_json(), ensure_ascii=False))
