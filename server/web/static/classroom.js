// The classroom view (主讲端, 听讲端, 网络教研 participant, 巡课 observer) on top of HaiqiaoRoom.
import { ZONE, api, el, i18n, token } from "/static/common.js";
import { HaiqiaoRoom } from "/static/haiqiao-rtc.js";

const tr = i18n({
  zh: { connecting: "连接中", joining: "正在加入", connected: "已连接", reconnecting: "重新连接中…", refused: "无法加入",
        lost: "连接已断开", left: "已离开", replaced: "已在别处进入", ended: "已下课", idle: "准备中", host: "主讲端", receiver: "听讲端", participant: "教研",
        self: "本端预览", hands: "举手", takeFloor: "收回发言", giveFloor: "请发言", headcount: "本班听课人数", report: "上报",
        reported: "已上报 {n} 人", chat: "交流", say: "输入文字…", send: "发送", micOn: "麦克风 开", micOff: "麦克风 关",
        camOn: "摄像头 开", camOff: "摄像头 关", raise: "举手", lower: "放下手", leave: "离开", end: "下课",
        banner_reconnecting: "网络中断，正在重新连接…（不用刷新页面）", banner_lost: "连接已断开，请返回重新进入",
        banner_left: "已离开课堂", banner_replaced: "本教室已在另一个窗口或设备进入课堂，这里已断开", banner_ended: "本节课已结束", muted: "主讲端已将本端静音", seatReconnecting: "重新连接中…", hand: "举手",
        mute: "静音", unmute: "取消静音", floor: "发言中", mutedBadge: "已静音", back: "返回今天的课",
        lesson: "研讨的课：{title}", waitHost: "等待主讲端进入课堂…", good: "良好", fair: "一般", poor: "较差", quality: "{q} · {fps} 帧/秒 · 丢包 {loss}%" },
  en: { connecting: "connecting", joining: "joining", connected: "connected", reconnecting: "reconnecting…", refused: "refused",
        lost: "disconnected", left: "left", replaced: "opened elsewhere", ended: "class over", idle: "starting", host: "Host", receiver: "Classroom", participant: "Participant",
        self: "My camera", hands: "Raised hands", takeFloor: "Take the floor back", giveFloor: "Give floor", headcount: "Pupils in this room",
        report: "Report", reported: "Reported: {n}", chat: "Chat", say: "Type a message…", send: "Send", micOn: "Mic on", micOff: "Mic off",
        camOn: "Camera on", camOff: "Camera off", raise: "Raise hand", lower: "Lower hand", leave: "Leave", end: "End class",
        banner_reconnecting: "Connection lost, reconnecting… (no need to reload)", banner_lost: "Disconnected — go back and join again",
        banner_left: "You left the class", banner_replaced: "This seat was taken by another window or device; this one is disconnected", banner_ended: "This session has ended", muted: "The host has muted this room", seatReconnecting: "reconnecting…", hand: "hand up",
        mute: "Mute", unmute: "Unmute", floor: "speaking", mutedBadge: "muted", back: "Back to today",
        lesson: "Lesson under discussion: {title}", waitHost: "Waiting for the host classroom…", good: "good", fair: "fair", poor: "poor", quality: "{q} · {fps} fps · {loss}% lost" },
});

const q = new URLSearchParams(location.search);
const sessionId = Number(q.get("session"));
const role = q.get("role") || "receiver";
const classroomId = q.get("classroom") ? Number(q.get("classroom")) : null;
const $ = (id) => document.getElementById(id);
const room = new HaiqiaoRoom({ accessToken: token(), sessionId, role, classroomId });
const tiles = new Map(); // seat id ("self" for the preview) → tile element
const streams = new Map(); // seat id → its incoming stream, kept while its tile is not shown
const quality = {}; // seat id → { level, fps, loss } — read by tests as window.classroomView.quality
let mic = true, camera = true, raised = false, speaking = null; // raised mirrors the server's seat state
window.haiqiao = room;
window.classroomView = { quality, tiles };

function tile(seatId) {
  let node = tiles.get(seatId);
  if (node) return node;
  node = el("div", { class: "tile", dataset: { seat: seatId } },
    el("video", { autoplay: true, playsinline: true, muted: true }),
    el("div", { class: "badges" }), el("span", { class: "quality", title: "" }), el("span", { class: "label" }),
    el("div", { class: "actions" }));
  if (streams.has(seatId)) node.querySelector("video").srcObject = streams.get(seatId);
  tiles.set(seatId, node);
  return node;
}

function seatInfo(seatId) { return room.seats.find((s) => s.seat === seatId); }

// A receiving classroom is sent the host and whoever has the floor, never another classroom otherwise:
// no tile (a black picture) for what it does not receive.
function shown(s) {
  return Boolean(s) && !(role === "receiver" && s.role === "receiver" && room.floor !== s.seat);
}

function render() {
  const title = $("title"); title.textContent = room.title || title.textContent;
  $("state").textContent = tr.t(room.state); $("state").className = room.state;
  const banner = $("banner");
  const me = seatInfo(room.seat);
  raised = Boolean(me?.hand); // the server lowers the hand when it gives the floor
  const bannerKey = { reconnecting: "banner_reconnecting", lost: "banner_lost", left: "banner_left",
    replaced: "banner_replaced", ended: "banner_ended" }[room.state];
  banner.hidden = !bannerKey && !me?.muted_audio;
  banner.className = bannerKey ? "" : "muted";
  banner.textContent = bannerKey ? tr.t(bannerKey) : tr.t("muted");
  if (["left", "lost", "replaced", "ended"].includes(room.state)) banner.append(" ", el("a", { href: "/", style: "color:#fff" }, tr.t("back")));
  // Seats that left lose their tiles; the rest are labelled and placed by role.
  for (const [id, node] of tiles) if (id !== "self" && !shown(seatInfo(id))) { node.remove(); tiles.delete(id); }
  for (const s of room.seats) if (s.seat !== room.seat && shown(s)) decorate(tile(s.seat), s);
  if (room.localStream) decorate(tile("self"), { seat: "self", name: tr.t("self"), role });
  place();
  renderHands();
  $("mic").textContent = tr.t(mic ? "micOn" : "micOff"); $("mic").classList.toggle("off", !mic);
  $("camera").textContent = tr.t(camera ? "camOn" : "camOff"); $("camera").classList.toggle("off", !camera);
  $("hand").textContent = tr.t(raised ? "lower" : "raise");
  $("leave").textContent = tr.t(role === "host" ? "end" : "leave");
}

function decorate(node, s) {
  // A terminal's name already says its school ("岱西镇中心小学 互动教室"); a teacher's does not.
  const label = s.seat === "self" || !s.school || s.name.startsWith(s.school) ? s.name : `${s.school} · ${s.name}`;
  node.querySelector(".label").textContent = `${tr.t(s.role)} · ${label}`;
  const badges = node.querySelector(".badges"); badges.replaceChildren();
  if (s.hand) badges.append(el("span", { class: "badge hand" }, tr.t("hand")));
  if (s.muted_audio) badges.append(el("span", { class: "badge" }, tr.t("mutedBadge")));
  if (room.floor && room.floor === s.seat) badges.append(el("span", { class: "badge" }, tr.t("floor")));
  node.classList.toggle("floor", room.floor === s.seat);
  node.classList.toggle("speaking", speaking === s.seat);
  let overlay = node.querySelector(".overlay");
  if (s.state === "reconnecting" && !overlay) node.append(el("div", { class: "overlay" }, tr.t("seatReconnecting")));
  if (s.state !== "reconnecting" && overlay) overlay.remove();
  const actions = node.querySelector(".actions"); actions.replaceChildren();
  if (room.role === "host" && s.role === "receiver") {
    actions.append(el("button", { class: "mute", onclick: () => room.mute(s.seat, "audio", !s.muted_audio) }, tr.t(s.muted_audio ? "unmute" : "mute")));
    if (room.floor !== s.seat) actions.append(el("button", { class: "give-floor", onclick: () => room.giveFloor(s.seat) }, tr.t("giveFloor")));
  }
  const qd = quality[s.seat];
  const dot = node.querySelector(".quality");
  dot.hidden = s.seat === "self";
  dot.className = `quality ${qd ? qd.level : ""}`;
  dot.title = qd ? tr.t("quality", { q: tr.t(qd.level), fps: qd.fps, loss: qd.loss }) : "";
}

// Who goes on the big stage: the host for classrooms and observers; for the host, whoever has the floor.
function place() {
  $("room").classList.toggle("grid", role === "participant");
  const hostSeat = room.seats.find((s) => s.role === "host" && s.seat !== room.seat);
  let stageSeat = null;
  if (role === "host") stageSeat = room.floor || null;
  else if (role !== "participant") stageSeat = hostSeat?.seat || null;
  const stage = $("stage"), strip = $("strip");
  for (const [id, node] of tiles) {
    const target = id === stageSeat ? stage : strip;
    if (node.parentElement !== target) target.append(node);
  }
  if (role === "host" && !stageSeat && tiles.has("self") && tiles.get("self").parentElement !== stage) stage.append(tiles.get("self"));
  const self = tiles.get("self");
  if (self && role === "host" && stageSeat && self.parentElement !== strip) strip.prepend(self);
  // An empty stage says what it waits for, rather than staying black.
  const waiting = stage.querySelector(".waiting");
  const empty = !stage.querySelector(".tile");
  if (empty && !waiting) stage.append(el("div", { class: "waiting" }, tr.t("waitHost")));
  if (!empty && waiting) waiting.remove();
  if (waiting) waiting.textContent = tr.t("waitHost");
}

function renderHands() {
  const panel = $("hands-panel");
  panel.hidden = role !== "host";
  if (panel.hidden) return;
  const list = $("hands"); list.replaceChildren();
  for (const s of room.seats.filter((x) => x.hand)) {
    list.append(el("div", { class: "hand" }, el("span", {}, s.school || s.name),
      el("button", { onclick: () => room.giveFloor(s.seat) }, tr.t("giveFloor"))));
  }
  $("take-floor").hidden = !room.floor;
}

room.addEventListener("state", render);
room.addEventListener("seats", (e) => { room.title = e.detail.title || room.title; render(); });
room.addEventListener("error", (e) => { $("error").textContent = e.detail?.message || ""; });
room.addEventListener("local", (e) => { tile("self").querySelector("video").srcObject = e.detail; render(); });
room.addEventListener("track", (e) => {
  if (!e.detail.seat) return;
  if (e.detail.track.kind === "audio") {
    const audio = new Audio(); audio.srcObject = e.detail.stream; audio.play().catch(() => {});
    return;
  }
  streams.set(e.detail.seat, e.detail.stream);
  const shownTile = tiles.get(e.detail.seat);
  if (shownTile) shownTile.querySelector("video").srcObject = e.detail.stream;
  render();
});
room.addEventListener("chat", (e) => {
  const log = $("chat-log");
  const at = new Date(e.detail.at).toLocaleTimeString(tr.locale, { timeZone: ZONE, hour: "2-digit", minute: "2-digit" });
  log.append(el("div", { class: "line" }, el("span", { class: "meta" }, at, " "), el("span", { class: "who" }, e.detail.name), e.detail.text));
  log.scrollTop = log.scrollHeight;
});

// Every 2 s: frames per second and loss per incoming picture → a dot per classroom; loudest audio → active speaker.
const previous = {};
async function measure() {
  if (!room.pc) return;
  const stats = await room.pc.getStats();
  // Loudness over the whole interval (energy gained since the last sample), not the level at the instant
  // of sampling: a voice between words, or a beep between samples, would otherwise be missed.
  let loudest = null, power = 1e-7;
  stats.forEach((s) => {
    if (s.type !== "inbound-rtp") return;
    const seatId = room.trackSeats[s.mid];
    if (!seatId) return;
    if (s.kind === "audio") {
      const energy = s.totalAudioEnergy || 0, seconds = s.totalSamplesDuration || 0;
      const before = previous[s.id] || { energy: 0, seconds: 0 };
      const gained = seconds > before.seconds ? (energy - before.energy) / (seconds - before.seconds) : 0;
      previous[s.id] = { energy, seconds };
      if (gained > power) { power = gained; loudest = seatId; }
    }
    if (s.kind !== "video") return;
    const before = previous[s.id] || { framesDecoded: 0, packetsLost: 0, packetsReceived: 0, timestamp: s.timestamp - 2000 };
    const seconds = Math.max((s.timestamp - before.timestamp) / 1000, 0.5);
    const fps = Math.round(((s.framesDecoded || 0) - before.framesDecoded) / seconds);
    const lost = (s.packetsLost || 0) - before.packetsLost, got = (s.packetsReceived || 0) - before.packetsReceived;
    const loss = got + lost > 0 ? Math.round((100 * Math.max(lost, 0)) / (got + lost)) : 0;
    const levelName = fps >= 10 && loss < 3 ? "good" : fps >= 4 && loss < 10 ? "fair" : "poor";
    quality[seatId] = { level: levelName, fps, loss };
    previous[s.id] = { framesDecoded: s.framesDecoded || 0, packetsLost: s.packetsLost || 0, packetsReceived: s.packetsReceived || 0, timestamp: s.timestamp };
  });
  speaking = role === "participant" ? loudest : null;
  render();
}
setInterval(() => measure().catch(() => {}), 2000);

$("mic").onclick = () => { mic = !mic; room.localStream?.getAudioTracks().forEach((t) => { t.enabled = mic; }); render(); };
$("camera").onclick = () => { camera = !camera; room.localStream?.getVideoTracks().forEach((t) => { t.enabled = camera; }); render(); };
$("hand").hidden = role !== "receiver";
$("hand").onclick = () => room.raiseHand(!raised);
$("take-floor").onclick = () => room.giveFloor(null);
$("leave").onclick = () => { room.leave(); render(); };
$("chat").onsubmit = (ev) => {
  ev.preventDefault();
  const text = $("chat-input").value.trim();
  if (text) room.chat(text);
  $("chat-input").value = "";
};
$("chat-panel").hidden = role === "observer";
$("controls").hidden = role === "observer";
$("lang").onclick = () => { tr.toggle(); $("lang").textContent = tr.lang === "zh" ? "English" : "中文"; render(); };
$("lang").textContent = tr.lang === "zh" ? "English" : "中文";
tr.apply();

// A receiving classroom reports how many pupils are watching (the attendance page shows it).
if (role === "receiver" && classroomId) {
  $("headcount-panel").hidden = false;
  $("headcount").onsubmit = async (ev) => {
    ev.preventDefault();
    const count = Number($("headcount-input").value);
    try {
      await api(`/api/v1/sessions/${sessionId}/headcount`, { method: "POST", body: { classroom_id: classroomId, count } });
      $("headcount-done").textContent = tr.t("reported", { n: count });
    } catch (err) { $("error").textContent = err.message; }
  };
}

async function describe() {
  const session = await api(`/api/v1/sessions/${sessionId}`);
  room.title = session.title; document.title = `海桥 · ${session.title}`;
  if (session.lesson_session_id) {
    const lesson = await api(`/api/v1/sessions/${session.lesson_session_id}`).catch(() => null);
    if (lesson) {
      const link = $("lesson"); link.hidden = false;
      link.href = `/dashboard?session=${lesson.id}`;
      link.textContent = tr.t("lesson", { title: `${lesson.title}（${lesson.subject}）` });
    }
  }
  render();
}
describe().catch(() => {});

// Kiosk mode (a classroom terminal sent here by /terminal): leave by itself when the class is over —
// the session is final, or its time is up and the host has gone — and go back to the terminal page.
if (q.get("kiosk") === "1") {
  const back = () => {
    const done = new Set(JSON.parse(sessionStorage.getItem("haiqiaoKioskDone") || "[]")).add(sessionId);
    sessionStorage.setItem("haiqiaoKioskDone", JSON.stringify([...done]));
    location.href = `/terminal?poll=${q.get("poll") || 15}&spread=${q.get("spread") ?? 20}`;
  };
  const over = async () => {
    const session = await api(`/api/v1/sessions/${sessionId}`);
    const hostHere = room.seats.some((s) => s.role === "host");
    if (["ended", "missed", "cancelled"].includes(session.status) || (Date.now() >= Date.parse(session.end) && !hostHere)) {
      room.leave(); back();
    }
  };
  setInterval(() => over().catch(() => {}), Number(q.get("poll") || 15) * 1000);
  room.addEventListener("state", (e) => { if (e.detail === "refused") setTimeout(back, 5000); });
}
render();
room.join().catch((err) => { $("error").textContent = String(err.message || err); });
