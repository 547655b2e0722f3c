// 排课 console: the week view per community or school, new weekly series with conflicts checked before
// saving, changes to one session (edit, reschedule, cancel) and typhoon closures with make-up suggestions.
import { ApiError, api, directory, el, i18n, mountHeader } from "/static/common.js";

const tr = i18n({
  zh: {
    title: "海桥 · 排课", scope: "查看", prev: "‹ 上一周", next: "下一周 ›", thisWeek: "本周",
    communities: "教共体", schoolsGroup: "学校", emptyWeek: "本周没有课。",
    tabSeries: "新建系列课", tabSession: "课程详情", tabClosure: "台风停课",
    newSeries: "新建每周重复的课", kind: "类型", community: "教共体", titleField: "课题", titlePlaceholder: "如:四年级数学 同步课堂",
    subject: "学科", grade: "年级", noGrade: "不限", gradeN: "{n}年级", hostRoom: "主讲教室", hostTeacher: "主讲教师",
    receivers: "听讲教室", participants: "受邀教师", weekday: "星期", period: "节次", interval: "频率",
    weekly: "每周", biweekly: "隔周", term: "学期", from: "从此日起", check: "检查冲突", save: "保存系列课",
    sync_class: "同步课堂", dedicated_class: "专递课堂", master_class: "名师课堂", research: "网络教研",
    scheduled: "未开始", open: "可进入", live: "上课中", ended: "已结束", missed: "未开课", cancelled: "已取消",
    periodN: "第{n}节", otherTime: "其他时间", weekOf: "{start} – {end}", termWeek: "{term} 第{n}周",
    summary: "本周 {n} 节课", summaryCancelled: "本周 {n} 节课,已取消 {c} 节", closedNote: "停课:{reason}",
    pickSession: "在左侧课表中点击一节课,查看、修改、调课或取消。", closureTitle: "录入停课 (台风等)",
    closureHint: "停课日内已排的课将被取消,系统给出补课建议。", startDate: "开始日期", endDate: "结束日期",
    reason: "原因", schools: "停课学校", wholeCounty: "全县所有学校", preview: "预览受影响的课", confirmClosure: "确认停课",
    typhoon: "台风停课", firstDate: "首次上课 {date},至 {until}", noFirstDate: "所选日期之后本学期没有这一天",
    missing: "请填写:{fields}", checking: "正在检查冲突…", checkFirst: "保存前须先检查冲突",
    fixConflicts: "有冲突,请调整后再检查", recheck: "内容已改动,需重新检查", readyToSave: "无冲突,可以保存",
    noConflict: "没有冲突:共 {n} 次课", conflictsFound: "发现 {n} 处冲突,不能保存:",
    skipped: "{date} 不上课:{reason}", checkError: "无法检查:{message}",
    saved: "已保存系列课 #{id}:共 {n} 次课", savedSkipped: "跳过 {n} 天(节假日、停课)",
    saveRefused: "保存被拒绝:{message}",
    conflictLine: "{what}「{name}」已被「{other}」占用({when}),共 {n} 次:{dates}",
    conflictBatch: "{what}「{name}」与本次方案中的另一门课重叠,共 {n} 次:{dates}",
    classroomWord: "教室", teacherWord: "教师", unknownSession: "课程 #{id}", more: "等",
    detailTime: "时间", detailKind: "类型", detailHost: "主讲", detailReceivers: "听讲", detailInvited: "受邀",
    detailSeries: "系列", detailReason: "状态说明", seriesN: "系列课 #{id}", oneOff: "单次课",
    editTitle: "修改课题、学科", applyRest: "同时修改本系列此后的各次课", saveEdit: "保存修改",
    edited: "已修改 {n} 节课", rescheduleTitle: "调课 (改到另一天/节次)", newDate: "新日期", newPeriod: "新节次",
    rescheduleReason: "调课原因", reschedule: "调课", rescheduled: "已调到 {when}", rescheduleRefused: "调课被拒绝:{message}",
    cancelTitle: "取消这节课", cancelReason: "取消原因", cancelRest: "连同本系列之后的课一起取消", cancelBtn: "取消此课",
    cancelledN: "已取消 {n} 节课", needReason: "请填写原因", finalNote: "这节课已{status},不能再修改。",
    previewNone: "所选日期和学校没有要取消的课。", previewList: "将取消以下 {n} 节课:",
    closureSaved: "已录入停课 #{id}:{start} 至 {end},取消 {n} 节课。", makeUpTitle: "补课建议",
    noSuggestion: "四周内没有找到合适的补课时间,请手工安排。", arrangeMakeUp: "安排补课", makeUpMade: "已安排补课 #{id}",
    makeUpSuffix: "(补课)", pickSchools: "请选择停课学校,或勾选全县", allSchools: "全县",
    notScheduler: "排课页面供教务人员使用:您可以查看课表,但不能新建或修改。", loadError: "加载失败:{message}",
    weekdays: "周一,周二,周三,周四,周五,周六,周日", hostSchool: "主讲学校",
  },
  en: {
    title: "Haiqiao · Scheduling", scope: "View", prev: "‹ Previous week", next: "Next week ›", thisWeek: "This week",
    communities: "Communities", schoolsGroup: "Schools", emptyWeek: "No sessions this week.",
    tabSeries: "New series", tabSession: "Session", tabClosure: "Closure",
    newSeries: "New weekly series", kind: "Kind", community: "Community", titleField: "Title", titlePlaceholder: "e.g. Grade 4 maths",
    subject: "Subject", grade: "Grade", noGrade: "any", gradeN: "Grade {n}", hostRoom: "Host classroom", hostTeacher: "Host teacher",
    receivers: "Receiving classrooms", participants: "Invited teachers", weekday: "Weekday", period: "Period", interval: "Repeat",
    weekly: "every week", biweekly: "every other week", term: "Term", from: "Starting from", check: "Check conflicts", save: "Save series",
    sync_class: "Sync class", dedicated_class: "Dedicated class", master_class: "Master class", research: "Online research",
    scheduled: "scheduled", open: "open", live: "live", ended: "ended", missed: "missed", cancelled: "cancelled",
    periodN: "Period {n}", otherTime: "Other times", termWeek: "{term}, week {n}",
    summary: "{n} sessions this week", summaryCancelled: "{n} sessions this week, {c} cancelled", closedNote: "Closed: {reason}",
    pickSession: "Click a session in the timetable to see, edit, reschedule or cancel it.", closureTitle: "Record a closure (typhoon…)",
    closureHint: "Sessions on the closed days are cancelled; make-up slots are suggested.", startDate: "From", endDate: "To",
    reason: "Reason", schools: "Schools closed", wholeCounty: "Every school in the county", preview: "Preview affected sessions",
    confirmClosure: "Confirm closure", typhoon: "Typhoon 台风停课", firstDate: "First session {date}, until {until}",
    noFirstDate: "No such weekday in the term after that date", missing: "Still needed: {fields}", checking: "Checking conflicts…",
    checkFirst: "Check conflicts before saving", fixConflicts: "Conflicts: change the plan and check again",
    recheck: "Changed since the check: check again", readyToSave: "No conflicts: ready to save",
    noConflict: "No conflicts: {n} sessions", conflictsFound: "{n} conflicts, cannot save:", skipped: "{date} skipped: {reason}",
    checkError: "Could not check: {message}", saved: "Series #{id} saved: {n} sessions", savedSkipped: "{n} days skipped (holidays, closures)",
    saveRefused: "Not saved: {message}",
    conflictLine: "{what} “{name}” is taken by “{other}” ({when}) on {n} dates: {dates}",
    conflictBatch: "{what} “{name}” overlaps another series of this plan on {n} dates: {dates}",
    classroomWord: "Classroom", teacherWord: "Teacher", unknownSession: "session #{id}", more: "…",
    detailTime: "Time", detailKind: "Kind", detailHost: "Host", detailReceivers: "Receivers", detailInvited: "Invited",
    detailSeries: "Series", detailReason: "Status note", seriesN: "series #{id}", oneOff: "one-off session",
    editTitle: "Change title or subject", applyRest: "Also change the later sessions of this series", saveEdit: "Save changes",
    edited: "{n} sessions changed", rescheduleTitle: "Reschedule (another day or period)", newDate: "New date", newPeriod: "New period",
    rescheduleReason: "Reason", reschedule: "Reschedule", rescheduled: "Moved to {when}", rescheduleRefused: "Not rescheduled: {message}",
    cancelTitle: "Cancel this session", cancelReason: "Reason", cancelRest: "Also cancel the later sessions of this series",
    cancelBtn: "Cancel session", cancelledN: "{n} sessions cancelled", needReason: "Please give a reason",
    finalNote: "This session is {status} and can no longer be changed.", previewNone: "Nothing to cancel on those days and schools.",
    previewList: "These {n} sessions will be cancelled:", closureSaved: "Closure #{id} recorded: {start} to {end}, {n} sessions cancelled.",
    makeUpTitle: "Make-up suggestions", noSuggestion: "No free slot within four weeks: arrange it by hand.",
    arrangeMakeUp: "Book make-up", makeUpMade: "Make-up session #{id} booked", makeUpSuffix: " (make-up)",
    pickSchools: "Choose the schools, or the whole county", allSchools: "whole county",
    notScheduler: "This page is for schedulers: you can look at the timetable but not change it.", loadError: "Could not load: {message}",
    weekdays: "Mon,Tue,Wed,Thu,Fri,Sat,Sun", hostSchool: "Host school",
  },
});
const t = tr.t;
const $ = (id) => document.getElementById(id);
const ZONE = "Asia/Shanghai";
const KINDS = ["sync_class", "research", "dedicated_class", "master_class"];
const BYDAY = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"];
const FINAL = ["ended", "missed", "cancelled"];

// ---- dates: a day is "YYYY-MM-DD" in Shanghai; arithmetic on UTC midnights avoids the browser's zone.
const dayParts = new Intl.DateTimeFormat("en-CA", { timeZone: ZONE, year: "numeric", month: "2-digit", day: "2-digit" });
const timeParts = new Intl.DateTimeFormat("en-GB", { timeZone: ZONE, hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
function localDay(value) {
  const p = Object.fromEntries(dayParts.formatToParts(new Date(value)).map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day}`;
}
const localTime = (value) => timeParts.format(new Date(value));
const localMinutes = (value) => { const [h, m] = localTime(value).split(":").map(Number); return h * 60 + m; };
const hhmm = (text) => { const [h, m] = String(text).split(":").map(Number); return h * 60 + m; };
function addDays(day, n) { const d = new Date(`${day}T00:00:00Z`); d.setUTCDate(d.getUTCDate() + n); return d.toISOString().slice(0, 10); }
const weekdayOf = (day) => (new Date(`${day}T00:00:00Z`).getUTCDay() + 6) % 7; // 0 = Monday
const mondayOf = (day) => addDays(day, -weekdayOf(day));
const todayLocal = () => localDay(new Date());
const weekdayName = (i) => t("weekdays").split(",")[i];
function shortDate(day) {
  const d = new Date(`${day}T00:00:00Z`);
  return tr.lang === "zh" ? `${d.getUTCMonth() + 1}月${d.getUTCDate()}日`
    : d.toLocaleDateString("en", { timeZone: "UTC", month: "short", day: "numeric" });
}
const dayLabel = (day) => `${shortDate(day)} ${weekdayName(weekdayOf(day))}`;
const startOfDay = (day) => `${day}T00:00:00+08:00`;

// The server's messages are "中文 / English": show the half in the page's language.
function inLanguage(message) {
  const text = String(message ?? "");
  const cut = text.indexOf(" / ");
  if (cut < 0) return text;
  return tr.lang === "zh" ? text.slice(0, cut) : text.slice(cut + 3);
}
function errorWords(err) {
  if (!(err instanceof ApiError)) return String(err?.message || err);
  if (err.code === "validation_error" && Array.isArray(err.details)) {
    const fields = err.details.slice(0, 4).map((d) => `${(d.loc || []).slice(1).join(".") || "?"}: ${d.msg}`);
    return `${inLanguage(err.message)} (${fields.join("; ")})`;
  }
  if (err.code === "no_occurrences" && err.details?.skipped?.length) {
    const skips = err.details.skipped.slice(0, 3).map((s) => `${shortDate(s.date)} ${inLanguage(s.reason)}`);
    return `${inLanguage(err.message)}: ${skips.join("; ")}`;
  }
  return inLanguage(err.message) || err.code;
}

// ---- what the page knows
const S = {
  me: null, dir: null, communities: [], people: new Map(), terms: [], holidays: [], bells: new Map(),
  scope: null, week: mondayOf(todayLocal()), sessions: [], closures: [], selected: null, known: new Map(),
  canPlan: false, lastCheck: null, lastClosure: null, checked: null, checkSeq: 0, checkTimer: null, closurePreview: null,
};

function shortSchool(name) {
  return String(name || "").replace(/^.*?(县|市.*?区)/, "") || name;
}
const schoolName = (id) => shortSchool(S.dir.schools.get(id)?.name ?? `#${id}`);
const room = (id) => S.dir.classrooms.get(id);
const roomSchoolId = (id) => room(id)?.school_id;
const roomLabel = (id) => { const r = room(id); return r ? `${shortSchool(r.school?.name)} ${r.name}` : `#${id}`; };
const personName = (id) => S.people.get(id)?.name ?? `#${id}`;
const community = (id) => S.communities.find((c) => c.id === id);

function communitySchools(c, day = todayLocal()) {
  if (!c) return [];
  const members = c.members.filter((m) => m.joined_on <= day && (!m.left_on || m.left_on > day)).map((m) => m.school_id);
  return [c.core_school_id, ...members.filter((id) => id !== c.core_school_id)];
}

async function bellsOf(schoolId) {
  if (!S.bells.has(schoolId)) {
    S.bells.set(schoolId, api(`/api/v1/schools/${schoolId}/bell-schedule`).catch((e) => {
      if (e instanceof ApiError && e.status === 404) return null;
      throw e;
    }));
  }
  return S.bells.get(schoolId);
}
// The periods of the variant in force on `day` (夏季/冬季作息: the latest "from" on or before the day).
async function periodsOn(schoolId, day) {
  const bells = await bellsOf(schoolId);
  if (!bells?.variants?.length) return [];
  const key = day.slice(5);
  const variants = [...bells.variants].sort((a, b) => String(a.from ?? "01-01").localeCompare(String(b.from ?? "01-01")));
  let current = variants[variants.length - 1];
  for (const v of variants) if (String(v.from ?? "01-01") <= key) current = v;
  return [...current.periods].sort((a, b) => a.number - b.number);
}

// ---- scope and week
function scopeSchools() {
  if (!S.scope) return [];
  if (S.scope.type === "school") return [S.scope.id];
  return communitySchools(community(S.scope.id), S.week);
}
function rowSchool() {
  return S.scope?.type === "school" ? S.scope.id : community(S.scope?.id)?.core_school_id;
}
function scopeCommunityId() {
  if (S.scope?.type === "community") return S.scope.id;
  return S.communities.find((c) => communitySchools(c).includes(S.scope?.id))?.id ?? S.communities[0]?.id;
}

function fillScope() {
  const select = $("scope");
  const value = select.value;
  select.replaceChildren(
    el("optgroup", { label: t("communities") }, S.communities.map((c) => el("option", { value: `community:${c.id}` }, c.name))),
    el("optgroup", { label: t("schoolsGroup") }, [...S.dir.schools.values()].map((s) => el("option", { value: `school:${s.id}` }, s.name))),
  );
  select.value = value || `${S.scope.type}:${S.scope.id}`;
}

function remember() {
  const q = new URLSearchParams({ [S.scope.type]: S.scope.id, week: S.week });
  history.replaceState(null, "", `${location.pathname}?${q}`);
}

async function loadWeek() {
  $("error").textContent = "";
  const params = new URLSearchParams({ start: startOfDay(S.week), end: startOfDay(addDays(S.week, 7)), limit: "2000" });
  params.set(S.scope.type === "school" ? "school_id" : "community_id", S.scope.id);
  try {
    const [sessions, closures] = await Promise.all([
      api(`/api/v1/sessions?${params}`),
      api(`/api/v1/closures?${new URLSearchParams({ start: S.week, end: addDays(S.week, 6) })}`),
    ]);
    S.sessions = sessions;
    S.closures = closures;
    for (const s of sessions) S.known.set(s.id, s);
  } catch (e) {
    $("error").textContent = t("loadError", { message: errorWords(e) });
    S.sessions = []; S.closures = [];
  }
  remember();
  await renderWeek();
}

function closureOn(day) {
  const schools = new Set(scopeSchools());
  return S.closures.find((c) => c.start <= day && day <= c.end && (!c.school_ids.length || c.school_ids.some((id) => schools.has(id))));
}

function termOf(day) { return S.terms.find((term) => term.start <= day && day <= term.end); }

async function renderWeek() {
  const monday = S.week;
  const sunday = addDays(monday, 6);
  const term = termOf(monday) || termOf(addDays(monday, 4));
  let label = t("weekOf", { start: shortDate(monday), end: shortDate(sunday) });
  if (term) label += ` · ${t("termWeek", { term: term.name, n: Math.floor((Date.parse(monday) - Date.parse(mondayOf(term.start))) / 6048e5) + 1 })}`;
  $("week-label").textContent = label;

  const days = [0, 1, 2, 3, 4].map((i) => addDays(monday, i));
  // Saturdays and Sundays appear when something runs on them (调休 make-up workdays).
  for (const extra of [5, 6]) {
    const day = addDays(monday, extra);
    const busy = S.sessions.some((s) => localDay(s.start) === day);
    const workday = S.holidays.some((h) => h.day === day && !h.is_holiday);
    if (busy || workday) days.push(day);
  }
  const school = rowSchool();
  const periods = school ? await periodsOn(school, monday) : [];
  const rows = new Map(periods.map((p) => [p.number, new Map(days.map((d) => [d, []]))]));
  const other = new Map(days.map((d) => [d, []]));
  for (const s of S.sessions) {
    const day = localDay(s.start);
    if (!days.includes(day)) continue;
    let number = null;
    if (s.period && roomSchoolId(s.host_classroom_id) === school && rows.has(s.period)) number = s.period;
    else {
      const a = localMinutes(s.start), b = localMinutes(s.end);
      let best = 0;
      for (const p of periods) {
        const overlap = Math.min(b, hhmm(p.end)) - Math.max(a, hhmm(p.start));
        if (overlap > best) { best = overlap; number = p.number; }
      }
    }
    (number !== null ? rows.get(number) : other).get(day).push(s);
  }
  const today = todayLocal();
  const head = el("tr", {}, el("th", { class: "period-head" }, t("period")),
    days.map((day) => {
      const closed = closureOn(day);
      return el("th", { class: day === today ? "today" : null, dataset: { day } },
        weekdayName(weekdayOf(day)), el("span", { class: "date" }, shortDate(day)),
        closed ? el("span", { class: "closed-note" }, t("closedNote", { reason: closed.reason })) : null);
    }));
  const cell = (day, list, number) => el("td", {
    class: [day === today ? "today" : "", closureOn(day) ? "closed" : ""].join(" ").trim() || null,
    dataset: { day, period: number ?? "other" },
  }, list.map(chip));
  const body = [];
  let previousEnd = null;
  for (const p of periods) {
    const lunch = previousEnd !== null && hhmm(p.start) - previousEnd >= 90;
    previousEnd = hhmm(p.end);
    body.push(el("tr", { class: lunch ? "lunch" : null, dataset: { period: p.number } },
      el("th", {}, t("periodN", { n: p.number }), el("span", { class: "times" }, `${p.start}–${p.end}`)),
      days.map((day) => cell(day, rows.get(p.number).get(day), p.number))));
  }
  if ([...other.values()].some((list) => list.length) || !periods.length) {
    body.push(el("tr", { dataset: { period: "other" } }, el("th", {}, t("otherTime")), days.map((day) => cell(day, other.get(day), null))));
  }
  $("week-grid").replaceChildren(el("thead", {}, head), el("tbody", {}, body));
  const cancelled = S.sessions.filter((s) => s.status === "cancelled").length;
  $("week-summary").textContent = cancelled ? t("summaryCancelled", { n: S.sessions.length, c: cancelled }) : t("summary", { n: S.sessions.length });
  $("empty-week").classList.toggle("hidden", S.sessions.length > 0);
}

function route(s) {
  const host = schoolName(roomSchoolId(s.host_classroom_id));
  if (s.receiver_classroom_ids.length) {
    return `${host} → ${[...new Set(s.receiver_classroom_ids.map((id) => schoolName(roomSchoolId(id))))].join("、")}`;
  }
  if (s.participant_teacher_ids.length) {
    const schools = [...new Set(s.participant_teacher_ids.map((id) => S.people.get(id)?.school_id).filter(Boolean).map(schoolName))];
    return `${host} ⇄ ${schools.join("、")}`;
  }
  return host;
}

function chip(s) {
  return el("button", {
    type: "button", class: `session ${s.kind} ${s.status}${S.selected === s.id ? " selected" : ""}`,
    dataset: { session: s.id }, title: `${s.title} · ${localTime(s.start)}–${localTime(s.end)}`,
    onclick: () => showSession(s.id),
  },
  el("span", { class: "title" }, s.title),
  el("span", { class: "line" }, `${s.subject || "—"} · ${t(s.kind)} · ${localTime(s.start)}`),
  el("span", { class: "line route" }, route(s)),
  el("span", { class: "line" }, el("span", { class: `pill ${s.status}` }, t(s.status)), " ", personName(s.host_teacher_id)));
}

// ---- tabs
function showTab(name) {
  for (const [tab, panel] of [["series", "series-form"], ["session", "session-panel"], ["closure", "closure-form"]]) {
    $(`tab-${tab}`).setAttribute("aria-selected", String(tab === name));
    $(panel).hidden = tab !== name;
  }
}

// ---- conflicts in words
async function sessionsFor(conflicts) {
  const missing = [...new Set(conflicts.map((c) => c.session_id).filter((id) => id && !S.known.has(id)))];
  if (!missing.length) return;
  const starts = conflicts.map((c) => localDay(c.occurrence_start)).sort();
  const window = { start: startOfDay(addDays(starts[0], -1)), end: startOfDay(addDays(starts[starts.length - 1], 2)), limit: "5000" };
  const resources = new Map();
  for (const c of conflicts) if (c.session_id && !S.known.has(c.session_id)) resources.set(`${c.resource}:${c.resource_id}`, c);
  await Promise.all([...resources.values()].map(async (c) => {
    const q = new URLSearchParams({ ...window, [c.resource === "teacher" ? "teacher_id" : "classroom_id"]: c.resource_id });
    for (const s of await api(`/api/v1/sessions?${q}`)) S.known.set(s.id, s);
  }));
  const still = missing.filter((id) => !S.known.has(id)).slice(0, 20);
  await Promise.all(still.map(async (id) => {
    try { S.known.set(id, await api(`/api/v1/sessions/${id}`)); } catch { /* named by id below */ }
  }));
}

function datesText(days) {
  const shown = days.slice(0, 6).map(shortDate).join("、");
  return days.length > 6 ? `${shown}${t("more")}` : shown;
}

// One line per (resource, other series or session): the days of the new plan that clash.
function conflictLines(conflicts) {
  const groups = new Map();
  for (const c of conflicts) {
    const other = c.session_id ? S.known.get(c.session_id) : null;
    const who = c.session_id ? (other?.series_id ? `series${other.series_id}` : `session${c.session_id}`) : `batch${c.other_series_index ?? ""}`;
    const key = `${c.resource}:${c.resource_id}:${who}`;
    if (!groups.has(key)) groups.set(key, { c, other, days: new Set() });
    groups.get(key).days.add(localDay(c.occurrence_start));
  }
  return [...groups.values()].map(({ c, other, days }) => {
    const list = [...days].sort();
    const what = c.resource === "teacher" ? t("teacherWord") : t("classroomWord");
    const name = c.resource === "teacher" ? personName(c.resource_id) : roomLabel(c.resource_id);
    if (!c.session_id) return t("conflictBatch", { what, name, n: list.length, dates: datesText(list) });
    const when = other
      ? `${weekdayName(weekdayOf(localDay(other.start)))}${other.period ? " " + t("periodN", { n: other.period }) : ""} ${localTime(other.start)}–${localTime(other.end)}`
      : "";
    const otherName = other ? other.title : t("unknownSession", { id: c.session_id });
    return t("conflictLine", { what, name, other: otherName, when, n: list.length, dates: datesText(list) });
  });
}

// ---- the new-series form
function fillSeriesForm() {
  const keep = (id) => $(id).value;
  const kind = keep("f-kind");
  $("f-kind").replaceChildren(...KINDS.map((k) => el("option", { value: k }, t(k))));
  $("f-kind").value = kind || "sync_class";
  const comm = keep("f-community");
  $("f-community").replaceChildren(...S.communities.map((c) => el("option", { value: c.id }, c.name)));
  $("f-community").value = comm || String(scopeCommunityId() ?? "");
  const grade = keep("f-grade");
  $("f-grade").replaceChildren(el("option", { value: "" }, t("noGrade")),
    ...Array.from({ length: 12 }, (_, i) => el("option", { value: i + 1 }, t("gradeN", { n: i + 1 }))));
  $("f-grade").value = grade;
  const wd = keep("f-weekday");
  $("f-weekday").replaceChildren(...[0, 1, 2, 3, 4, 5].map((i) => el("option", { value: i }, weekdayName(i))));
  $("f-weekday").value = wd || "0";
  const iv = keep("f-interval");
  $("f-interval").replaceChildren(el("option", { value: "1" }, t("weekly")), el("option", { value: "2" }, t("biweekly")));
  $("f-interval").value = iv || "1";
  const term = keep("f-term");
  const today = todayLocal();
  const terms = S.terms.filter((x) => x.end >= today);
  $("f-term").replaceChildren(...terms.map((x) => el("option", { value: x.id }, x.name)));
  $("f-term").value = term || String((termOf(today) || terms[0])?.id ?? "");
  if (!$("f-from").value) {
    const chosen = S.terms.find((x) => String(x.id) === $("f-term").value);
    const tomorrow = addDays(today, 1);
    $("f-from").value = chosen && chosen.start > tomorrow ? chosen.start : tomorrow;
  }
  fillCommunityParts();
}

function fillCommunityParts() {
  const c = community(Number($("f-community").value));
  const schools = communitySchools(c);
  const rooms = [...S.dir.classrooms.values()].filter((r) => schools.includes(r.school_id))
    .sort((a, b) => schools.indexOf(a.school_id) - schools.indexOf(b.school_id) || (a.kind === "host" ? -1 : 0) - (b.kind === "host" ? -1 : 0) || a.id - b.id);
  const hostRoom = $("f-host-room").value;
  $("f-host-room").replaceChildren(el("option", { value: "" }, "—"),
    ...rooms.map((r) => el("option", { value: r.id }, roomLabel(r.id))));
  $("f-host-room").value = rooms.some((r) => String(r.id) === hostRoom) ? hostRoom : String(rooms.find((r) => r.kind === "host")?.id ?? "");
  fillHostParts(true);
}

function fillHostParts(keepChecks, keepTeacher = false) {
  const c = community(Number($("f-community").value));
  const schools = communitySchools(c);
  const hostId = Number($("f-host-room").value) || null;
  const hostSchool = hostId ? roomSchoolId(hostId) : null;
  const teachers = [...S.people.values()].filter((p) => p.roles.includes("teacher") && schools.includes(p.school_id));
  const teacher = $("f-host-teacher").value;
  const ordered = [hostSchool, ...schools.filter((s) => s !== hostSchool)].filter(Boolean);
  $("f-host-teacher").replaceChildren(el("option", { value: "" }, "—"),
    ...ordered.map((sid) => el("optgroup", { label: schoolName(sid) },
      teachers.filter((p) => p.school_id === sid).map((p) => el("option", { value: p.id }, p.name)))));
  // Keep the chosen teacher unless the host classroom moved to another school.
  const stillThere = teachers.find((p) => String(p.id) === teacher && (keepTeacher || p.school_id === hostSchool));
  $("f-host-teacher").value = stillThere ? teacher : String(teachers.find((p) => p.school_id === hostSchool)?.id ?? "");

  const checked = keepChecks ? new Set([...document.querySelectorAll("#f-receivers input:checked")].map((i) => Number(i.value))) : new Set();
  const rooms = [...S.dir.classrooms.values()].filter((r) => schools.includes(r.school_id) && r.id !== hostId);
  $("f-receivers").replaceChildren(...rooms.map((r) => el("label", {},
    el("input", { type: "checkbox", value: r.id, checked: checked.has(r.id) }), roomLabel(r.id))));
  const invited = new Set([...document.querySelectorAll("#f-participants input:checked")].map((i) => Number(i.value)));
  $("f-participants").replaceChildren(...teachers.filter((p) => String(p.id) !== $("f-host-teacher").value).map((p) => el("label", {},
    el("input", { type: "checkbox", value: p.id, checked: invited.has(p.id) }), `${p.name} (${schoolName(p.school_id)})`)));
  fillPeriods();
}

async function fillPeriods() {
  const hostId = Number($("f-host-room").value) || null;
  const keep = $("f-period").value;
  const first = firstDate() || $("f-from").value || todayLocal();
  const periods = hostId ? await periodsOn(roomSchoolId(hostId), first) : [];
  $("f-period").replaceChildren(...periods.map((p) => el("option", { value: p.number }, `${t("periodN", { n: p.number })} ${p.start}–${p.end}`)));
  if (periods.some((p) => String(p.number) === keep)) $("f-period").value = keep;
  formChanged();
}

function firstDate() {
  const term = S.terms.find((x) => String(x.id) === $("f-term").value);
  let from = $("f-from").value;
  if (!term || !from) return null;
  if (from < term.start) from = term.start;
  const wanted = Number($("f-weekday").value);
  const first = addDays(from, (wanted - weekdayOf(from) + 7) % 7);
  return first <= term.end ? first : null;
}

function seriesBody() {
  const missing = [];
  const kind = $("f-kind").value;
  const term = S.terms.find((x) => String(x.id) === $("f-term").value);
  const first = firstDate();
  const body = {
    kind,
    community_id: Number($("f-community").value),
    title: $("f-title").value.trim(),
    subject: $("f-subject").value.trim(),
    host_classroom_id: Number($("f-host-room").value),
    host_teacher_id: Number($("f-host-teacher").value),
    receiver_classroom_ids: [...document.querySelectorAll("#f-receivers input:checked")].map((i) => Number(i.value)),
    participant_teacher_ids: kind === "research" ? [...document.querySelectorAll("#f-participants input:checked")].map((i) => Number(i.value)) : [],
    date: first,
    period: Number($("f-period").value),
    rrule: `FREQ=WEEKLY;${$("f-interval").value === "2" ? "INTERVAL=2;" : ""}BYDAY=${BYDAY[Number($("f-weekday").value)]}`,
    until: term?.end,
  };
  if ($("f-grade").value) body.grade = Number($("f-grade").value);
  if (!body.community_id) missing.push(t("community"));
  if (!body.title) missing.push(t("titleField"));
  if (!body.host_classroom_id) missing.push(t("hostRoom"));
  if (!body.host_teacher_id) missing.push(t("hostTeacher"));
  if (kind !== "research" && !body.receiver_classroom_ids.length) missing.push(t("receivers"));
  if (!body.period) missing.push(t("period"));
  if (!term) missing.push(t("term"));
  else if (!first) missing.push(t("from"));
  return { body, missing, key: JSON.stringify(body) };
}

function updateSaveState() {
  const { missing, key } = seriesBody();
  let hint = "";
  let ready = false;
  if (missing.length) hint = t("missing", { fields: missing.join("、") });
  else if (!S.checked) hint = t("checkFirst");
  else if (S.checked.key !== key) hint = t("recheck");
  else if (!S.checked.clean) hint = t("fixConflicts");
  else { hint = t("readyToSave"); ready = true; }
  $("save").disabled = !ready || !S.canPlan;
  $("save-hint").textContent = hint;
}

function formChanged() {
  const first = firstDate();
  const term = S.terms.find((x) => String(x.id) === $("f-term").value);
  $("first-date").textContent = first ? t("firstDate", { date: dayLabel(first), until: shortDate(term.end) }) : t("noFirstDate");
  $("receivers-box").hidden = $("f-kind").value === "research" && !$("f-receivers").querySelector("input:checked");
  $("participants-box").hidden = $("f-kind").value !== "research";
  updateSaveState();
  clearTimeout(S.checkTimer);
  const { missing } = seriesBody();
  if (!missing.length && S.canPlan) S.checkTimer = setTimeout(runCheck, 600);
}

async function runCheck() {
  clearTimeout(S.checkTimer);
  const { body, missing, key } = seriesBody();
  const out = $("check-result");
  if (missing.length) { out.replaceChildren(el("div", { class: "bad" }, t("missing", { fields: missing.join("、") }))); return; }
  const seq = ++S.checkSeq;
  out.replaceChildren(el("div", { class: "hint" }, t("checking")));
  let result = null;
  let error = null;
  try {
    const plan = await api("/api/v1/series/check", { method: "POST", body: [body] });
    result = plan.series[0];
    if (result.conflicts.length) await sessionsFor(result.conflicts);
  } catch (e) { error = e; }
  if (seq !== S.checkSeq) return; // a newer check is under way
  S.lastCheck = { result, error };
  S.checked = { key, clean: !error && !result.error && result.conflicts.length === 0 };
  renderCheck();
  updateSaveState();
}

function renderCheck() {
  const out = $("check-result");
  if (!S.lastCheck) { out.replaceChildren(); return; }
  const { result, error } = S.lastCheck;
  if (error) { out.replaceChildren(el("div", { class: "bad" }, t("checkError", { message: errorWords(error) }))); return; }
  if (result.error) { out.replaceChildren(el("div", { class: "bad" }, t("checkError", { message: inLanguage(result.error.message) }))); return; }
  const items = [];
  const head = result.conflicts.length
    ? el("div", { class: "bad" }, t("conflictsFound", { n: result.conflicts.length }))
    : el("div", { class: "ok" }, t("noConflict", { n: result.sessions }));
  for (const line of conflictLines(result.conflicts)) items.push(el("li", { class: "conflict" }, line));
  for (const s of result.skipped.slice(0, 5)) items.push(el("li", { class: "skip" }, t("skipped", { date: shortDate(s.date), reason: inLanguage(s.reason) })));
  for (const note of result.calendar_notes.slice(0, 3)) items.push(el("li", { class: "note" }, inLanguage(note)));
  out.replaceChildren(head, items.length ? el("ul", {}, items) : "");
}

async function saveSeries(ev) {
  ev.preventDefault();
  const { body, key } = seriesBody();
  if (!S.checked || S.checked.key !== key || !S.checked.clean) return;
  const out = $("save-result");
  $("save").disabled = true;
  try {
    const series = await api("/api/v1/series", { method: "POST", body });
    const lines = [el("div", { class: "ok" }, t("saved", { id: series.id, n: series.sessions.length }))];
    const notes = [];
    if (series.skipped.length) notes.push(el("li", { class: "skip" }, t("savedSkipped", { n: series.skipped.length })));
    for (const w of series.warnings) notes.push(el("li", { class: "note" }, inLanguage(w)));
    if (notes.length) lines.push(el("ul", {}, notes));
    out.replaceChildren(...lines);
    S.checked = null;
    S.lastCheck = null;
    $("check-result").replaceChildren();
    await loadWeek();
  } catch (e) {
    const lines = [el("div", { class: "bad" }, t("saveRefused", { message: errorWords(e) }))];
    if (e instanceof ApiError && e.details?.conflicts?.length) {
      await sessionsFor(e.details.conflicts);
      lines.push(el("ul", {}, conflictLines(e.details.conflicts).map((l) => el("li", { class: "conflict" }, l))));
    }
    out.replaceChildren(...lines);
    S.checked = { key, clean: false };
  }
  updateSaveState();
}

// ---- one session: details, edit, reschedule, cancel
async function showSession(id) {
  S.selected = id;
  document.querySelectorAll(".session.selected").forEach((b) => b.classList.remove("selected"));
  document.querySelectorAll(`.session[data-session="${id}"]`).forEach((b) => b.classList.add("selected"));
  showTab("session");
  const box = $("session-detail");
  $("session-empty").hidden = true;
  let s;
  try { s = await api(`/api/v1/sessions/${id}`); S.known.set(id, s); } catch (e) {
    box.replaceChildren(el("p", { class: "error" }, errorWords(e)));
    return;
  }
  renderSession(s);
}

function field(labelKey, input) { return el("div", {}, el("label", { for: input.id }, t(labelKey)), input); }

function renderSession(s) {
  const box = $("session-detail");
  const day = localDay(s.start);
  const final = FINAL.includes(s.status);
  const meta = el("div", { class: "detail-meta" },
    el("div", {}, el("b", {}, t("detailTime")), `${dayLabel(day)} ${s.period ? t("periodN", { n: s.period }) + " " : ""}${localTime(s.start)}–${localTime(s.end)}`),
    el("div", {}, el("b", {}, t("detailKind")), `${t(s.kind)} · ${s.subject || "—"}${s.grade ? " · " + t("gradeN", { n: s.grade }) : ""}`),
    el("div", {}, el("b", {}, t("detailHost")), `${roomLabel(s.host_classroom_id)} · ${personName(s.host_teacher_id)}`),
    s.receiver_classroom_ids.length ? el("div", {}, el("b", {}, t("detailReceivers")), s.receiver_classroom_ids.map(roomLabel).join("、")) : null,
    s.participant_teacher_ids.length ? el("div", {}, el("b", {}, t("detailInvited")), s.participant_teacher_ids.map(personName).join("、")) : null,
    el("div", {}, el("b", {}, t("detailSeries")), s.series_id ? t("seriesN", { id: s.series_id }) : t("oneOff")),
    s.status_reason ? el("div", {}, el("b", {}, t("detailReason")), inLanguage(s.status_reason)) : null,
    (s.warnings || []).map((w) => el("div", { class: "hint" }, inLanguage(w))));
  const parts = [el("h3", {}, s.title, " ", el("span", { class: `pill ${s.status}` }, t(s.status))), meta];
  if (final || !S.canPlan) {
    if (final) parts.push(el("p", { class: "hint" }, t("finalNote", { status: t(s.status) })));
    box.replaceChildren(...parts);
    return;
  }
  // edit
  const title = el("input", { id: "e-title", value: s.title, maxlength: 200 });
  const subject = el("input", { id: "e-subject", value: s.subject, maxlength: 50 });
  const rest = el("input", { type: "checkbox", id: "e-rest" });
  const editOut = el("div", { class: "result", id: "edit-result" });
  const edit = el("form", { id: "edit-form", onsubmit: (ev) => { ev.preventDefault(); editSession(s, editOut); } },
    el("h4", {}, t("editTitle")), el("div", { class: "row2" }, field("titleField", title), field("subject", subject)),
    s.series_id ? el("label", { class: "inline" }, rest, t("applyRest")) : null,
    el("div", { class: "buttons" }, el("button", { type: "submit", id: "e-save" }, t("saveEdit"))), editOut);
  // reschedule
  const date = el("input", { type: "date", id: "r-date", value: day });
  const period = el("select", { id: "r-period" });
  const reason = el("input", { id: "r-reason", maxlength: 200 });
  const moveOut = el("div", { class: "result", id: "reschedule-result" });
  const hostSchool = roomSchoolId(s.host_classroom_id);
  const fill = async () => {
    const periods = await periodsOn(hostSchool, date.value || day);
    const keep = period.value || String(s.period ?? "");
    period.replaceChildren(...periods.map((p) => el("option", { value: p.number }, `${t("periodN", { n: p.number })} ${p.start}–${p.end}`)));
    if (periods.some((p) => String(p.number) === keep)) period.value = keep;
  };
  date.onchange = fill;
  fill();
  const move = el("form", { id: "reschedule-form", onsubmit: (ev) => { ev.preventDefault(); rescheduleSession(s, moveOut); } },
    el("h4", {}, t("rescheduleTitle")), el("div", { class: "row2" }, field("newDate", date), field("newPeriod", period)),
    field("rescheduleReason", reason),
    el("div", { class: "buttons" }, el("button", { type: "submit", id: "r-submit" }, t("reschedule"))), moveOut);
  // cancel
  const why = el("input", { id: "x-reason", maxlength: 200 });
  const cancelRest = el("input", { type: "checkbox", id: "x-rest" });
  const cancelOut = el("div", { class: "result", id: "cancel-result" });
  const cancel = el("form", { id: "cancel-form", onsubmit: (ev) => { ev.preventDefault(); cancelSession(s, cancelOut); } },
    el("h4", {}, t("cancelTitle")), field("cancelReason", why),
    s.series_id ? el("label", { class: "inline" }, cancelRest, t("cancelRest")) : null,
    el("div", { class: "buttons" }, el("button", { type: "submit", class: "danger", id: "x-submit" }, t("cancelBtn"))), cancelOut);
  box.replaceChildren(...parts, edit, move, cancel);
}

async function editSession(s, out) {
  const patch = { title: $("e-title").value.trim(), subject: $("e-subject").value.trim() };
  if (!patch.title) { out.replaceChildren(el("div", { class: "bad" }, t("missing", { fields: t("titleField") }))); return; }
  let targets = [s];
  try {
    if (s.series_id && $("e-rest").checked) {
      const later = await api(`/api/v1/sessions?${new URLSearchParams({ series_id: s.series_id, start: s.start, limit: "5000" })}`);
      targets = [s, ...later.filter((x) => x.id !== s.id && !FINAL.includes(x.status))];
    }
    // No series-wide edit in the API: one PATCH per session.
    for (const target of targets) await api(`/api/v1/sessions/${target.id}`, { method: "PATCH", body: patch });
    out.replaceChildren(el("div", { class: "ok" }, t("edited", { n: targets.length })));
    await loadWeek();
    renderSessionAfter(s.id, "edit-result", out);
  } catch (e) {
    out.replaceChildren(el("div", { class: "bad" }, errorWords(e)));
  }
}

// Re-draw the panel with the fresh session but keep the message the user just got.
async function renderSessionAfter(id, resultId, message) {
  try {
    const fresh = await api(`/api/v1/sessions/${id}`);
    S.known.set(id, fresh);
    renderSession(fresh);
    const box = document.getElementById(resultId);
    if (box) box.replaceChildren(...message.childNodes);
    else $("session-detail").append(message);
  } catch { /* the list already shows the change */ }
}

async function rescheduleSession(s, out) {
  const body = { date: $("r-date").value, period: Number($("r-period").value) };
  const reason = $("r-reason").value.trim();
  if (reason) body.reason = reason;
  if (!body.date || !body.period) { out.replaceChildren(el("div", { class: "bad" }, t("missing", { fields: `${t("newDate")}、${t("newPeriod")}` }))); return; }
  try {
    const moved = await api(`/api/v1/sessions/${s.id}/reschedule`, { method: "POST", body });
    const msg = el("div", {}, el("div", { class: "ok" }, t("rescheduled", { when: `${dayLabel(localDay(moved.start))} ${localTime(moved.start)}–${localTime(moved.end)}` })));
    await loadWeek();
    await renderSessionAfter(s.id, "reschedule-result", msg);
  } catch (e) {
    const lines = [el("div", { class: "bad" }, t("rescheduleRefused", { message: errorWords(e) }))];
    if (e instanceof ApiError && e.details?.conflicts?.length) {
      await sessionsFor(e.details.conflicts);
      lines.push(el("ul", {}, conflictLines(e.details.conflicts).map((l) => el("li", { class: "conflict" }, l))));
    }
    out.replaceChildren(...lines);
  }
}

async function cancelSession(s, out) {
  const reason = $("x-reason").value.trim();
  if (!reason) { out.replaceChildren(el("div", { class: "bad" }, t("needReason"))); return; }
  try {
    const done = await api(`/api/v1/sessions/${s.id}/cancel`, { method: "POST", body: { reason, rest_of_series: Boolean($("x-rest")?.checked) } });
    const msg = el("div", {}, el("div", { class: "ok" }, t("cancelledN", { n: done.length })));
    await loadWeek();
    await renderSessionAfter(s.id, "cancel-result", msg);
  } catch (e) {
    out.replaceChildren(el("div", { class: "bad" }, errorWords(e)));
  }
}

// ---- closures (台风停课) and make-up suggestions
function fillClosureForm() {
  const checked = new Set([...document.querySelectorAll("#c-schools input:checked")].map((i) => Number(i.value)));
  const initial = !document.querySelector("#c-schools input");
  const scope = new Set(scopeSchools());
  $("c-schools").replaceChildren(...[...S.dir.schools.values()].map((s) => el("label", {},
    el("input", { type: "checkbox", value: s.id, checked: initial ? scope.has(s.id) : checked.has(s.id) }), shortSchool(s.name))));
  if (!$("c-reason").value) $("c-reason").value = t("typhoon");
  if (!$("c-start").value) {
    const today = todayLocal();
    const day = today >= S.week && today <= addDays(S.week, 6) ? today : S.week;
    $("c-start").value = day;
    $("c-end").value = day;
  }
}

function closureBody() {
  const all = $("c-all").checked;
  return {
    start: $("c-start").value, end: $("c-end").value || $("c-start").value, reason: $("c-reason").value.trim(),
    school_ids: all ? [] : [...document.querySelectorAll("#c-schools input:checked")].map((i) => Number(i.value)),
    all,
  };
}

function closureChanged() {
  S.closurePreview = null;
  $("c-confirm").disabled = true;
  $("c-schools").querySelectorAll("input").forEach((i) => { i.disabled = $("c-all").checked; });
}

async function previewClosure() {
  const out = $("closure-result");
  S.lastClosure = null;
  const b = closureBody();
  const missing = [];
  if (!b.start) missing.push(t("startDate"));
  if (!b.reason) missing.push(t("reason"));
  if (missing.length) { out.replaceChildren(el("div", { class: "bad" }, t("missing", { fields: missing.join("、") }))); return; }
  if (!b.all && !b.school_ids.length) { out.replaceChildren(el("div", { class: "bad" }, t("pickSchools"))); return; }
  try {
    const q = new URLSearchParams({ start: startOfDay(b.start), end: startOfDay(addDays(b.end, 1)), limit: "5000" });
    const sessions = await api(`/api/v1/sessions?${q}`);
    const schools = new Set(b.school_ids);
    const hit = sessions.filter((s) => ["scheduled", "open"].includes(s.status)
      && (b.all || [s.host_classroom_id, ...s.receiver_classroom_ids].some((id) => schools.has(roomSchoolId(id)))));
    for (const s of hit) S.known.set(s.id, s);
    S.closurePreview = JSON.stringify(b);
    $("c-confirm").disabled = !S.canPlan;
    out.replaceChildren(hit.length
      ? el("div", {}, el("div", { class: "bad" }, t("previewList", { n: hit.length })),
        el("ul", {}, hit.map((s) => el("li", {}, `${dayLabel(localDay(s.start))} ${localTime(s.start)} ${s.title} · ${route(s)}`))))
      : el("div", { class: "hint" }, t("previewNone")));
  } catch (e) {
    out.replaceChildren(el("div", { class: "bad" }, errorWords(e)));
  }
}

async function saveClosure(ev) {
  ev.preventDefault();
  const b = closureBody();
  if (S.closurePreview !== JSON.stringify(b)) { await previewClosure(); return; }
  const out = $("closure-result");
  $("c-confirm").disabled = true;
  try {
    const closure = await api("/api/v1/closures", { method: "POST", body: { start: b.start, end: b.end, reason: b.reason, school_ids: b.school_ids } });
    S.closurePreview = null;
    S.lastClosure = closure;
    await Promise.all(closure.cancelled_session_ids.filter((id) => !S.known.has(id)).map(async (id) => {
      try { S.known.set(id, await api(`/api/v1/sessions/${id}`)); } catch { /* shown by id */ }
    }));
    renderClosure();
    await loadWeek();
  } catch (e) {
    out.replaceChildren(el("div", { class: "bad" }, errorWords(e)));
  }
}

function renderClosure() {
  const closure = S.lastClosure;
  if (!closure) return;
  const list = closure.make_up.map((m) => {
    const s = S.known.get(m.cancelled_session_id);
    const name = s ? `${s.title} · ${dayLabel(localDay(s.start))} ${localTime(s.start)}` : t("unknownSession", { id: m.cancelled_session_id });
    const slots = m.suggestions.length
      ? el("ul", { class: "slots" }, m.suggestions.map((slot) => {
        const status = el("span", { class: "hint" }, slot.booked ? t("makeUpMade", { id: slot.booked }) : "");
        return el("li", { dataset: { date: slot.date, period: slot.period ?? "" } },
          el("span", {}, `${dayLabel(slot.date)} ${slot.period ? t("periodN", { n: slot.period }) + " " : ""}${localTime(slot.start)}–${localTime(slot.end)}`),
          s && S.canPlan && !slot.booked ? el("button", { type: "button", onclick: (e) => bookMakeUp(s, slot, e.target, status) }, t("arrangeMakeUp")) : null, status);
      }))
      : el("div", { class: "hint" }, t("noSuggestion"));
    return el("li", { dataset: { session: m.cancelled_session_id } }, el("strong", {}, name), slots);
  });
  $("closure-result").replaceChildren(
    el("div", { class: "ok" }, t("closureSaved", { id: closure.id, start: shortDate(closure.start), end: shortDate(closure.end), n: closure.cancelled_session_ids.length })),
    list.length ? el("h4", {}, t("makeUpTitle")) : "",
    list.length ? el("ul", { class: "makeup" }, list) : "");
}

async function bookMakeUp(s, slot, button, status) {
  button.disabled = true;
  const body = {
    kind: s.kind, community_id: s.community_id, title: `${s.title}${t("makeUpSuffix")}`, subject: s.subject,
    host_classroom_id: s.host_classroom_id, host_teacher_id: s.host_teacher_id,
    receiver_classroom_ids: s.receiver_classroom_ids, participant_teacher_ids: s.participant_teacher_ids,
  };
  if (s.grade) body.grade = s.grade;
  if (slot.period) Object.assign(body, { date: slot.date, period: slot.period });
  else Object.assign(body, { start: slot.start, end: slot.end });
  try {
    const made = await api("/api/v1/sessions", { method: "POST", body });
    slot.booked = made.id;
    button.remove();
    status.textContent = t("makeUpMade", { id: made.id });
    await loadWeek();
  } catch (e) {
    button.disabled = false;
    let words = errorWords(e);
    if (e instanceof ApiError && e.details?.conflicts?.length) {
      await sessionsFor(e.details.conflicts);
      words = `${words}: ${conflictLines(e.details.conflicts).join(";")}`;
    }
    status.textContent = words;
    status.className = "error";
  }
}

// ---- start
function relabel() {
  fillScope();
  fillSeriesForm();
  fillClosureForm();
  renderCheck();
  renderClosure();
  updateSaveState();
  renderWeek();
  if (S.selected && S.known.has(S.selected) && !$("session-panel").hidden) renderSession(S.known.get(S.selected));
}

async function start() {
  S.me = await mountHeader({ titleKey: "title", tr, onLanguage: () => { if (S.dir) relabel(); } });
  S.canPlan = S.me.roles.some((r) => ["scheduler", "admin"].includes(r));
  if (!S.canPlan) { $("notice").textContent = t("notScheduler"); $("notice").classList.remove("hidden"); }
  try {
    const [dir, communities, people, terms, holidays] = await Promise.all([
      directory(), api("/api/v1/communities"), api("/api/v1/people"), api("/api/v1/terms"),
      api("/api/v1/holidays").catch(() => []),
    ]);
    Object.assign(S, { dir, communities, terms, holidays });
    S.people = new Map(people.map((p) => [p.id, p]));
  } catch (e) {
    $("error").textContent = t("loadError", { message: errorWords(e) });
    return;
  }
  const q = new URLSearchParams(location.search);
  if (q.get("school")) S.scope = { type: "school", id: Number(q.get("school")) };
  else S.scope = { type: "community", id: Number(q.get("community")) || S.communities[0]?.id };
  if (/^\d{4}-\d{2}-\d{2}$/.test(q.get("week") || "")) S.week = mondayOf(q.get("week"));
  fillScope();
  fillSeriesForm();
  fillClosureForm();

  $("scope").onchange = () => {
    const [type, id] = $("scope").value.split(":");
    S.scope = { type, id: Number(id) };
    loadWeek();
  };
  $("prev").onclick = () => { S.week = addDays(S.week, -7); loadWeek(); };
  $("next").onclick = () => { S.week = addDays(S.week, 7); loadWeek(); };
  $("this-week").onclick = () => { S.week = mondayOf(todayLocal()); loadWeek(); };
  $("tab-series").onclick = () => showTab("series");
  $("tab-session").onclick = () => showTab("session");
  $("tab-closure").onclick = () => { fillClosureForm(); showTab("closure"); };

  $("f-community").onchange = fillCommunityParts;
  $("f-host-room").onchange = () => fillHostParts(true);
  $("f-host-teacher").onchange = () => fillHostParts(true, true);
  for (const id of ["f-weekday", "f-term", "f-from"]) $(id).addEventListener("change", fillPeriods);
  $("f-kind").addEventListener("change", formChanged);
  for (const id of ["f-period", "f-interval", "f-grade"]) $(id).addEventListener("change", formChanged);
  for (const id of ["f-title", "f-subject"]) $(id).addEventListener("input", formChanged);
  $("f-receivers").addEventListener("change", formChanged);
  $("f-participants").addEventListener("change", formChanged);
  $("check").onclick = runCheck;
  $("series-form").onsubmit = saveSeries;
  if (!S.canPlan) $("check").disabled = true;

  for (const id of ["c-start", "c-end", "c-reason", "c-all"]) $(id).addEventListener("input", closureChanged);
  $("c-schools").addEventListener("change", closureChanged);
  $("c-start").addEventListener("change", () => { if (!$("c-end").value || $("c-end").value < $("c-start").value) $("c-end").value = $("c-start").value; });
  $("c-preview").onclick = previewClosure;
  $("closure-form").onsubmit = saveClosure;
  if (!S.canPlan) $("c-preview").disabled = true;

  await loadWeek();
}

start();
