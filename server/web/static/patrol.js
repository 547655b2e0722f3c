// 巡课 patrol wall: every open or live session a researcher may watch, a live picture for the first few,
// one session full-size with an observation panel (timestamped notes, rubric, S-T coding).
//
// The researcher joins each room as an observer with publish=false: the server never lists observers to
// the others, and this page never asks for a camera or microphone, so it can be neither seen nor heard.
//
// Query parameters (for tests and demos): st_interval=SECONDS (S-T sampling interval, default 30),
// refresh=SECONDS (list refresh, default 10), max_live=N (live pictures on the wall at once, default 6).
import { ApiError, ZONE, api, directory, el, fmt, mountHeader, token } from "/static/common.js";
import { HaiqiaoRoom } from "/static/haiqiao-rtc.js";
import { tr } from "/static/patrol-i18n.js";
import { q, ST_INTERVAL, REFRESH, MAX_LIVE, $, state } from "/static/patrol-state.js";
import { st, obs, resetObservation, renderST, renderRubric, loadHistory, tickST, bindObservePanel } from "/static/patrol-observe.js";
export { analyse } from "/static/patrol-observe.js";

const rooms = new Map(); // session id → { room, videos: Map(seat → stream), audios: Map(seat → stream), error }
const cards = new Map(); // session id → wall card
const watchTiles = new Map(); // seat → tile in the full-size view
const audioEls = new Map(); // seat → <audio> of the watched session

// Tests read these: live rooms, decoded frames per session, the S-T record.
window.patrol = {
  rooms, st, obs, state,
  frames: async (id) => (rooms.get(id) ? (await rooms.get(id).room.videoStats()).map((s) => s.framesDecoded) : []),
  publishing: () => [...rooms.values()].some((r) => r.room.publish || r.room.localStream ||
    (r.room.pc && r.room.pc.getSenders().some((s) => s.track))),
};

// ---------- names ----------

// "岱山县高亭中心小学" → "高亭中心小学": the county is the same for everyone on this wall.
function short(name) { return (name || "").replace(/^.{1,4}?[县市](?=.{3,})/, ""); }

function hostClassroom(s) { return state.details.get(s.session_id)?.host_classroom_id ?? null; }

function schoolsOf(s) {
  const dir = state.dir;
  const ids = [];
  const host = hostClassroom(s);
  const hostSchool = host != null ? dir.classrooms.get(host)?.school_id : state.people.get(s.host_teacher_id)?.school_id;
  if (hostSchool != null) ids.push(hostSchool);
  for (const c of s.receiver_classroom_ids) {
    const id = dir.classrooms.get(c)?.school_id;
    if (id != null && !ids.includes(id)) ids.push(id);
  }
  return { hostSchool, ids, names: ids.map((id) => dir.schools.get(id)?.name ?? `#${id}`) };
}

function seatLabel(seat) {
  const who = seat.school && !seat.name.startsWith(seat.school) ? `${short(seat.school)} · ${seat.name}` : short(seat.name);
  return `${tr.t(seat.role)} · ${who}`;
}

function teacherName(s) { return state.people.get(s.host_teacher_id)?.name ?? `#${s.host_teacher_id}`; }

function timeRange(s) {
  const hm = { hour: "2-digit", minute: "2-digit" };
  return tr.t("time", { start: fmt(s.start, tr, hm), end: fmt(s.end, tr, hm) });
}

// ---------- filters ----------

function fillSelect(select, options) {
  const keep = select.value;
  select.replaceChildren(el("option", { value: "" }, tr.t("all")),
    ...options.map(([value, label]) => el("option", { value: String(value) }, label)));
  select.value = options.some(([v]) => String(v) === keep) ? keep : "";
}

function renderFilters() {
  const communities = new Map(), subjects = new Set(), schools = new Map();
  for (const s of state.sessions) {
    communities.set(s.community_id, state.communities.get(s.community_id)?.name ?? `#${s.community_id}`);
    subjects.add(s.subject);
    const { ids, names } = schoolsOf(s);
    ids.forEach((id, i) => schools.set(id, names[i]));
  }
  const byName = (a, b) => a[1].localeCompare(b[1], "zh-CN");
  fillSelect($("f-community"), [...communities].sort(byName));
  fillSelect($("f-subject"), [...subjects].sort().map((x) => [x, x]));
  fillSelect($("f-school"), [...schools].sort(byName));
}

function visible() {
  const community = $("f-community").value, subject = $("f-subject").value, school = $("f-school").value;
  return state.sessions.filter((s) =>
    (!community || String(s.community_id) === community) &&
    (!subject || s.subject === subject) &&
    (!school || schoolsOf(s).ids.map(String).includes(school)));
}

// ---------- live rooms ----------

function connect(sessionId) {
  if (rooms.has(sessionId)) return rooms.get(sessionId);
  const room = new HaiqiaoRoom({ accessToken: token(), sessionId, role: "observer", publish: false });
  const entry = { room, videos: new Map(), audios: new Map(), error: null };
  rooms.set(sessionId, entry);
  room.addEventListener("track", (e) => {
    const { seat, track, stream } = e.detail;
    if (!seat) return;
    (track.kind === "video" ? entry.videos : entry.audios).set(seat, stream);
    paintRoom(sessionId);
  });
  room.addEventListener("seats", () => paintRoom(sessionId));
  room.addEventListener("state", () => paintRoom(sessionId));
  room.addEventListener("error", (e) => { entry.error = e.detail?.message || e.detail?.code || null; paintRoom(sessionId); });
  room.join().catch((err) => { entry.error = tr.t("joinFailed", { msg: err.message || String(err) }); paintRoom(sessionId); });
  return entry;
}

function disconnect(sessionId) {
  const entry = rooms.get(sessionId);
  if (!entry) return;
  rooms.delete(sessionId);
  entry.room.leave();
  const card = cards.get(sessionId);
  if (card) card.querySelector("video").srcObject = null;
}

// Which sessions get a live picture: the watched one alone, or the first MAX_LIVE visible ones with someone there.
function syncRooms() {
  let wanted;
  if (state.watching != null) wanted = [state.watching];
  else wanted = visible().filter((s) => s.connected.length > 0).slice(0, MAX_LIVE).map((s) => s.session_id);
  for (const id of [...rooms.keys()]) if (!wanted.includes(id)) disconnect(id);
  for (const id of wanted) connect(id);
}

// The seat whose picture stands for the class: the host, else whoever sends video.
function mainSeat(entry) {
  const seats = entry.room.seats || [];
  const host = seats.find((s) => s.role === "host" && entry.videos.has(s.seat));
  if (host) return host.seat;
  const any = seats.find((s) => entry.videos.has(s.seat));
  return any ? any.seat : null;
}

function setStream(video, stream) { if (video.srcObject !== stream) video.srcObject = stream; }

function paintRoom(sessionId) {
  if (state.watching === sessionId) renderWatch();
  const card = cards.get(sessionId);
  if (card) paintCardPicture(card, sessionId);
}

// ---------- the wall ----------

function card(s) {
  let node = cards.get(s.session_id);
  if (!node) {
    node = el("article", { class: "card session", tabindex: "0", dataset: { session: s.session_id },
      onclick: () => watch(s.session_id), onkeydown: (e) => { if (e.key === "Enter") watch(s.session_id); } },
      el("div", { class: "tile" },
        el("video", { autoplay: true, playsinline: true, muted: true }),
        el("div", { class: "overlay" }), el("span", { class: "status" }), el("span", { class: "hint" }), el("span", { class: "label" })),
      el("div", { class: "info" }));
    const video = node.querySelector("video");
    video.muted = true;
    // The overlay stays until the picture really shows (the first key frame can take a moment).
    for (const ev of ["loadeddata", "playing", "resize", "emptied"]) video.addEventListener(ev, () => paintCardPicture(node, s.session_id));
    cards.set(s.session_id, node);
  }
  const { hostSchool, names } = schoolsOf(s);
  const hostName = hostSchool != null ? short(state.dir.schools.get(hostSchool)?.name) : "";
  const receivers = names.slice(hostSchool != null ? 1 : 0).map(short).join(tr.t("sep"));
  const people = s.connected.length
    ? s.connected.map((c) => el("span", { class: `pill ${c.state === "connected" ? "good" : c.state}`, title: c.name,
      dataset: { role: c.role } }, seatLabel(c)))
    : [el("span", { class: "none" }, tr.t("nobody"))];
  node.querySelector(".info").replaceChildren(
    el("h3", { title: s.title }, s.title),
    el("div", { class: "meta" }, `${s.subject} · ${teacherName(s)} · ${timeRange(s)}`),
    el("div", { class: "meta schools", title: names.join(" → ") }, receivers ? `${hostName} → ${receivers}` : hostName),
    el("div", { class: "people" }, people));
  const status = node.querySelector(".status");
  status.className = `status ${s.status}`;
  status.textContent = `${tr.t(s.status)} · ${tr.t(s.kind)}`;
  node.querySelector(".hint").textContent = tr.t("clickToWatch");
  paintCardPicture(node, s.session_id);
  return node;
}

function paintCardPicture(node, sessionId) {
  const s = state.sessions.find((x) => x.session_id === sessionId);
  const entry = rooms.get(sessionId);
  const video = node.querySelector("video");
  const overlay = node.querySelector(".overlay");
  const label = node.querySelector(".label");
  const seat = entry ? mainSeat(entry) : null;
  if (seat != null && state.watching == null) {
    setStream(video, entry.videos.get(seat));
    const showing = video.readyState >= 2 && video.videoWidth > 0;
    overlay.hidden = showing;
    overlay.textContent = tr.t("waiting");
    const info = entry.room.seats.find((x) => x.seat === seat);
    label.hidden = !info;
    if (info) label.textContent = seatLabel(info);
    return;
  }
  setStream(video, null);
  label.hidden = true;
  overlay.hidden = false;
  if (entry?.error) overlay.textContent = entry.error;
  else if (entry) overlay.textContent = tr.t("waiting");
  else if (s && s.connected.length === 0) overlay.textContent = tr.t("noOne");
  else overlay.textContent = tr.t("paused", { n: MAX_LIVE });
  overlay.style.whiteSpace = "pre-line";
}

function renderWall() {
  const shown = visible();
  const wall = $("wall");
  for (const [id] of cards) if (!state.sessions.some((s) => s.session_id === id)) cards.delete(id);
  const nodes = shown.map(card);
  if (!shown.length) nodes.push(el("div", { id: "empty" }, tr.t(state.sessions.length ? "emptyFiltered" : "empty")));
  // Moving a playing <video> restarts nothing, but leave the DOM alone when the order has not changed.
  if (nodes.length !== wall.children.length || nodes.some((n, i) => wall.children[i] !== n)) wall.replaceChildren(...nodes);
  $("count").textContent = tr.t("count", { shown: shown.length, total: state.sessions.length });
  $("updated").textContent = state.updated
    ? tr.t("updated", { time: state.updated.toLocaleTimeString(tr.locale, { timeZone: ZONE }) }) : "";
}

async function refresh() {
  try {
    const sessions = await api("/api/v1/patrol/live");
    const missing = sessions.filter((s) => !state.details.has(s.session_id));
    await Promise.all(missing.map(async (s) => {
      state.details.set(s.session_id, await api(`/api/v1/sessions/${s.session_id}`).catch(() => null));
    }));
    state.sessions = sessions;
    state.updated = new Date();
    $("error").textContent = "";
  } catch (err) {
    $("error").textContent = err instanceof ApiError && err.status === 403 ? tr.t("notAllowed") : tr.t("loadFailed", { msg: err.message });
  }
  renderFilters();
  if (state.watching == null) { syncRooms(); renderWall(); } else {
    state.ended = !state.sessions.some((s) => s.session_id === state.watching);
    renderWatch();
  }
}

// ---------- watching one session ----------

function watch(sessionId) {
  state.watching = sessionId;
  state.ended = false;
  history.replaceState(null, "", `${location.pathname}?${withParam("watch", sessionId)}`);
  $("wall-view").hidden = true;
  $("watch-view").hidden = false;
  for (const node of cards.values()) setStream(node.querySelector("video"), null);
  syncRooms();
  resetObservation();
  renderWatch();
  loadHistory();
  window.haiqiao = rooms.get(sessionId)?.room;
}

function unwatch() {
  state.watching = null;
  history.replaceState(null, "", `${location.pathname}?${withParam("watch", null)}`);
  $("watch-view").hidden = true;
  $("wall-view").hidden = false;
  for (const a of audioEls.values()) { a.srcObject = null; a.remove(); }
  audioEls.clear();
  for (const t of watchTiles.values()) t.remove();
  watchTiles.clear();
  window.haiqiao = undefined;
  syncRooms();
  renderWall();
}

function withParam(name, value) {
  const p = new URLSearchParams(location.search);
  if (value == null) p.delete(name); else p.set(name, value);
  return p.toString();
}

function watchTile(seat) {
  let node = watchTiles.get(seat);
  if (!node) {
    node = el("div", { class: "tile", dataset: { seat } },
      el("video", { autoplay: true, playsinline: true, muted: true }), el("span", { class: "label" }));
    node.querySelector("video").muted = true;
    watchTiles.set(seat, node);
  }
  return node;
}

function renderWatch() {
  const id = state.watching;
  if (id == null) return;
  // A class that has ended is no longer on the live list: keep what was last known of it.
  let s = state.sessions.find((x) => x.session_id === id);
  if (s) state.lastWatched = s;
  else if (state.lastWatched?.session_id === id) s = state.lastWatched;
  const entry = rooms.get(id);
  $("watch-title").textContent = s?.title ?? state.details.get(id)?.title ?? `#${id}`;
  $("watch-ended").hidden = !state.ended;
  if (state.ended) {
    // Nothing more will come: no "waiting for the picture" tile, no frozen pictures beside 本节课已结束.
    for (const node of watchTiles.values()) node.remove();
    watchTiles.clear();
    return;
  }
  if (s) {
    const { names } = schoolsOf(s);
    $("watch-meta").textContent = `${s.subject} · ${tr.t("teacherLabel", { name: teacherName(s) })} · ${timeRange(s)} · ${names.map(short).join(" → ")}`;
  }
  if (!entry) return;
  window.haiqiao = entry.room;
  const seats = entry.room.seats || [];
  const main = mainSeat(entry);
  const stage = $("stage"), strip = $("strip");
  for (const [seat, node] of watchTiles) if (!seats.some((x) => x.seat === seat)) { node.remove(); watchTiles.delete(seat); }
  for (const info of seats) {
    if (!entry.videos.has(info.seat)) continue;
    const node = watchTile(info.seat);
    setStream(node.querySelector("video"), entry.videos.get(info.seat));
    node.querySelector(".label").textContent = seatLabel(info) + (info.state === "reconnecting" ? ` · ${tr.t("reconnecting")}` : "");
    const target = info.seat === main ? stage : strip;
    if (node.parentElement !== target) target.append(node);
  }
  // The researcher hears the class being watched (and only that one); nothing is ever sent back.
  for (const [seat, stream] of entry.audios) {
    if (!seats.some((x) => x.seat === seat)) continue;
    if (audioEls.get(seat)?.srcObject === stream) continue;
    const audio = audioEls.get(seat) || new Audio();
    audio.srcObject = stream;
    audio.play().catch(() => {});
    audioEls.set(seat, audio);
  }
  if (!stage.querySelector(".tile")) {
    const waiting = watchTile("waiting");
    waiting.querySelector(".label").textContent = entry.error || tr.t(entry.room.state === "lost" ? "stateLost" : "waiting");
    if (waiting.parentElement !== stage) stage.append(waiting);
  } else if (watchTiles.has("waiting")) { watchTiles.get("waiting").remove(); watchTiles.delete("waiting"); }
}

// ---------- wiring ----------

function rerender() {
  tr.apply();
  renderFilters();
  if (state.watching == null) renderWall(); else renderWatch();
  renderST(); renderRubric(); loadHistory();
}

bindObservePanel();
$("back").onclick = unwatch;
for (const id of ["f-community", "f-subject", "f-school"]) $(id).onchange = () => { syncRooms(); renderWall(); };
window.addEventListener("pagehide", () => { for (const id of [...rooms.keys()]) disconnect(id); });

async function start() {
  state.me = await mountHeader({ titleKey: "title", tr, onLanguage: rerender });
  if (!state.me.roles.some((r) => r === "researcher" || r === "admin")) {
    $("error").textContent = tr.t("notAllowed");
    return;
  }
  const [dir, people, communities] = await Promise.all([
    directory(), api("/api/v1/people").catch(() => []), api("/api/v1/communities").catch(() => []),
  ]);
  state.dir = dir;
  state.people = new Map(people.map((p) => [p.id, p]));
  state.communities = new Map(communities.map((c) => [c.id, c]));
  renderRubric();
  await refresh();
  const asked = Number(q.get("watch"));
  if (asked && state.sessions.some((s) => s.session_id === asked)) watch(asked);
  setInterval(refresh, REFRESH * 1000);
  setInterval(tickST, Math.min(1000, ST_INTERVAL * 250));
}
start().catch((err) => { $("error").textContent = err.message || String(err); });
