"""deploy/haiqiao.env documents every setting: a setting added to server/settings.py without its line (and
the comment saying what it is for) fails here, and so does a misspelt name, which Haiqiao would ignore."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from server.settings import DEFAULT_SECRET, Mode, Settings

ENV_FILE = Path(__file__).resolve().parents[2] / "deploy" / "haiqiao.env"
KEY = re.compile(r"^#?(HAIQIAO_[A-Z0-9_]+)=")


def documented() -> dict[str, str]:
    """Each HAIQIAO_ name in the file (set, or commented out at its default) → the comment above it; names
    in one group (lines one after another) share the group's comment."""
    found: dict[str, str] = {}
    comment: list[str] = []
    after_key = False
    for line in ENV_FILE.read_text(encoding="utf-8").splitlines():
        key = KEY.match(line)
        if key:
            found[key.group(1)] = " ".join(comment)
        elif line.startswith("#") and line.strip("# "):
            comment = [*([] if after_key else comment), line.lstrip("# ")]
        else:
            comment = []
        after_key = bool(key)
    return found


def test_every_setting_has_a_documented_line() -> None:
    names = {f"HAIQIAO_{name.upper()}" for name in Settings.model_fields}
    found = documented()
    assert sorted(names - set(found)) == []
    assert [name for name, comment in found.items() if not comment] == []


def test_every_name_in_the_file_is_a_setting() -> None:
    names = {f"HAIQIAO_{name.upper()}" for name in Settings.model_fields}
    assert sorted(set(documented()) - names) == []


def test_the_file_as_shipped_is_valid_production_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("HAIQIAO_")]:  # the file alone, not the test's own
        monkeypatch.delenv(name)
    settings = Settings(_env_file=ENV_FILE)  # type: ignore[call-arg]
    assert settings.mode is Mode.production
    assert settings.secret_key != DEFAULT_SECRET
    assert settings.database_url.startswith("postgresql+asyncpg://")
    assert settings.redis_url
    assert settings.turn_urls
    assert settings.turn_secret
