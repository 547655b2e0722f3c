// 巡课 patrol wall: every open or live session a researcher may watch, each with a live thumbnail of its
// host, and one session full-size with an observation panel (timestamped notes, rubric, S-T coding).
//
// The researcher joins each room as an observer with publish=false: the server never lists observers to
// the others, and this page never asks for a camera or microphone, so it can be neither seen nor heard.
// Each room is asked (`watch`, docs/signaling.md) for its host's thumbnail alone and no sound — about
// 150 kbit/s a tile, so 36 classes fit on one wall; the session watched full-size asks for everything.
//
// Query parameters (for tests and demos): st_interval=SECONDS (S-T sampling interval, default 30),
// refresh=SECONDS (list refresh, default 10).
import { ApiError, ZONE, api, directory, el, fmt, mountHeader, token } from "/static/common.js";
import { HaiqiaoRoom } from "/static/haiqiao-rtc.js";
import { tr } from "/static/patrol-i18n.js";
import { recordingMark } from "/static/recording-mark.js";
import { q, ST_INTERVAL, REFRESH, $, state } from "/static/patrol-state.js";
import { st, obs, resetObservation, renderST, renderRubric, loadHistory, tickST, bindObservePanel } from "/static/patrol-observe.js";
export { analyse } from "/static/patrol-observe.js";

const rooms = new Map(); // session id → { room, mids: {mid → {seat, source}}, streams, sent, error }
const cards = new Map(); // session id → wall card
const watchTiles = new Map(); // seat (or seat/source of a share) → tile in the full-size view
const audioEls = new Map(); // mid → <audio> of the watched session

const WALL = ["thumb", "camera"]; // what a tile shows of its seat, best first (old publishers send no thumb)
const FULL = ["camera", "thumb"]; // the watched session's pictures, best first (until the camera comes)
const SHARES = ["screen", "document"];

// Tests read these: live rooms, decoded frames per session, what each picture decodes, the S-T record.
window.patrol = {
  rooms, st, obs, state,
  frames: async (id) => (await videoStats(id)).map((s) => s.framesDecoded),
  videos: (id) => videoStats(id),
  picture: (id) => picture(id),
  pictures: async () => Object.fromEntries(await Promise.all([...rooms.keys()].map(async (id) => [id, await picture(id)]))),
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
  const entry = { room, mids: {}, streams: new Map(), sent: null, error: null };
  rooms.set(sessionId, entry);
  // Each answer names what every mid carries now (`tracks`: seat, `sources`: which of its sources);
  // read here so that this page needs nothing of haiqiao-rtc.js beyond the answer itself.
  const answered = room.onAnswer.bind(room);
  room.onAnswer = async (msg) => {
    const mids = {};
    for (const [mid, seat] of Object.entries(msg.tracks || {})) mids[mid] = { seat, source: msg.sources?.[mid] ?? null };
    entry.mids = mids;
    await answered(msg);
    paintRoom(sessionId);
  };
  room.addEventListener("track", () => paintRoom(sessionId));
  room.addEventListener("seats", () => { askFor(sessionId); paintRoom(sessionId); });
  room.addEventListener("state", () => {
    // A new connection (the first, or after a reconnect) starts from the server's defaults: ask again.
    if (room.state !== "connected") entry.sent = null;
    askFor(sessionId);
    paintRoom(sessionId);
  });
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

// Which sessions are joined: every visible one with someone there, and the watched one.
function syncRooms() {
  const wanted = visible().filter((s) => s.connected.length > 0).map((s) => s.session_id);
  if (state.watching != null && !wanted.includes(state.watching)) wanted.push(state.watching);
  for (const id of [...rooms.keys()]) if (!wanted.includes(id)) disconnect(id);
  for (const id of wanted) connect(id);
}

// The seat whose picture stands for the class: the host, else the first classroom or participant there.
function tileSeat(entry) {
  const seats = (entry.room.seats || []).filter((s) => s.role !== "observer");
  return (seats.find((s) => s.role === "host") || seats[0])?.seat ?? null;
}

// What the room should send: the watched session everything (every camera full, sound); a tile its
// seat's thumbnail alone, without sound. Sent when it changes and on each new connection.
function askFor(sessionId) {
  const entry = rooms.get(sessionId);
  if (!entry || entry.room.state !== "connected") return;
  const seat = tileSeat(entry);
  const msg = state.watching === sessionId
    ? { type: "watch", seats: null, video: null, audio: true }
    : { type: "watch", seats: [], video: seat != null ? [seat] : [], audio: false };
  const key = JSON.stringify(msg);
  if (entry.sent === key) return;
  entry.sent = key;
  entry.room.send(msg);
}

// The received track of a seat's source, by the latest answer: { mid, seat, source, kind, track }.
function received(entry, seat, sources, kind = "video") {
  const pc = entry.room.pc;
  if (!pc) return null;
  let best = null;
  for (const t of pc.getTransceivers()) {
    const what = t.mid != null ? entry.mids[t.mid] : null;
    if (!what || what.seat !== seat || t.receiver.track.kind !== kind) continue;
    const source = what.source || (kind === "audio" ? "microphone" : "camera");
    const rank = sources.indexOf(source);
    if (rank < 0) continue;
    if (!best || rank < best.rank) best = { rank, mid: t.mid, seat, source, kind, track: t.receiver.track };
  }
  return best;
}

// One MediaStream per received track, so a <video> is not reset by a repaint.
function streamOf(entry, got) {
  if (!got) return null;
  let stream = entry.streams.get(got.track.id);
  if (!stream) entry.streams.set(got.track.id, (stream = new MediaStream([got.track])));
  return stream;
}

// The seat whose picture stands for the class, if its picture is received.
function mainSeat(entry) {
  const seat = tileSeat(entry);
  if (seat != null && received(entry, seat, FULL)) return seat;
  const any = (entry.room.seats || []).find((s) => received(entry, s.seat, FULL));
  return any ? any.seat : null;
}

function setStream(video, stream) { if (video.srcObject !== stream) video.srcObject = stream; }

const recordingBadge = recordingMark(tr.lang); // the watched class is recorded (each tile says so too)

function paintRoom(sessionId) {
  if (state.watching === sessionId) renderWatch();
  recordingBadge.language(tr.lang);
  recordingBadge.set(Boolean(state.watching != null && rooms.get(state.watching)?.room.recording));
  const card = cards.get(sessionId);
  if (card) paintCardPicture(card, sessionId);
}

// inbound-rtp video of a session, for what the room sends now: frames decoded and their size.
async function videoStats(sessionId) {
  const entry = rooms.get(sessionId);
  if (!entry?.room.pc) return [];
  const byMid = new Map();
  (await entry.room.pc.getStats()).forEach((s) => {
    if (s.type !== "inbound-rtp" || s.kind !== "video" || !entry.mids[s.mid]) return;
    // A reused m-line may briefly list the SSRC it carried before: the one heard last is the one now.
    const seen = byMid.get(s.mid);
    if (seen && (seen.lastPacketReceivedTimestamp || 0) > (s.lastPacketReceivedTimestamp || 0)) return;
    byMid.set(s.mid, s);
  });
  return [...byMid.values()].map((s) => ({
    mid: s.mid, seat: entry.mids[s.mid].seat, source: entry.mids[s.mid].source || "camera",
    framesDecoded: s.framesDecoded || 0, frameWidth: s.frameWidth || 0, frameHeight: s.frameHeight || 0,
    lastPacketReceivedTimestamp: s.lastPacketReceivedTimestamp || 0,
  }));
}

// The picture that stands for a session (its tile, or the stage when watched): which seat and source,
// its decoded frames and size, and the size the <video> shows.
async function picture(sessionId) {
  const entry = rooms.get(sessionId);
  if (!entry) return null;
  const seat = mainSeat(entry);
  const got = seat != null ? received(entry, seat, state.watching === sessionId ? FULL : WALL) : null;
  if (!got) return { seat, source: null, mid: null, framesDecoded: 0, frameWidth: 0, frameHeight: 0 };
  const stats = (await videoStats(sessionId)).find((s) => s.mid === got.mid);
  const video = state.watching === sessionId ? watchTiles.get(seat)?.querySelector("video") : cards.get(sessionId)?.querySelector("video");
  return { seat, source: got.source, mid: got.mid, framesDecoded: stats?.framesDecoded ?? 0,
    frameWidth: stats?.frameWidth ?? 0, frameHeight: stats?.frameHeight ?? 0,
    videoWidth: video?.videoWidth ?? 0, videoHeight: video?.videoHeight ?? 0 };
}

// ---------- the wall ----------

function card(s) {
  let node = cards.get(s.session_id);
  if (!node) {
    node = el("article", { class: "card session", tabindex: "0", dataset: { session: s.session_id },
      onclick: () => watch(s.session_id), onkeydown: (e) => { if (e.key === "Enter") watch(s.session_id); } },
      el("div", { class: "tile" },
        el("video", { autoplay: true, playsinline: true, muted: true }),
        el("div", { class: "overlay" }), el("span", { class: "status" }), el("span", { class: "hint" }), el("span", { class: "label" }),
        el("span", { class: "rec", hidden: true })),
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
  const got = seat != null ? received(entry, seat, WALL) : null;
  node.dataset.source = got?.source ?? "";
  const rec = node.querySelector(".rec");
  rec.hidden = !entry?.room.recording; rec.textContent = tr.t("recording");
  if (got) {
    // The watched session's tile, hidden meanwhile, may carry the full camera until it is a tile again.
    setStream(video, streamOf(entry, got));
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
  else overlay.textContent = tr.t("noOne");
}

function renderWall() {
  const shown = visible();
  const wall = $("wall");
  for (const [id] of cards) if (!state.sessions.some((s) => s.session_id === id)) cards.delete(id);
  const nodes = shown.map(card);
  // Many classes: smaller tiles (a 1280-pixel screen shows six across).
  wall.classList.toggle("dense", shown.length > 8);
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
  // The other classes stay joined as thumbnails: back on the wall they are there at once.
  syncRooms();
  askFor(sessionId);
  resetObservation();
  renderWatch();
  loadHistory();
  window.haiqiao = rooms.get(sessionId)?.room;
}

function unwatch() {
  const was = state.watching;
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
  askFor(was); // a tile again: its host's thumbnail, no sound
  renderWall();
}

function withParam(name, value) {
  const p = new URLSearchParams(location.search);
  if (value == null) p.delete(name); else p.set(name, value);
  return p.toString();
}

function watchTile(key) {
  let node = watchTiles.get(key);
  if (!node) {
    node = el("div", { class: "tile", dataset: { seat: key } },
      el("video", { autoplay: true, playsinline: true, muted: true }), el("span", { class: "label" }));
    node.querySelector("video").muted = true;
    watchTiles.set(key, node);
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
  // Each seat's camera (its thumbnail until the full layer comes), and what it shares beside it.
  const pictures = new Map();
  for (const info of seats) {
    const camera = received(entry, info.seat, FULL);
    if (camera) pictures.set(info.seat, { info, got: camera, extra: "" });
    for (const source of SHARES) {
      const shared = received(entry, info.seat, [source]);
      if (shared) pictures.set(`${info.seat}/${source}`, { info, got: shared, extra: ` · ${tr.t(source)}` });
    }
  }
  for (const [key, node] of watchTiles) if (key !== "waiting" && !pictures.has(key)) { node.remove(); watchTiles.delete(key); }
  for (const [key, { info, got, extra }] of pictures) {
    const node = watchTile(key);
    node.dataset.source = got.source;
    setStream(node.querySelector("video"), streamOf(entry, got));
    node.querySelector(".label").textContent = seatLabel(info) + extra + (info.state === "reconnecting" ? ` · ${tr.t("reconnecting")}` : "");
    const target = key === main ? stage : strip;
    if (node.parentElement !== target) target.append(node);
  }
  // The researcher hears the class being watched (and only that one); nothing is ever sent back.
  const heard = new Set();
  for (const info of seats) {
    const got = received(entry, info.seat, ["microphone"], "audio");
    if (!got) continue;
    heard.add(got.mid);
    const stream = streamOf(entry, got);
    if (audioEls.get(got.mid)?.srcObject === stream) continue;
    const audio = audioEls.get(got.mid) || new Audio();
    audio.srcObject = stream;
    audio.play().catch(() => {});
    audioEls.set(got.mid, audio);
  }
  for (const [mid, audio] of audioEls) if (!heard.has(mid)) { audio.srcObject = null; audioEls.delete(mid); }
  if (!stage.querySelector(".tile:not([data-seat='waiting'])")) {
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
