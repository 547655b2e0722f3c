// 观课评课 on a recording: the timeline's marks, the comments at moments of the lesson, and the
// researchers' observations (rubric 1–5 and S-T coding) saved at the current moment.
import { api, el } from "/static/common.js";
import { clock, tr } from "/static/replay-i18n.js";

const $ = (id) => document.getElementById(id);
const MARKED = new Set(["join", "leave", "drop", "reconnect", "floor_given", "floor_released", "hand_raised", "hand_lowered",
  "share_started", "share_stopped", "recording_failed"]);
const RUBRIC = ["objectives", "interaction", "technology"];

export const review = { data: null, view: null, obs: { rubric: {}, codes: [] } };

function mark(kind, offset, title, extra = {}) {
  const pct = (100 * Math.min(Math.max(offset, 0), review.data.duration_ms)) / Math.max(1, review.data.duration_ms);
  return el("button", { type: "button", class: `mark ${kind}`, style: `left:${pct.toFixed(3)}%`, title: `${clock(offset)} ${title}`,
    "aria-label": `${clock(offset)} ${title}`, dataset: { offset, kind, ...extra }, onclick: () => review.view.seek(offset) });
}

export function renderMarks() {
  const d = review.data;
  const events = d.events.filter((e) => MARKED.has(e.kind) && e.offset_ms >= 0 && e.offset_ms <= d.duration_ms)
    .map((e) => mark(`event ${e.kind}`, e.offset_ms, tr.t(`ev_${e.kind}`, { name: e.name || e.detail })));
  const comments = d.comments.map((c) => mark("comment", c.offset_ms, `${c.author_name}：${c.body}`, { comment: c.id }));
  const observations = d.observations.filter((o) => o.offset_ms != null).map((o) => mark("observation", o.offset_ms, tr.t("observations")));
  $("marks").replaceChildren(...events, ...observations, ...comments);
}

const timeLink = (offset) => el("button", { type: "button", class: "time", dataset: { offset }, onclick: () => review.view.seek(offset) }, clock(offset));

export function renderComments() {
  const list = [...review.data.comments].sort((a, b) => a.offset_ms - b.offset_ms || a.id - b.id);
  $("comments").replaceChildren(...(list.length ? list.map((c) => el("li", { dataset: { comment: c.id } },
    timeLink(c.offset_ms), el("b", { class: "author" }, c.author_name), el("span", { class: "body" }, c.body)))
    : [el("li", { class: "empty" }, tr.t("noComments"))]));
}

async function postComment(e) {
  e.preventDefault();
  const body = $("comment-input").value.trim();
  if (!body) return;
  $("comment-error").textContent = "";
  $("comment-post").disabled = true;
  try {
    const offset = Math.round(review.view.time());
    const c = await api(`/api/v1/sessions/${review.data.session.id}/comments`, { method: "POST", body: { offset_ms: offset, body } });
    review.data.comments.push(c);
    $("comment-input").value = "";
    renderComments(); renderMarks();
  } catch (err) {
    $("comment-error").textContent = tr.t("postFailed", { msg: err.message || String(err) });
  } finally { $("comment-post").disabled = false; }
}

// ---------- observations ----------

// scheduling/st_analysis.py's rule: Rt = T/N, Ch = (runs − 1)/N.
function analyse(codes) {
  const n = codes.length;
  if (!n) return null;
  const t = codes.filter((c) => c === "T").length;
  let runs = 1;
  for (let i = 1; i < n; i++) if (codes[i] !== codes[i - 1]) runs++;
  const type = 10 * t <= 3 * n ? "practice" : 10 * t >= 7 * n ? "lecture" : 10 * (runs - 1) >= 4 * n ? "dialogue" : "mixed";
  return { rt: t / n, ch: (runs - 1) / n, lesson_type: type };
}

function summary(o) {
  const parts = [];
  const scores = RUBRIC.filter((k) => o.rubric[k] != null).map((k) => `${tr.t(k)} ${o.rubric[k]}`);
  if (scores.length) parts.push(scores.join(" · "));
  const st = o.st || analyse(o.st_codes || []);
  if (st) parts.push(`S-T ${(o.st_codes || []).join("")} · Rt ${st.rt.toFixed(2)} · Ch ${st.ch.toFixed(2)} · ${tr.t(st.lesson_type)}`);
  return parts.join("；");
}

export function renderObservations() {
  const list = review.data.observations.filter((o) => o.offset_ms != null).sort((a, b) => a.offset_ms - b.offset_ms);
  $("observations-panel").hidden = !list.length && !review.canObserve;
  $("observations").replaceChildren(...(list.length ? list.map((o) => el("li", { dataset: { observation: o.id } },
    timeLink(o.offset_ms), el("span", { class: "body" }, summary(o)), o.note ? el("div", { class: "note" }, o.note) : null))
    : [el("li", { class: "empty" }, tr.t("noObservations"))]));
}

export function renderObserveForm() {
  const { rubric, codes } = review.obs;
  $("rubric").replaceChildren(...RUBRIC.map((key) => el("div", { class: "rubric-row", dataset: { key } }, el("span", {}, tr.t(key)),
    el("div", { class: "scores" }, [1, 2, 3, 4, 5].map((v) => el("button", { type: "button", class: rubric[key] === v ? "on" : "", dataset: { score: v },
      onclick: () => { if (rubric[key] === v) delete rubric[key]; else rubric[key] = v; renderObserveForm(); } }, String(v)))))));
  $("st-seq").replaceChildren(...(codes.length ? codes.map((c) => el("span", { class: c }, c)) : [el("span", { class: "empty" }, tr.t("noSamples"))]));
  const r = analyse(codes);
  $("st-result").textContent = r ? `Rt ${r.rt.toFixed(2)} · Ch ${r.ch.toFixed(2)} · ${tr.t(r.lesson_type)}` : "";
  $("st-undo").disabled = !codes.length;
}

async function saveObservation() {
  const { rubric, codes } = review.obs;
  const note = $("obs-note").value.trim();
  $("obs-error").textContent = ""; $("obs-saved").textContent = "";
  if (!note && !codes.length && !Object.keys(rubric).length) { $("obs-error").textContent = tr.t("nothing"); return; }
  $("obs-save").disabled = true;
  try {
    const body = { note, rubric: { ...rubric }, st_codes: [...codes], offset_ms: Math.round(review.view.time()) };
    const o = await api(`/api/v1/sessions/${review.data.session.id}/observations`, { method: "POST", body });
    review.data.observations.push(o);
    review.obs = { rubric: {}, codes: [] };
    $("obs-note").value = "";
    $("obs-saved").textContent = `${tr.t("saved")} ${clock(o.offset_ms)}`;
    renderObserveForm(); renderObservations(); renderMarks();
  } catch (err) {
    $("obs-error").textContent = tr.t("saveFailed", { msg: err.message || String(err) });
  } finally { $("obs-save").disabled = false; }
}

// The moment the forms post at, kept on their buttons.
export function showMoment(ms) {
  $("comment-post").textContent = tr.t("postAt", { time: clock(ms) });
  $("obs-save").textContent = tr.t("saveObs", { time: clock(ms) });
  if (review.canObserve) promptSample(ms);
}

// S-T coding samples the lesson every 30 s of the recording, as the patrol wall does in real time: while a
// sample up to this moment is still uncoded, the buttons ask for it.
const ST_INTERVAL = 30_000;
function promptSample(ms) {
  const coded = review.obs.codes.length;
  const due = coded < Math.floor(ms / ST_INTERVAL) + 1;
  $("st-due").hidden = !due;
  if (due) $("st-due").textContent = tr.t("stDue", { n: coded + 1, time: clock(coded * ST_INTERVAL) });
  document.querySelector(".st-buttons").classList.toggle("due", due);
}

export function bindReview({ data, view, canObserve }) {
  Object.assign(review, { data, view, canObserve });
  $("comment-form").onsubmit = postComment;
  $("observe").hidden = !canObserve;
  if (canObserve) {
    $("st-t").onclick = () => { review.obs.codes.push("T"); renderObserveForm(); };
    $("st-s").onclick = () => { review.obs.codes.push("S"); renderObserveForm(); };
    $("st-undo").onclick = () => { review.obs.codes.pop(); renderObserveForm(); };
    $("obs-save").onclick = saveObservation;
    renderObserveForm();
  }
  renderMarks(); renderComments(); renderObservations();
}
