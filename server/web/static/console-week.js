// ---- scope and week: the toolbar's scope list, the URL, and the week grid of session chips.
import { api, el } from "/static/common.js";
import { t } from "/static/console-i18n.js";
import {
  $, localDay, localTime, localMinutes, hhmm, addDays, weekdayOf, mondayOf, todayLocal, weekdayName, shortDate,
  startOfDay, errorWords, S, roomSchoolId, personName, community, periodsOn, scopeSchools, rowSchool, termOf, route,
} from "/static/console-core.js";

// Clicking a session chip opens it; the entry module says what that does.
let pick = () => {};
export function onSessionPick(fn) { pick = fn; }

export function fillScope() {
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

export async function loadWeek() {
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

export async function renderWeek() {
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

function chip(s) {
  return el("button", {
    type: "button", class: `session ${s.kind} ${s.status}${S.selected === s.id ? " selected" : ""}`,
    dataset: { session: s.id }, title: `${s.title} · ${localTime(s.start)}–${localTime(s.end)}`,
    onclick: () => pick(s.id),
  },
  el("span", { class: "title" }, s.title),
  el("span", { class: "line" }, `${s.subject || "—"} · ${t(s.kind)} · ${localTime(s.start)}`),
  el("span", { class: "line route" }, route(s)),
  el("span", { class: "line" }, el("span", { class: `pill ${s.status}` }, t(s.status)), " ", personName(s.host_teacher_id)));
}
