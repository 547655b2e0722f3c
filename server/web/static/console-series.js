// ---- the new-series form: a weekly series, checked for conflicts (debounced) before it may be saved.
import { ApiError, api, el } from "/static/common.js";
import { t } from "/static/console-i18n.js";
import {
  $, KINDS, BYDAY, addDays, weekdayOf, todayLocal, weekdayName, shortDate, dayLabel, inLanguage, errorWords, S,
  schoolName, roomSchoolId, roomLabel, community, communitySchools, periodsOn, scopeCommunityId, termOf, sessionsFor,
  conflictLines,
} from "/static/console-core.js";
import { loadWeek } from "/static/console-week.js";

export function fillSeriesForm() {
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

export function updateSaveState() {
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

export function renderCheck() {
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

export function bindSeriesForm() {
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
}
