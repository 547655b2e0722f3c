"""Settings refuse unsafe production configurations."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from server.settings import DEFAULT_SECRET, Settings


def test_production_refuses_the_default_secret() -> None:
    with pytest.raises(ValidationError, match="HAIQIAO_SECRET_KEY"):
        Settings(mode="production", secret_key=DEFAULT_SECRET)


def test_production_accepts_a_long_own_secret() -> None:
    settings = Settings(mode="production", secret_key="x" * 40)
    assert settings.secret_key == "x" * 40


def test_settings_come_from_haiqiao_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HAIQIAO_PORT", "8123")
    monkeypatch.setenv("HAIQIAO_DATABASE_URL", "sqlite+aiosqlite:///tmp/other.db")
    settings = Settings()
    assert settings.port == 8123
    assert settings.database_url.endswith("other.db")


def test_a_negative_lobby_is_refused() -> None:
    with pytest.raises(ValidationError):
        Settings(lobby_minutes=-1)


def test_development_makes_its_own_secret_once_and_keeps_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    first = Settings(var_dir=str(tmp_path / "var"))
    again = Settings(var_dir=str(tmp_path / "var"))
    elsewhere = Settings(var_dir=str(tmp_path / "other"))
    assert first.secret_key != DEFAULT_SECRET
    assert len(first.secret_key) >= 32
    assert again.secret_key == first.secret_key  # tokens survive a restart
    assert elsewhere.secret_key != first.secret_key  # another installation, another secret
    assert (tmp_path / "var" / "secret_key").stat().st_mode & 0o777 == 0o600


async def test_a_token_forged_with_the_published_default_secret_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime, timedelta

    import httpx

    from server.app import create_app
    from server.auth.security import create_access_token

    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", var_dir=str(tmp_path), run_jobs=False)
    forged = create_access_token(1, secret=DEFAULT_SECRET, now=datetime.now(UTC), ttl=timedelta(hours=1))
    app = create_app(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        resp = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {forged}"})
    await app.state.engine.dispose()
    assert resp.status_code == 401
