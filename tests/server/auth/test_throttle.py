"""Wrong passwords are throttled per login and per address; the wait doubles; the right password waits too."""

from __future__ import annotations

import asyncio

from server.auth.throttle import FREE_PER_ADDRESS, FREE_PER_LOGIN, Throttle
from tests.conftest import Api


def test_a_few_mistakes_are_free_then_each_failure_doubles_the_wait() -> None:
    throttle = Throttle()
    waits = [throttle.failed("t-gaoting", "10.0.0.1", 100.0) for _ in range(FREE_PER_LOGIN + 3)]
    assert waits == [0.0] * FREE_PER_LOGIN + [2.0, 4.0, 8.0]
    assert throttle.wait("T-Gaoting ", "10.0.0.9", 101.0) == 7.0  # the login waits, from any address
    assert throttle.wait("t-changtu", "10.0.0.1", 101.0) == 0.0  # the address is not blocked yet
    throttle.succeeded("t-gaoting")
    assert throttle.wait("t-gaoting", "10.0.0.9", 101.0) == 0.0


def test_one_address_spraying_many_logins_is_throttled_but_a_schools_terminals_are_not() -> None:
    throttle = Throttle()
    for n in range(FREE_PER_ADDRESS + 1):
        throttle.failed(f"guess-{n}", "203.0.113.7", 50.0)
    assert throttle.wait("someone-else", "203.0.113.7", 50.5) > 0
    school = Throttle()
    for n in range(40):  # forty terminals behind one address, one mistyped password among them
        if n == 7:
            school.failed(f"dev-{n}", "198.51.100.2", 60.0)
    assert school.wait("dev-8", "198.51.100.2", 60.0) == 0.0


async def _login(api: Api, password: str, login: str = "t-gaoting"):
    return await api.client.post("/api/v1/auth/token", data={"username": login, "password": password})


async def test_a_brute_force_gets_429_with_retry_after_and_even_the_right_password_waits(demo_api: Api) -> None:
    now = [1000.0]
    demo_api.client._transport.app.state.login_throttle.clock = lambda: now[0]  # type: ignore[attr-defined]
    for _ in range(FREE_PER_LOGIN):
        assert (await _login(demo_api, "wrong")).status_code == 401
    assert (await _login(demo_api, "wrong")).status_code == 401  # this one starts the wait
    refused = await _login(demo_api, "demo-password-1")
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "login_throttled"
    assert "秒后再试" in refused.json()["error"]["message"]
    assert refused.headers["Retry-After"] == "2"
    now[0] += 2.5
    assert (await _login(demo_api, "demo-password-1")).status_code == 200
    assert (await _login(demo_api, "wrong")).status_code == 401  # a success cleared the count


async def test_password_checks_wait_their_turn(demo_api: Api) -> None:
    # Twenty logins at once: all succeed, never more than the configured number of argon2 checks at a time.
    checks = demo_api.client._transport.app.state.password_checks  # type: ignore[attr-defined]
    seen = []

    async def watch() -> None:
        while True:
            seen.append(demo_api.settings.password_checks - checks._value)
            await asyncio.sleep(0.005)

    watcher = asyncio.ensure_future(watch())
    answers = await asyncio.gather(*(_login(demo_api, "demo-password-1", f"dev-{r}-1") for r in ("gaoting",) * 20))
    watcher.cancel()
    assert {a.status_code for a in answers} == {200}
    assert max(seen) <= demo_api.settings.password_checks
    assert max(seen) == demo_api.settings.password_checks
