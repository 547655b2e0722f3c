"""The bureau's quota report: JSON, CSV (Excel-friendly, with BOM) and an xlsx workbook that can be sent
upward as is — a summary sheet plus one sheet per community with every session and its verdict."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

from fastapi import Response
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from scheduling.enums import SESSION_KIND_LABELS_ZH, SessionKind, SessionStatus
from scheduling.quotas import Pace
from server.attendance.service import CommunityQuota
from server.attendance.summary import tally_dict

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The words the pages use (console-i18n.js), for a sheet that is Chinese throughout.
STATUS_ZH = {
    SessionStatus.scheduled: "未开始",
    SessionStatus.open: "可进入",
    SessionStatus.live: "上课中",
    SessionStatus.ended: "已结束",
    SessionStatus.missed: "未开课",
    SessionStatus.cancelled: "已取消",
}
PACE_ZH = {Pace.met: "已完成", Pace.on_track: "进度正常", Pace.at_risk: "有风险", Pace.behind: "落后"}
SUMMARY_HEADERS = [
    "教共体",
    "考核项目",
    "要求",
    "已开课",
    "待开课",
    "待判定",
    "未开课",
    "已取消",
    "涉及学科",
    "按进度应完成",
    "进度",
    "点播次数",  # views of the community's recorded lessons this year, beside the live sessions
]
SESSION_HEADERS = ["日期", "课型", "课题", "学科", "状态", "是否计为已开课", "依据"]


def summary_rows(data: list[CommunityQuota], views: dict[int, int]) -> list[list[Any]]:
    rows = []
    for q in data:
        for t in q.tallies:
            rows.append(
                [
                    q.community.name,
                    t.rule.name,
                    t.required,
                    t.held,
                    t.scheduled,
                    t.pending,
                    t.missed,
                    t.cancelled,
                    "、".join(t.subjects),
                    t.expected_by_today,
                    PACE_ZH[t.pace],
                    views.get(q.community.id or 0, 0),
                ]
            )
    return rows


def session_rows(q: CommunityQuota, titles: dict[int, str]) -> list[list[Any]]:
    rows = []
    for f in q.facts:
        if f.belongs:
            counted = "是" if f.held else ("否" if f.held is False else "待定")
        else:
            counted = "否 (非本教共体)"
        reason = f.reason_zh
        rows.append(
            [
                f.day.isoformat(),
                SESSION_KIND_LABELS_ZH[SessionKind(f.kind)],
                titles.get(f.session_id, ""),
                f.subject,
                STATUS_ZH[f.status],
                counted,
                reason,
            ]
        )
    return rows


def render(
    data: list[CommunityQuota], year: int, fmt: str, rooms: dict[Any, str], views: dict[int, int] | None = None
) -> Response:
    """``views``: 点播, the views of each community's recorded lessons of the year (beside live sessions)."""
    del rooms
    views = views or {}
    if fmt == "json":
        body = [
            {
                "community_id": q.community.id,
                "community": q.community.name,
                "year": year,
                "rules": [tally_dict(t) for t in q.tallies],
                "views": views.get(q.community.id or 0, 0),
            }
            for q in data
        ]
        return Response(json.dumps(body, ensure_ascii=False), media_type="application/json")
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(SUMMARY_HEADERS)
        writer.writerows(summary_rows(data, views))
        return Response(
            "\ufeff" + buf.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="quotas-{year}.csv"'},
        )
    return Response(
        workbook(data, year, views),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="quotas-{year}.xlsx"'},
    )


HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="2F6FB0")
CENTER = Alignment(horizontal="center")


def _header(ws: Any, values: list[Any]) -> list[WriteOnlyCell]:
    cells = []
    for value in values:
        cell = WriteOnlyCell(ws, value=value)
        cell.font, cell.fill, cell.alignment = HEADER_FONT, HEADER_FILL, CENTER
        cells.append(cell)
    return cells


def _title(ws: Any, values: list[Any], size: int) -> list[Any]:
    first = WriteOnlyCell(ws, value=values[0])
    first.font = Font(bold=True, size=size)
    return [first, *values[1:]]


def _widths(ws: Any, widths: list[int]) -> None:
    for i, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = w


def workbook(data: list[CommunityQuota], year: int, views: dict[int, int]) -> bytes:
    # Written row by row (openpyxl's write-only mode): a province's 2,000 sheets and 250,000 sessions
    # would otherwise be held cell by cell in memory and take minutes.
    wb = Workbook(write_only=True)
    summary = wb.create_sheet("汇总")
    _widths(summary, [28, 30, 8, 8, 8, 8, 8, 8, 18, 14, 10, 10])
    summary.append(_title(summary, [f"{year}年度 城乡教育共同体 同步课堂与网络教研 完成情况"], 14))
    summary.append(_header(summary, SUMMARY_HEADERS))
    for row in summary_rows(data, views):
        summary.append(row)
    for q in data:
        ws = wb.create_sheet(_sheet_name(q.community.name))
        _widths(ws, [12, 10, 28, 8, 10, 14, 60])
        ws.append(_title(ws, [q.community.name, f"{year}年度"], 13))
        ws.append(_header(ws, SUMMARY_HEADERS[1:]))
        for row in summary_rows([q], views):
            ws.append(row[1:])
        ws.append([])
        ws.append(_header(ws, SESSION_HEADERS))
        for row in session_rows(q, q.titles):
            ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _sheet_name(name: str) -> str:
    # Excel: at most 31 characters, none of []:*?/\
    return re.sub(r"[\[\]:*?/\\]", "-", name)[:31]
