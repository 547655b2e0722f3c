"""Every page is served with a Content-Security-Policy (scripts from this service only, no framing),
nosniff and a Referrer-Policy, and no page carries an inline script."""

from __future__ import annotations

import re

import pytest

from server.web import PAGES, STATIC
from tests.conftest import Api


@pytest.mark.parametrize("path", [*PAGES, "/static/common.js", "/api/v1/me", "/healthz"])
async def test_security_headers_on_every_answer(api: Api, path: str) -> None:
    resp = await api.client.get(path)
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "same-origin"
    policy = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]


@pytest.mark.parametrize("page", sorted(set(PAGES.values())))
def test_no_page_has_an_inline_script_or_handler(page: str) -> None:
    html = (STATIC / page).read_text()
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag, f"{page}: inline script {tag}"
    assert not re.search(r"\son[a-z]+=", html), f"{page}: inline event handler"


@pytest.mark.parametrize("path", list(PAGES))
async def test_every_page_is_served_with_the_one_common_head(api: Api, path: str) -> None:
    html = (await api.client.get(path)).text
    head = html.split("</head>")[0]
    assert '<meta charset="utf-8">' in head
    assert 'name="viewport"' in head
    assert "<!--#head" not in html  # every marker was replaced
    if path not in ("/docs", "/redoc"):
        assert 'href="/static/haiqiao.css"' in head
