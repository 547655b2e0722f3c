"""The demo county: a Daishan-like island county with a fused, a co-built and a collaborative community."""

from __future__ import annotations

from datetime import date
from typing import Any

from scheduling.enums import ClassroomKind, CommunityKind, Locality, Role, SessionKind, Stage

PRIMARY_SUMMER = [
    ("08:00", "08:40"),
    ("08:50", "09:30"),
    ("09:55", "10:35"),
    ("10:45", "11:25"),
    ("14:00", "14:40"),
    ("14:50", "15:30"),
    ("15:40", "16:20"),
]
PRIMARY_WINTER = [
    ("08:00", "08:40"),
    ("08:50", "09:30"),
    ("09:55", "10:35"),
    ("10:45", "11:25"),
    ("13:30", "14:10"),
    ("14:20", "15:00"),
    ("15:10", "15:50"),
]
JUNIOR_SUMMER = [
    ("07:50", "08:35"),
    ("08:45", "09:30"),
    ("09:50", "10:35"),
    ("10:45", "11:30"),
    ("14:00", "14:45"),
    ("14:55", "15:40"),
    ("15:50", "16:35"),
]
JUNIOR_WINTER = [
    ("07:50", "08:35"),
    ("08:45", "09:30"),
    ("09:50", "10:35"),
    ("10:45", "11:30"),
    ("13:30", "14:15"),
    ("14:25", "15:10"),
    ("15:20", "16:05"),
]


def bell_variants(stage: Stage, shift_minutes: int = 0) -> list[dict[str, Any]]:
    """夏季作息 from 1 May and 冬季作息 from 1 October; outer islands may start later (ferries)."""
    summer, winter = (JUNIOR_SUMMER, JUNIOR_WINTER) if stage is Stage.junior else (PRIMARY_SUMMER, PRIMARY_WINTER)

    def shifted(hhmm: str) -> str:
        h, m = map(int, hhmm.split(":"))
        total = h * 60 + m + shift_minutes
        return f"{total // 60:02d}:{total % 60:02d}"

    def periods(rows: list[tuple[str, str]]) -> list[dict[str, Any]]:
        return [{"number": i + 1, "start": shifted(s), "end": shifted(e)} for i, (s, e) in enumerate(rows)]

    return [
        {"name": "夏季作息", "from": "05-01", "periods": periods(summer)},
        {"name": "冬季作息", "from": "10-01", "periods": periods(winter)},
    ]


# key, name, island, region, locality, stage, bell shift in minutes
SCHOOLS: list[tuple[str, str, str, str, Locality, Stage, int]] = [
    ("gaoting", "岱山县高亭中心小学", "岱山本岛", "高亭镇", Locality.urban, Stage.primary, 0),
    ("erzhong", "岱山县第二初级中学", "岱山本岛", "高亭镇", Locality.urban, Stage.junior, 0),
    ("daixi", "岱山县岱西镇中心小学", "岱山本岛", "岱西镇", Locality.rural, Stage.primary, 0),
    ("qushan", "岱山县衢山镇第一小学", "衢山岛", "衢山镇", Locality.rural, Stage.primary, 10),
    ("qushanzhong", "岱山县衢山初级中学", "衢山岛", "衢山镇", Locality.rural, Stage.junior, 10),
    ("changtu", "岱山县长涂镇中心小学", "长涂岛", "长涂镇", Locality.rural, Stage.primary, 10),
    ("xiushan", "岱山县秀山学校", "秀山岛", "秀山乡", Locality.rural, Stage.nine_year, 10),
    ("dinghai", "舟山市定海区城东小学", "舟山本岛", "定海区(县域外)", Locality.urban, Stage.primary, 0),
]

# teacher login suffix → (name, subject) per school; one teacher login per school at least.
TEACHERS: dict[str, list[tuple[str, str, str]]] = {
    "gaoting": [("t-gaoting", "王海燕", "数学"), ("t-gaoting-2", "陈立群", "语文")],
    "erzhong": [("t-erzhong", "李志刚", "英语"), ("t-erzhong-2", "周美华", "科学")],
    "daixi": [("t-daixi", "林小军", "数学")],
    "qushan": [("t-qushan", "张丽", "语文")],
    "qushanzhong": [("t-qushanzhong", "刘建平", "英语")],
    "changtu": [("t-changtu", "徐静", "数学")],
    "xiushan": [("t-xiushan", "黄晓东", "科学")],
    "dinghai": [("t-dinghai", "吴晨", "语文")],
}

# school key → classrooms (name, kind)
CLASSROOMS: dict[str, list[tuple[str, ClassroomKind]]] = {
    "gaoting": [("主讲教室一", ClassroomKind.host), ("录播教室", ClassroomKind.host)],
    "erzhong": [("主讲教室", ClassroomKind.host)],
    "daixi": [("互动教室", ClassroomKind.receiving)],
    "qushan": [("互动教室", ClassroomKind.receiving)],
    "qushanzhong": [("互动教室", ClassroomKind.receiving)],
    "changtu": [("互动教室", ClassroomKind.receiving)],
    "xiushan": [("互动教室", ClassroomKind.receiving)],
    "dinghai": [("主讲教室", ClassroomKind.host)],
}

STAFF: list[tuple[str, str, Role, str | None]] = [
    ("admin", "系统管理员", Role.admin, None),
    ("scheduler", "县教育局教务科 孙老师", Role.scheduler, None),
    ("researcher", "县教研室 教研员 郑老师", Role.researcher, None),
]

DAISHAN_RULE = {
    "name": "同步课堂、网络教研年度不少于60次",
    "kinds": [SessionKind.sync_class, SessionKind.research],
    "required": 60,
    "unit": "次",
    "min_subjects": None,
}
YUYAO_SYNC = {
    "name": "同步课堂不少于20节,不少于2门学科",
    "kinds": [SessionKind.sync_class],
    "required": 20,
    "unit": "节",
    "min_subjects": 2,
}
YUYAO_RESEARCH = {
    "name": "网络研修不少于8次",
    "kinds": [SessionKind.research],
    "required": 8,
    "unit": "次",
    "min_subjects": None,
}

COMMUNITIES: list[dict[str, Any]] = [
    {
        "name": "高亭小学城乡教育共同体",
        "kind": CommunityKind.fused,
        "core": "gaoting",
        "members": [("daixi", date(2021, 9, 1)), ("changtu", date(2021, 9, 1))],
        "quota_rules": [DAISHAN_RULE],
        "workload_ratio": 1.0,
    },
    {
        "name": "岱山二中—衢山初中联岛共同体",
        "kind": CommunityKind.co_built,
        "core": "erzhong",
        "members": [("qushanzhong", date(2022, 2, 14)), ("xiushan", date(2022, 2, 14))],
        "quota_rules": [DAISHAN_RULE, YUYAO_SYNC, YUYAO_RESEARCH],
        "workload_ratio": 0.5,
    },
    {
        "name": "定海城东—衢山一小协作体",
        "kind": CommunityKind.collaborative,
        "core": "dinghai",
        "members": [("qushan", date(2023, 9, 1))],
        "quota_rules": [YUYAO_RESEARCH],
        "workload_ratio": 0.5,
    },
]

TERMS = [
    ("2025学年第二学期", 2025, 2, date(2026, 2, 24), date(2026, 7, 3)),
    ("2026学年第一学期", 2026, 1, date(2026, 9, 1), date(2027, 1, 22)),
]

# The 2026学年第一学期 timetable of cross-island sessions: (community index, kind, title, subject, grade,
# host school key, host room index, host teacher login, receiving school keys, invited teacher logins,
# first date, period, RRULE).
TERM_FIRST_DAY = date(2026, 9, 1)
TERM_UNTIL = date(2027, 1, 19)
SERIES: list[tuple[int, SessionKind, str, str, int | None, str, int, str, list[str], list[str], date, int, str]] = [
    (
        0,
        SessionKind.sync_class,
        "四年级数学 同步课堂",
        "数学",
        4,
        "gaoting",
        1,
        "t-gaoting",
        ["daixi", "changtu"],
        [],
        date(2026, 9, 1),
        3,
        "FREQ=WEEKLY;BYDAY=TU",
    ),
    (
        0,
        SessionKind.sync_class,
        "五年级语文 同步课堂",
        "语文",
        5,
        "gaoting",
        1,
        "t-gaoting-2",
        ["changtu"],
        [],
        date(2026, 9, 3),
        2,
        "FREQ=WEEKLY;BYDAY=TH",
    ),
    (
        0,
        SessionKind.research,
        "数学集体备课 (网络教研)",
        "数学",
        None,
        "gaoting",
        2,
        "t-gaoting",
        [],
        ["t-daixi", "t-changtu"],
        date(2026, 9, 2),
        6,
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=WE",
    ),
    (
        1,
        SessionKind.sync_class,
        "七年级英语 同步课堂",
        "英语",
        7,
        "erzhong",
        1,
        "t-erzhong",
        ["qushanzhong", "xiushan"],
        [],
        date(2026, 9, 7),
        2,
        "FREQ=WEEKLY;BYDAY=MO",
    ),
    (
        1,
        SessionKind.sync_class,
        "八年级科学 同步课堂",
        "科学",
        8,
        "erzhong",
        1,
        "t-erzhong-2",
        ["qushanzhong"],
        [],
        date(2026, 9, 2),
        3,
        "FREQ=WEEKLY;BYDAY=WE",
    ),
    (
        1,
        SessionKind.research,
        "英语观课议课 (网络教研)",
        "英语",
        None,
        "erzhong",
        1,
        "t-erzhong",
        [],
        ["t-qushanzhong", "t-xiushan"],
        date(2026, 9, 4),
        6,
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=FR",
    ),
    (
        2,
        SessionKind.research,
        "语文磨课 (县域外协作)",
        "语文",
        None,
        "dinghai",
        1,
        "t-dinghai",
        [],
        ["t-qushan"],
        date(2026, 9, 3),
        5,
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=TH",
    ),
    (
        2,
        SessionKind.sync_class,
        "三年级语文 同步课堂",
        "语文",
        3,
        "dinghai",
        1,
        "t-dinghai",
        ["qushan"],
        [],
        date(2026, 9, 1),
        4,
        "FREQ=WEEKLY;BYDAY=TU",
    ),
]
