// The observation panel of the watched session: S-T coding (a sample every ST_INTERVAL seconds), the rubric,
// timestamped notes, saving them as one observation, and the session's earlier observations.
import { ZONE, api, el, fmt } from "/static/common.js";
import { tr } from "/static/patrol-i18n.js";
import { ST_INTERVAL, $, state } from "/static/patrol-state.js";

export const st = { codes: [], pending: null, nextAt: 0, paused: false, missed: 0 };
export const obs = { notes: [], rubric: {}, started: null, history: [] };
const RUBRIC = ["objectives", "interaction", "technology"];

// ---------- S-T coding ----------

// The same rule as scheduling/st_analysis.py: Rt = T/N, Ch = (runs − 1)/N; Rt ≤ 0.3 practice, Rt ≥ 0.7 lecture,
// Ch ≥ 0.4 dialogue, otherwise mixed — checked in that order, in whole samples (10·T ≤ 3·N).
export function analyse(codes) {
  const n = codes.length;
  if (!n) return null;
  const t = codes.filter((c) => c === "T").length;
  let runs = 1;
  for (let i = 1; i < n; i++) if (codes[i] !== codes[i - 1]) runs++;
  let type;
  if (10 * t <= 3 * n) type = "practice";
  else if (10 * t >= 7 * n) type = "lecture";
  else if (10 * (runs - 1) >= 4 * n) type = "dialogue";
  else type = "mixed";
  return { samples: n, rt: t / n, ch: (runs - 1) / n, lesson_type: type };
}

function code(c) {
  if (state.watching == null) return;
  st.codes.push(c);
  st.pending = null;
  st.nextAt = Date.now() + ST_INTERVAL * 1000;
  renderST();
}

export function tickST() {
  if (state.watching == null || st.paused) return;
  if (state.ended) { st.pending = null; renderST(); return; } // the class is over: no more samples asked
  if (Date.now() >= st.nextAt) {
    if (st.pending) st.missed++;
    st.pending = new Date();
    st.nextAt = Date.now() + ST_INTERVAL * 1000;
  }
  renderST();
}

export function renderST() {
  const prompt = $("st-prompt");
  const n = st.codes.length + 1;
  prompt.classList.toggle("pending", Boolean(st.pending) && !st.paused && !state.ended);
  if (state.ended) prompt.textContent = tr.t("promptEnded");
  else if (st.paused) prompt.textContent = tr.t("promptPaused");
  else if (st.pending) prompt.textContent = tr.t("promptNow", { n });
  else prompt.textContent = tr.t("promptNext", { n, s: Math.max(0, Math.ceil((st.nextAt - Date.now()) / 1000)) });
  const seq = $("st-seq");
  if (seq.childElementCount !== st.codes.length || !st.codes.length) {
    seq.replaceChildren(...(st.codes.length ? st.codes.map((c) => el("span", { class: c }, c))
      : [el("span", { class: "empty" }, tr.t("noSamples"))]));
    seq.scrollTop = seq.scrollHeight;
  }
  const r = analyse(st.codes);
  $("st-rt").textContent = r ? r.rt.toFixed(2) : "–";
  $("st-ch").textContent = r ? r.ch.toFixed(2) : "–";
  $("st-type").textContent = r ? tr.t(r.lesson_type) : "–";
  $("st-type").dataset.type = r ? r.lesson_type : "";
  $("st-n").textContent = (r ? tr.t("samples", { n: r.samples, min: ((r.samples * ST_INTERVAL) / 60).toFixed(1) }) : "") +
    (st.missed ? ` · ${tr.t("missed", { n: st.missed })}` : "");
  $("st-pause").textContent = tr.t(st.paused ? "resume" : "pause");
  $("st-undo").disabled = !st.codes.length;
}

// ---------- rubric, notes, saving ----------

export function renderRubric() {
  $("rubric").replaceChildren(...RUBRIC.map((key) => el("div", { class: "rubric-row", dataset: { key } },
    el("span", {}, tr.t(key)),
    el("div", { class: "scores" }, [1, 2, 3, 4, 5].map((v) => el("button", {
      type: "button", class: obs.rubric[key] === v ? "on" : "", dataset: { score: v },
      onclick: () => { if (obs.rubric[key] === v) delete obs.rubric[key]; else obs.rubric[key] = v; renderRubric(); },
    }, String(v)))))));
}

const clock = (d) => d.toLocaleTimeString("zh-CN", { timeZone: ZONE, hour12: false });

function renderNotes() {
  $("notes").replaceChildren(...obs.notes.map((n) => el("li", {}, el("time", { datetime: n.at.toISOString() }, clock(n.at)), n.text)));
  $("notes").scrollTop = $("notes").scrollHeight;
}

export function resetObservation() {
  st.codes = []; st.pending = new Date(); st.nextAt = Date.now() + ST_INTERVAL * 1000; st.paused = false; st.missed = 0;
  obs.notes = []; obs.rubric = {}; obs.started = new Date();
  $("saved").textContent = ""; $("save-error").textContent = "";
  renderST(); renderRubric(); renderNotes();
}

async function save() {
  const id = state.watching;
  const pendingNote = $("note-input").value.trim();
  if (pendingNote) { obs.notes.push({ at: new Date(), text: pendingNote }); $("note-input").value = ""; renderNotes(); }
  $("save-error").textContent = ""; $("saved").textContent = "";
  if (!obs.notes.length && !Object.keys(obs.rubric).length && !st.codes.length) {
    $("save-error").textContent = tr.t("nothing");
    return;
  }
  const body = {
    note: obs.notes.map((n) => `[${clock(n.at)}] ${n.text}`).join("\n"),
    rubric: { ...obs.rubric },
    st_codes: [...st.codes],
  };
  $("save").disabled = true;
  $("saved").textContent = tr.t("saving");
  try {
    const out = await api(`/api/v1/sessions/${id}/observations`, { method: "POST", body });
    const time = clock(new Date());
    // A saved record is closed: what follows is a new observation (the server has no partial updates).
    resetObservation();
    $("saved").textContent = out.st
      ? tr.t("savedSt", { time, rt: out.st.rt.toFixed(2), ch: out.st.ch.toFixed(2), type: tr.t(out.st.lesson_type) })
      : tr.t("saved", { time });
    $("saved").dataset.observation = out.id;
    await loadHistory();
  } catch (err) {
    $("saved").textContent = "";
    $("save-error").textContent = tr.t("saveFailed", { msg: err.message || String(err) });
  } finally {
    $("save").disabled = false;
  }
}

export async function loadHistory() {
  const id = state.watching;
  if (id == null) return;
  try {
    obs.history = await api(`/api/v1/sessions/${id}/observations`);
  } catch { obs.history = []; }
  if (id !== state.watching) return;
  const rows = obs.history.slice(-4).reverse().map((o) => {
    const what = o.st ? `Rt ${o.st.rt.toFixed(2)} · Ch ${o.st.ch.toFixed(2)} · ${tr.t(o.st.lesson_type)}`
      : o.note ? o.note.split("\n")[0].slice(0, 30) : tr.t("rubricShort");
    return el("div", {}, tr.t("historyRow", { time: fmt(o.at, tr, { hour: "2-digit", minute: "2-digit" }), what }));
  });
  $("history").replaceChildren(...(obs.history.length ? [el("div", {}, tr.t("history", { n: obs.history.length })), ...rows] : []));
}

// The panel's buttons, keys and note form.
export function bindObservePanel() {
  $("st-t").onclick = () => code("T");
  $("st-s").onclick = () => code("S");
  $("st-undo").onclick = () => { st.codes.pop(); renderST(); };
  $("st-pause").onclick = () => {
    st.paused = !st.paused;
    if (!st.paused) st.nextAt = Date.now() + ST_INTERVAL * 1000;
    renderST();
  };
  document.addEventListener("keydown", (e) => {
    if (state.watching == null || e.target.closest("input, textarea, select")) return;
    if (e.key === "t" || e.key === "T") code("T");
    if (e.key === "s" || e.key === "S") code("S");
  });
  $("note-form").onsubmit = (e) => {
    e.preventDefault();
    const text = $("note-input").value.trim();
    if (!text) return;
    obs.notes.push({ at: new Date(), text });
    $("note-input").value = "";
    renderNotes();
  };
  $("save").onclick = save;
}
