"""``haiqiao serve --media-workers N``: N media workers on this machine, living and dying with the app."""

from __future__ import annotations

import asyncio
import ctypes
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from server.settings import Settings

PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Linux: a worker gets SIGTERM when the app that started it dies, even by SIGKILL."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


def start_local_worker(settings: Settings, n: int) -> subprocess.Popen[bytes]:
    port = settings.media_worker_base_port + n
    command = [sys.executable, "-m", "server.cli", "media-worker", "--name", f"{socket.gethostname()}-{n}"]
    command += ["--host", settings.host, "--port", str(port)]
    return subprocess.Popen(command, preexec_fn=_die_with_parent)


def running_local_workers(settings: Settings, count: int) -> Callable[[Any], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def hook(_app: Any) -> AsyncIterator[None]:
        workers = [start_local_worker(settings, n) for n in range(1, count + 1)]
        try:
            yield
        finally:
            for worker in workers:
                worker.terminate()
            for worker in workers:
                try:
                    await asyncio.to_thread(worker.wait, 10)
                except subprocess.TimeoutExpired:
                    worker.kill()

    return hook
