"""The replay page: how soon a recorded lesson plays and how fast a seek moves every picture.

On loopback: the service (in this process, under uvicorn, on a temporary SQLite database with the demo
county) holds a ~20-second class 高亭 → 岱西 + 长涂 with headless classrooms replaying VP8, which it
records (camera and microphone per seat, the host's screen share; the files have no cues). Then, in
headless Chromium:

- opening: from the navigation to /replay?session=ID (in a fresh browser context: nothing cached) until
  every picture that should show is playing (readyState ≥ 3, not paused, currentTime advancing). The
  page is told to seek to where every classroom's camera has started and to play as soon as it can;
- seeking: from ``replayView.seek(ms)`` while playing until every element that should play there
  (pictures and sound) has seeked and is advancing again, over 10 seeks across the lesson.

The baseline, measured in the same run: one plain <video> of the same host camera file (the same signed
link), from creating it to playing, and seeking it to the same moments. Printed, never asserted.

Run: .venv/bin/python benchmarks/replay.py [--seconds 20] [--opens 5] [--seeks 10]
Only 127.0.0.1 is used; the run stops by itself.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import asyncio
import random
import statistics
import tempfile
from typing import Any

import httpx
import uvicorn
from playwright.async_api import Browser, async_playwright
from relay_support import free_port, pct

from server.app import create_app
from server.demo.loader import load_demo
from server.settings import Settings
from tests.server.live.conftest import PASSWORD, LiveServer
from tests.server.live.recorded import record_lesson

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--autoplay-policy=no-user-gesture-required"]  # as after a click on ▶

# Injected before the page's own script: as soon as window.replayView exists, seek to where every
# camera has started and play; then note when every picture that should show is playing.
OPEN_PROBE = """
(() => {
  const seen = new Map();
  const poll = () => {
    const view = window.replayView;
    if (!view) return setTimeout(poll, 5);
    if (!window.__bench) {
      const cams = view.data.tracks.filter((t) => t.source === 'camera');
      const at = Math.max(...cams.map((t) => t.offset_ms)) + 500;
      window.__bench = { readyAt: performance.now(), at };
      view.seek(at); view.play();
    }
    const shown = view.elements().filter((e) => e.kind === 'video' && e.active);
    const ok = shown.length > 0 && shown.every((e) => {
      const moving = e.readyState >= 3 && !e.paused && !e.seeking;
      const first = seen.get(e.trackId);
      if (moving && first === undefined) seen.set(e.trackId, e.currentTime);
      return moving && first !== undefined && e.currentTime > first;
    });
    if (ok) { window.__bench.playingAt = performance.now(); window.__bench.pictures = shown.length; return; }
    setTimeout(poll, 5);
  };
  poll();
})();
"""

# Until every active element (pictures and sound) has seeked and advances again: ms since `t0`.
SETTLED = """
async ([t0, check]) => {
  const seen = new Map();
  for (;;) {
    const els = check();
    const ok = els.length > 0 && els.every((e) => {
      const moving = e.readyState >= 3 && !e.paused && !e.seeking;
      const first = seen.get(e.key);
      if (moving && first === undefined) seen.set(e.key, e.currentTime);
      return moving && first !== undefined && e.currentTime > first;
    });
    if (ok) return performance.now() - t0;
    if (performance.now() - t0 > 20000) return NaN;
    await new Promise((r) => setTimeout(r, 5));
  }
}
"""

REPLAY_SEEK = (
    """async (target) => { const t0 = performance.now(); window.replayView.seek(target);
  const settle = """
    + SETTLED
    + """;
  return settle([t0, () => window.replayView.elements().filter((e) => e.active)
    .map((e) => ({ ...e, key: e.trackId }))]); }"""
)

PLAIN_OPEN = (
    """async (url) => { const t0 = performance.now(); const v = document.createElement('video');
  v.muted = true; v.preload = 'auto'; v.src = url; document.body.append(v); window.__v = v; v.play().catch(() => {});
  const settle = """
    + SETTLED
    + """;
  return settle([t0, () => [{ key: 0, readyState: v.readyState, paused: v.paused, seeking: v.seeking,
    currentTime: v.currentTime }]]); }"""
)

PLAIN_SEEK = (
    """async (seconds) => { const v = window.__v; const t0 = performance.now(); v.currentTime = seconds;
  const settle = """
    + SETTLED
    + """;
  return settle([t0, () => [{ key: 0, readyState: v.readyState, paused: v.paused, seeking: v.seeking,
    currentTime: v.currentTime }]]); }"""
)


async def serve(tmp: str) -> tuple[LiveServer, uvicorn.Server, asyncio.Task[None]]:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp}/replay.db",
        run_jobs=False,
        demo_password=PASSWORD,
        reconnect_grace_seconds=3,
        recordings_dir=f"{tmp}/recordings",
    )
    from sqlmodel import SQLModel

    import server.models  # noqa: F401  (registers the tables)
    from server.db.engine import make_engine

    engine = make_engine(settings.database_url)
    async with engine.begin() as conn:
        await conn.run_sync(SQLModel.metadata.create_all)
    await engine.dispose()
    await load_demo(settings, timetable=False)
    app = create_app(settings)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    for _ in range(1500):
        if server.started:
            break
        await asyncio.sleep(0.02)
    return LiveServer(f"http://127.0.0.1:{port}", settings, app), server, task


async def context_page(browser: Browser, token: str | None = None):  # type: ignore[no-untyped-def]
    context = await browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    if token:
        await context.add_init_script(f"sessionStorage.setItem('haiqiaoToken', {token!r});")
    return context, await context.new_page()


async def open_replay(browser: Browser, live: LiveServer, token: str, session_id: int) -> dict[str, Any]:
    context, page = await context_page(browser, token)
    await context.add_init_script(OPEN_PROBE)
    await page.goto(f"{live.url}/replay?session={session_id}")
    for _ in range(2000):
        bench = await page.evaluate("window.__bench && window.__bench.playingAt ? window.__bench : null")
        if bench:
            break
        await asyncio.sleep(0.01)
    else:
        raise AssertionError("the replay never played")
    return {"context": context, "page": page, **bench}


async def main(seconds: float, opens: int, seeks: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        live, server, task = await serve(tmp)
        try:
            session_id = await record_lesson(live, seconds, share=True)
            token = await live.token("researcher")
            async with httpx.AsyncClient(base_url=live.url) as client:
                replay = (
                    await client.get(
                        f"/api/v1/sessions/{session_id}/replay", headers={"Authorization": f"Bearer {token}"}
                    )
                ).json()
            master = next(t for t in replay["tracks"] if t["master"])
            duration = replay["duration_ms"]
            rng = random.Random(7)
            targets = [rng.randrange(500, max(1000, duration - 2500)) for _ in range(seeks)]
            async with async_playwright() as pw:
                browser = await pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
                try:
                    opened, ready, pictures = [], [], 0
                    for _ in range(opens):
                        run = await open_replay(browser, live, token, session_id)
                        opened.append(run["playingAt"])
                        ready.append(run["playingAt"] - run["readyAt"])
                        pictures = run["pictures"]
                        if len(opened) < opens:
                            await run["context"].close()
                    page = run["page"]
                    replay_seeks = [float(await page.evaluate(REPLAY_SEEK, t)) for t in targets]
                    elements = len(await page.evaluate("window.replayView.elements()"))
                    await run["context"].close()

                    plain_open, plain_seeks = [], []
                    for i in range(opens):
                        context, page = await context_page(browser)
                        await page.goto(f"{live.url}/static/haiqiao.css")  # the same origin, no page script
                        plain_open.append(float(await page.evaluate(PLAIN_OPEN, f"{live.url}{master['url']}")))
                        if i == opens - 1:
                            for t in targets:
                                local = max(0.0, (t - master["offset_ms"]) / 1000)
                                plain_seeks.append(float(await page.evaluate(PLAIN_SEEK, local)))
                        await context.close()
                finally:
                    await browser.close()
        finally:
            server.should_exit = True
            await asyncio.wait_for(task, 15)
    table(seconds, duration, replay, elements, pictures, opened, ready, replay_seeks, plain_open, plain_seeks)


def table(
    seconds: float,
    duration: int,
    replay: dict[str, Any],
    elements: int,
    pictures: int,
    opened: list[float],
    ready: list[float],
    replay_seeks: list[float],
    plain_open: list[float],
    plain_seeks: list[float],
) -> None:
    def stats(values: list[float]) -> tuple[float, float]:
        good = [v for v in values if v == v]  # NaN: did not settle within 20 s
        return (statistics.median(good), pct(good, 0.95)) if good else (float("nan"), float("nan"))

    videos = sum(t["kind"] == "video" for t in replay["tracks"])
    print(
        f"replay: a {seconds:.0f} s class recorded through the live server ({duration / 1000:.1f} s on the timeline, "
        f"{len(replay['tracks'])} tracks: {videos} video, {len(replay['tracks']) - videos} audio; {elements} media "
        f"elements on the page, {pictures} pictures showing at the start); headless Chromium on loopback"
    )
    rows = [
        ("open → every picture playing", stats(opened), stats(plain_open), len(opened)),
        ("  of which: page ready → playing", stats(ready), stats(plain_open), len(ready)),
        ("seek → every element seeked and playing", stats(replay_seeks), stats(plain_seeks), len(replay_seeks)),
    ]
    print("| measure | n | replay median | replay p95 | plain <video> median | plain p95 | ratio (medians) |")
    print("|---|---|---|---|---|---|---|")
    for name, (med, p95), (bmed, bp95), n in rows:
        ratio = med / bmed if bmed else float("nan")
        print(f"| {name} | {n} | {med:.0f} ms | {p95:.0f} ms | {bmed:.0f} ms | {bp95:.0f} ms | {ratio:.2f}× |")
    failed = sum(v != v for v in replay_seeks) + sum(v != v for v in plain_seeks)
    if failed:
        print(f"{failed} seek(s) did not settle within 20 s (left out above)")
    print("baseline: one plain <video> of the host camera's file (the same signed link) in the same run")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the recorded class")
    parser.add_argument("--opens", type=int, default=5, help="page opens measured (fresh browser contexts)")
    parser.add_argument("--seeks", type=int, default=10, help="seeks measured")
    args = parser.parse_args()
    asyncio.run(main(args.seconds, args.opens, args.seeks))
