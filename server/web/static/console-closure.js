// ---- closures (台风停课) and make-up suggestions
import { ApiError, api, el } from "/static/common.js";
import { t } from "/static/console-i18n.js";
import {
  $, localDay, localTime, addDays, todayLocal, shortDate, dayLabel, startOfDay, errorWords, S, shortSchool,
  roomSchoolId, scopeSchools, route, sessionsFor, conflictLines,
} from "/static/console-core.js";
import { loadWeek } from "/static/console-week.js";

export function fillClosureForm() {
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

export function renderClosure() {
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

export function bindClosureForm() {
  for (const id of ["c-start", "c-end", "c-reason", "c-all"]) $(id).addEventListener("input", closureChanged);
  $("c-schools").addEventListener("change", closureChanged);
  $("c-start").addEventListener("change", () => { if (!$("c-end").value || $("c-end").value < $("c-start").value) $("c-end").value = $("c-start").value; });
  $("c-preview").onclick = previewClosure;
  $("closure-form").onsubmit = saveClosure;
  if (!S.canPlan) $("c-preview").disabled = true;
}
