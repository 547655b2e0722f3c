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
    assert settings.timezone == "Asia/Shanghai"


def test_settings_come_from_haiqiao_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HAIQIAO_PORT", "8123")
    monkeypatch.setenv("HAIQIAO_DATABASE_URL", "sqlite+aiosqlite:///tmp/other.db")
    settings = Settings()
    assert settings.port == 8123
    assert settings.database_url.endswith("other.db")


def test_unknown_timezone_is_refused() -> None:
    with pytest.raises(ValidationError):
        Settings(timezone="Mars/Olympus")
