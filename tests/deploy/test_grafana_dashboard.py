"""deploy/grafana/haiqiao-dashboard.json imports into Grafana and asks only for metrics the service
exposes: every haiqiao_* name in its queries is one a real /metrics scrape declares (a renamed metric
fails here), counters are read through rate()/increase(), histograms through histogram_quantile()."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import Api

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "haiqiao-dashboard.json"
METRIC = re.compile(r"\bhaiqiao_[a-z0-9_]+\b")
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "summary": ("_sum", "_count")}


def dashboard() -> dict[str, Any]:
    return dict(json.loads(DASHBOARD.read_text(encoding="utf-8")))


def panels(board: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for panel in board["panels"]:
        out += [panel, *panel.get("panels", [])]
    return [p for p in out if p["type"] != "row"]


def queries(board: dict[str, Any]) -> list[str]:
    exprs = [t["expr"] for p in panels(board) for t in p["targets"]]
    for var in board["templating"]["list"]:
        if var["type"] == "query":
            exprs.append(var["query"]["query"] if isinstance(var["query"], dict) else var["query"])
    return exprs


async def exposed(api: Api) -> dict[str, str]:
    """Every series name the service's /metrics declares (families without samples yet included, by their
    TYPE line) → the family's type."""
    resp = await api.client.get("/metrics")
    assert resp.status_code == 200
    names = {}
    for family in text_string_to_metric_families(resp.text):
        for suffix in SUFFIXES.get(family.type, ("",)):
            names[family.name + suffix] = family.type
    return names


def test_the_dashboard_is_an_importable_grafana_dashboard() -> None:
    board = dashboard()
    assert board["title"]
    assert board["uid"]
    assert board["schemaVersion"] >= 30
    (source,) = [v for v in board["templating"]["list"] if v["type"] == "datasource"]
    assert source["query"] == "prometheus"
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    for panel in panels(board):
        assert panel["datasource"] == {"type": "prometheus", "uid": f"${{{source['name']}}}"}, panel["title"]
        assert panel["targets"], panel["title"]
        assert {"h", "w", "x", "y"} <= set(panel["gridPos"]), panel["title"]


async def test_every_metric_the_dashboard_reads_is_exposed(api: Api) -> None:
    names = await exposed(api)
    used = {name for expr in queries(dashboard()) for name in METRIC.findall(expr)}
    assert sorted(used - set(names)) == []
    for expr in queries(dashboard()):
        for name in METRIC.findall(expr):
            if names[name] == "counter":
                assert re.search(rf"(rate|increase)\({name}\b", expr), f"a counter read raw: {expr}"
            if name.endswith("_bucket"):
                assert "histogram_quantile(" in expr, expr
    # What issue 16 names is on the dashboard.
    for name in (
        "haiqiao_rooms",
        "haiqiao_seats",
        "haiqiao_forwarded_packets_total",
        "haiqiao_forwarded_bytes_total",
        "haiqiao_dropped_packets_total",
        "haiqiao_keyframe_requests_total",
        "haiqiao_join_to_first_packet_seconds_bucket",
        "haiqiao_http_request_duration_seconds_bucket",
        "haiqiao_db_pool_connections",
        "haiqiao_job_runs_total",
        "haiqiao_job_failures_total",
        "haiqiao_webhook_backlog",
    ):
        assert name in used, name
