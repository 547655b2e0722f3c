// ---- one session: details, edit, reschedule, cancel
import { ApiError, api, el } from "/static/common.js";
import { t } from "/static/console-i18n.js";
import {
  $, FINAL, localDay, localTime, dayLabel, inLanguage, errorWords, S, roomSchoolId, roomLabel, personName, periodsOn,
  showTab, sessionsFor, conflictLines,
} from "/static/console-core.js";
import { loadWeek } from "/static/console-week.js";

export async function showSession(id) {
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

export function renderSession(s) {
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
