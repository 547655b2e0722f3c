// Shared by the 排课 console modules: the page state, dates in Shanghai, names of schools, rooms and people,
// bell schedules, and conflicts put into words.
import { ApiError, ZONE, api } from "/static/common.js";
import { tr, t } from "/static/console-i18n.js";

export const $ = (id) => document.getElementById(id);
export const KINDS = ["sync_class", "research", "dedicated_class", "master_class"];
export const BYDAY = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"];
export const FINAL = ["ended", "missed", "cancelled"];

// ---- dates: a day is "YYYY-MM-DD" in Shanghai; arithmetic on UTC midnights avoids the browser's zone.
const dayParts = new Intl.DateTimeFormat("en-CA", { timeZone: ZONE, year: "numeric", month: "2-digit", day: "2-digit" });
const timeParts = new Intl.DateTimeFormat("en-GB", { timeZone: ZONE, hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
export function localDay(value) {
  const p = Object.fromEntries(dayParts.formatToParts(new Date(value)).map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day}`;
}
export const localTime = (value) => timeParts.format(new Date(value));
export const localMinutes = (value) => { const [h, m] = localTime(value).split(":").map(Number); return h * 60 + m; };
export const hhmm = (text) => { const [h, m] = String(text).split(":").map(Number); return h * 60 + m; };
export function addDays(day, n) { const d = new Date(`${day}T00:00:00Z`); d.setUTCDate(d.getUTCDate() + n); return d.toISOString().slice(0, 10); }
export const weekdayOf = (day) => (new Date(`${day}T00:00:00Z`).getUTCDay() + 6) % 7; // 0 = Monday
export const mondayOf = (day) => addDays(day, -weekdayOf(day));
export const todayLocal = () => localDay(new Date());
export const weekdayName = (i) => t("weekdays").split(",")[i];
export function shortDate(day) {
  const d = new Date(`${day}T00:00:00Z`);
  return tr.lang === "zh" ? `${d.getUTCMonth() + 1}月${d.getUTCDate()}日`
    : d.toLocaleDateString("en", { timeZone: "UTC", month: "short", day: "numeric" });
}
export const dayLabel = (day) => `${shortDate(day)} ${weekdayName(weekdayOf(day))}`;
export const startOfDay = (day) => `${day}T00:00:00+08:00`;

// The server's messages are "中文 / English": show the half in the page's language.
export function inLanguage(message) {
  const text = String(message ?? "");
  const cut = text.indexOf(" / ");
  if (cut < 0) return text;
  return tr.lang === "zh" ? text.slice(0, cut) : text.slice(cut + 3);
}
export function errorWords(err) {
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
export const S = {
  me: null, dir: null, communities: [], people: new Map(), terms: [], holidays: [], bells: new Map(),
  scope: null, week: mondayOf(todayLocal()), sessions: [], closures: [], selected: null, known: new Map(),
  canPlan: false, lastCheck: null, lastClosure: null, checked: null, checkSeq: 0, checkTimer: null, closurePreview: null,
};

export function shortSchool(name) {
  return String(name || "").replace(/^.*?(县|市.*?区)/, "") || name;
}
export const schoolName = (id) => shortSchool(S.dir.schools.get(id)?.name ?? `#${id}`);
const room = (id) => S.dir.classrooms.get(id);
export const roomSchoolId = (id) => room(id)?.school_id;
export const roomLabel = (id) => { const r = room(id); return r ? `${shortSchool(r.school?.name)} ${r.name}` : `#${id}`; };
export const personName = (id) => S.people.get(id)?.name ?? `#${id}`;
export const community = (id) => S.communities.find((c) => c.id === id);

export function communitySchools(c, day = todayLocal()) {
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
export async function periodsOn(schoolId, day) {
  const bells = await bellsOf(schoolId);
  if (!bells?.variants?.length) return [];
  const key = day.slice(5);
  const variants = [...bells.variants].sort((a, b) => String(a.from ?? "01-01").localeCompare(String(b.from ?? "01-01")));
  let current = variants[variants.length - 1];
  for (const v of variants) if (String(v.from ?? "01-01") <= key) current = v;
  return [...current.periods].sort((a, b) => a.number - b.number);
}

// ---- scope and week
export function scopeSchools() {
  if (!S.scope) return [];
  if (S.scope.type === "school") return [S.scope.id];
  return communitySchools(community(S.scope.id), S.week);
}
export function rowSchool() {
  return S.scope?.type === "school" ? S.scope.id : community(S.scope?.id)?.core_school_id;
}
export function scopeCommunityId() {
  if (S.scope?.type === "community") return S.scope.id;
  return S.communities.find((c) => communitySchools(c).includes(S.scope?.id))?.id ?? S.communities[0]?.id;
}

export function termOf(day) { return S.terms.find((term) => term.start <= day && day <= term.end); }

export function route(s) {
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

// ---- tabs
export function showTab(name) {
  for (const [tab, panel] of [["series", "series-form"], ["session", "session-panel"], ["closure", "closure-form"]]) {
    $(`tab-${tab}`).setAttribute("aria-selected", String(tab === name));
    $(panel).hidden = tab !== name;
  }
}

// ---- conflicts in words
export async function sessionsFor(conflicts) {
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
export function conflictLines(conflicts) {
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
