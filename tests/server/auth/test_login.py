"""Logging in with the OAuth2 password form and reading /me."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from server.auth.security import create_access_token
from tests.conftest import Api


async def _login(api: Api, login: str, password: str):
    return await api.client.post("/api/v1/auth/token", data={"username": login, "password": password})


async def test_demo_teacher_logs_in_and_sees_own_profile(demo_api: Api) -> None:
    resp = await _login(demo_api, "t-qushan", "demo-password-1")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["token_type"] == "bearer"
    me = await demo_api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["login"] == "t-qushan"
    assert me.json()["roles"] == ["teacher"]
    assert me.json()["school_id"] is not None


async def test_wrong_password_and_unknown_login_get_the_same_401(demo_api: Api) -> None:
    wrong = await _login(demo_api, "t-qushan", "not-the-password")
    unknown = await _login(demo_api, "nobody", "demo-password-1")
    for resp in (wrong, unknown):
        assert resp.status_code == 401
        assert resp.json()["error"]["code"] == "bad_credentials"


async def test_missing_form_fields_are_a_422_in_the_error_shape(demo_api: Api) -> None:
    resp = await demo_api.client.post("/api/v1/auth/token", data={"username": "admin"})
    assert resp.status_code == 422
    assert resp.json()["error"]["code"] == "validation_error"


async def test_expired_and_forged_tokens_are_refused(demo_api: Api) -> None:
    person_id = await demo_api.person_id("admin")
    past = datetime.now(UTC) - timedelta(hours=2)
    expired = create_access_token(person_id, secret=demo_api.settings.secret_key, now=past, ttl=timedelta(minutes=5))
    forged = create_access_token(
        person_id,
        secret="someone-else-s-secret-value-that-is-long-enough",
        now=datetime.now(UTC),
        ttl=timedelta(minutes=5),
    )
    resp = await demo_api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {expired}"})
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == "token_expired"
    resp = await demo_api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {forged}"})
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == "invalid_token"
    resp = await demo_api.client.get("/api/v1/me")
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == "not_authenticated"


async def test_device_credential_logs_in_as_its_classroom(demo_api: Api) -> None:
    resp = await _login(demo_api, "dev-qushan-1", "demo-password-1")
    assert resp.status_code == 200
    me = await demo_api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {resp.json()['access_token']}"})
    assert me.json()["roles"] == ["device"]
    assert me.json()["classroom_id"] is not None
