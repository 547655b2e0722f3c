// 回放 and 观课评课 of one recorded lesson: /replay?session=ID. Every track of the lesson plays on one
// timeline (replay-player.js), with the room's events and the comments as marks under it (replay-review.js).
import { api, el, fmt, mountHeader } from "/static/common.js";
import { clock, tr } from "/static/replay-i18n.js";
import { Player } from "/static/replay-player.js";
import { bindReview, renderComments, renderMarks, renderObservations, renderObserveForm, review, showMoment } from "/static/replay-review.js";

const $ = (id) => document.getElementById(id);
const sessionId = Number(new URLSearchParams(location.search).get("session"));
const REFRESH_BEFORE_MS = 60_000; // fetch fresh links this long before the old ones expire
let me, data, player, lastError = null, refreshTimer = null, refreshing = null, lastErrorRefresh = 0, dragging = false;

function fail(err) {
  lastError = err;
  const text = err.status === 403 ? tr.t("forbidden") : err.status === 404 && err.code === "no_recording" ? tr.t("noRecording")
    : err.status === 404 ? tr.t("notFound") : tr.t("loadFailed", { msg: err.message || String(err) });
  $("error").textContent = text;
  $("error").dataset.code = err.code || "";
}

function renderMeta() {
  const s = data.session;
  $("lesson-title").textContent = s.title;
  $("lesson-meta").replaceChildren(
    el("span", { class: "pill" }, tr.t(s.kind)), el("span", {}, s.subject), el("span", {}, tr.t("teacher", { name: s.host_teacher_name })),
    el("span", {}, s.host_school_name),
    el("span", {}, fmt(s.start, tr, { year: "numeric", month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit" })));
  $("views").textContent = tr.t("views", { n: data.views });
  const researcher = me.roles.includes("researcher") || me.roles.includes("admin");
  $("featured").hidden = !researcher && !data.featured;
  $("featured").disabled = !researcher;
  $("featured").classList.toggle("on", data.featured);
  $("featured").textContent = data.featured ? tr.t("featured") : tr.t("notFeatured");
  $("featured").title = researcher && data.featured ? tr.t("unfeature") : "";
}

async function toggleFeatured() {
  const out = await api(`/api/v1/sessions/${sessionId}/featured`, { method: data.featured ? "DELETE" : "PUT" });
  data.featured = out.featured;
  renderMeta();
}

// ---------- fresh links ----------

function scheduleRefresh() {
  clearTimeout(refreshTimer);
  const soonest = Math.min(...data.tracks.map((t) => Date.parse(t.expires_at)));
  if (!Number.isFinite(soonest)) return;
  const left = soonest - Date.now();
  const wait = Math.max(1000, left > 2 * REFRESH_BEFORE_MS ? left - REFRESH_BEFORE_MS : left / 2);
  refreshTimer = setTimeout(() => refresh().catch(() => scheduleRefresh()), wait);
}

function refresh() {
  refreshing ??= (async () => {
    try {
      const fresh = await api(`/api/v1/sessions/${sessionId}/replay`);
      data.tracks = fresh.tracks;
      player.swap(fresh.tracks);
      scheduleRefresh();
    } finally { refreshing = null; }
  })();
  return refreshing;
}

function mediaError() { // an expired or failed link: new links, at most every 10 s
  if (Date.now() - lastErrorRefresh < 10_000) return;
  lastErrorRefresh = Date.now();
  $("notice").textContent = tr.t("mediaError");
  refresh().then(() => { $("notice").textContent = ""; }).catch(fail);
}

// ---------- 下载 MP4 ----------

async function downloadState(method = "GET") {
  try {
    return await api(`/api/v1/sessions/${sessionId}/download`, { method });
  } catch (err) {
    if (err.status === 404 && err.code !== "no_recording" && err.code !== "forbidden" || err.status === 405) return null;
    throw err;
  }
}

function showDownload(d) {
  const box = $("download-state");
  $("download").hidden = !d;
  if (!d) return;
  $("download").disabled = d.state === "queued" || d.state === "running";
  box.dataset.state = d.state;
  if (d.state === "queued") box.replaceChildren(tr.t("queued"));
  else if (d.state === "running") box.replaceChildren(el("progress", { max: 1, value: d.progress }), " ", tr.t("downloading", { p: Math.round(d.progress * 100) }));
  else if (d.state === "done" && d.url) box.replaceChildren(el("a", { href: d.url, id: "download-link", download: `${data.session.title}.mp4` }, tr.t("downloadReady")));
  else if (d.state === "failed") box.replaceChildren(el("span", { class: "error" }, tr.t("downloadFailed", { msg: d.error || "" })));
  else box.replaceChildren();
  if (d.state === "queued" || d.state === "running") setTimeout(() => downloadState().then(showDownload).catch(fail), 1000);
}

// ---------- the controls ----------

function tick() {
  if (!player) return;
  const t = player.time();
  $("play").textContent = player.playing ? tr.t("pause") : tr.t("play");
  $("position").textContent = `${clock(t)} / ${clock(data.duration_ms)}`;
  if (!dragging) $("seek").value = String(Math.round(t));
  showMoment(t);
}

function bindControls() {
  $("seek").max = String(data.duration_ms);
  $("play").onclick = () => { if (player.playing) player.pause(); else player.play(true); tick(); };
  $("seek").addEventListener("pointerdown", () => { dragging = true; });
  $("seek").addEventListener("pointerup", () => { dragging = false; });
  $("seek").addEventListener("input", () => { player.seek(Number($("seek").value)); tick(); });
  $("seek").addEventListener("change", () => { dragging = false; player.seek(Number($("seek").value)); tick(); });
  document.addEventListener("keydown", (e) => {
    if (e.target.closest("input, textarea, select, button")) return;
    if (e.key === " ") { e.preventDefault(); $("play").click(); }
    if (e.key === "ArrowLeft") player.seek(player.time() - 5000);
    if (e.key === "ArrowRight") player.seek(player.time() + 5000);
  });
  setInterval(tick, 250);
}

function expose() {
  window.replayView = {
    time: () => player.time(),
    elements: () => player.elements(),
    seek: (ms) => { player.seek(ms); tick(); },
    play: () => { player.play(); tick(); },
    pause: () => { player.pause(); tick(); },
    refresh: () => refresh(), // fresh signed links now (as before they expire)
    get playing() { return player.playing; },
    get data() { return data; },
  };
}

// ---------- start ----------

function onLanguage() {
  document.title = data ? `${data.session.title} · ${tr.t("title")}` : tr.t("title");
  if (lastError) fail(lastError);
  if (!data || !player) return;
  renderMeta(); renderMarks(); renderComments(); renderObservations();
  if (review.canObserve) renderObserveForm();
  player.relabel(); tick();
}

me = await mountHeader({ titleKey: "title", tr, onLanguage });
document.title = tr.t("title");
try {
  if (!sessionId) throw Object.assign(new Error(tr.t("noSession")), { status: 0 });
  $("notice").textContent = tr.t("loading");
  data = await api(`/api/v1/sessions/${sessionId}/replay`);
  $("notice").textContent = "";
  document.title = `${data.session.title} · ${tr.t("title")}`;
  $("lesson").hidden = false;
  renderMeta();
  player = new Player({ stage: $("stage"), share: $("share"), strip: $("strip"), sounds: $("sounds"), durationMs: data.duration_ms,
    onNotice: (text) => { $("notice").textContent = text; }, onError: mediaError });
  player.load(data.tracks);
  bindControls();
  bindReview({ data, view: player, canObserve: me.roles.includes("researcher") || me.roles.includes("admin") });
  expose();
  tick();
  scheduleRefresh();
  $("featured").onclick = () => toggleFeatured().catch(fail);
  api(`/api/v1/sessions/${sessionId}/views`, { method: "POST" }).then((v) => { data.views = v.views; renderMeta(); }).catch(() => {});
  $("download").onclick = () => downloadState("POST").then(showDownload).catch(fail);
  downloadState().then(showDownload).catch(() => showDownload(null));
} catch (err) {
  $("notice").textContent = "";
  fail(err);
}
