// The classroom view (主讲端, 听讲端, 网络教研 participant, 巡课 observer) on top of HaiqiaoRoom.
import { ZONE, api, el, i18n, token } from "/static/common.js";
import { HaiqiaoRoom } from "/static/haiqiao-rtc.js";
import { recordingMark } from "/static/recording-mark.js";

const tr = i18n({
  zh: { connecting: "连接中", joining: "正在加入", connected: "已连接", reconnecting: "重新连接中…", refused: "无法加入",
        lost: "连接已断开", left: "已离开", replaced: "已在别处进入", ended: "已下课", idle: "准备中", host: "主讲端", receiver: "听讲端", participant: "教研",
        self: "本端预览", hands: "举手", takeFloor: "收回发言", giveFloor: "请发言", headcount: "本班听课人数", report: "上报",
        reported: "已上报 {n} 人", chat: "交流", say: "输入文字…", send: "发送", micOn: "麦克风 开", micOff: "麦克风 关",
        camOn: "摄像头 开", camOff: "摄像头 关", raise: "举手", lower: "放下手", leave: "离开", end: "下课",
        banner_reconnecting: "网络中断，正在重新连接…（不用刷新页面）", banner_lost: "连接已断开，请返回重新进入",
        banner_left: "已离开课堂", banner_replaced: "本教室已在另一个窗口或设备进入课堂，这里已断开", banner_ended: "本节课已结束", muted: "主讲端已将本端静音", seatReconnecting: "重新连接中…", hand: "举手",
        mute: "静音", unmute: "取消静音", floor: "发言中", mutedBadge: "已静音", back: "返回今天的课",
        lesson: "研讨的课：{title}", waitHost: "等待主讲端进入课堂…", good: "良好", fair: "一般", poor: "较差", quality: "{q} · {fps} 帧/秒 · 丢包 {loss}%",
        shareScreen: "共享屏幕", stopScreen: "停止共享", document: "展台", stopDocument: "停止展台", docDevice: "展台摄像头",
        noDocCamera: "未找到展台（除摄像头外的第二个视频设备）", screen: "屏幕共享", documentTile: "实物展台", me: "本端",
        sharing_screen: "{who} 正在共享屏幕", sharing_document: "{who} 正在展示实物展台",
        shareFailed: "未能开始共享：{msg}", shareEnded: "主讲端已收回发言，本端的共享已结束",
        err_floor_required: "需要主讲端先请本教室发言，才能共享屏幕或展台", err_bad_source: "共享失败：本端没有可共享的视频通道，请重新进入课堂后再试",
        record: "开始录制", stopRecord: "停止录制",
        err_not_allowed: "当前身份不能进行此操作", err_timeout: "服务器没有回应共享请求，请稍后再试", err_rate_limited: "操作太频繁，请稍后再试" },
  en: { connecting: "connecting", joining: "joining", connected: "connected", reconnecting: "reconnecting…", refused: "refused",
        lost: "disconnected", left: "left", replaced: "opened elsewhere", ended: "class over", idle: "starting", host: "Host", receiver: "Classroom", participant: "Participant",
        self: "My camera", hands: "Raised hands", takeFloor: "Take the floor back", giveFloor: "Give floor", headcount: "Pupils in this room",
        report: "Report", reported: "Reported: {n}", chat: "Chat", say: "Type a message…", send: "Send", micOn: "Mic on", micOff: "Mic off",
        camOn: "Camera on", camOff: "Camera off", raise: "Raise hand", lower: "Lower hand", leave: "Leave", end: "End class",
        banner_reconnecting: "Connection lost, reconnecting… (no need to reload)", banner_lost: "Disconnected — go back and join again",
        banner_left: "You left the class", banner_replaced: "This seat was taken by another window or device; this one is disconnected", banner_ended: "This session has ended", muted: "The host has muted this room", seatReconnecting: "reconnecting…", hand: "hand up",
        mute: "Mute", unmute: "Unmute", floor: "speaking", mutedBadge: "muted", back: "Back to today",
        lesson: "Lesson under discussion: {title}", waitHost: "Waiting for the host classroom…", good: "good", fair: "fair", poor: "poor", quality: "{q} · {fps} fps · {loss}% lost",
        shareScreen: "Share screen", stopScreen: "Stop sharing", document: "Document camera", stopDocument: "Stop document camera", docDevice: "Document camera",
        noDocCamera: "No document camera found (a second video device besides the camera)", screen: "Screen", documentTile: "Document camera", me: "This room",
        sharing_screen: "{who} is sharing the screen", sharing_document: "{who} is showing the document camera",
        shareFailed: "Could not start sharing: {msg}", shareEnded: "The host took the floor back; this room's share has ended",
        err_floor_required: "The host must give this classroom the floor before it can share its screen or document camera",
        err_bad_source: "Sharing failed: this page has no video channel to share on; join the class again and retry",
        record: "Start recording", stopRecord: "Stop recording",
        err_not_allowed: "Your role cannot do that", err_timeout: "The server did not answer the share request; try again", err_rate_limited: "Too many actions; wait a moment" },
});

const q = new URLSearchParams(location.search);
const sessionId = Number(q.get("session"));
const role = q.get("role") || "receiver";
const classroomId = q.get("classroom") ? Number(q.get("classroom")) : null;
const $ = (id) => document.getElementById(id);
const room = new HaiqiaoRoom({ accessToken: token(), sessionId, role, classroomId });
const kiosk = q.get("kiosk") === "1";
const tiles = new Map(); // seat id ("self" for the preview, "share:<seat>:<source>" for a share) → tile element
const quality = {}; // seat id → { level, fps, loss } — read by tests as window.classroomView.quality
const SHARED = ["screen", "document"];
let shareOrder = []; // keys of the shares on now, oldest first: the newest one is shown large
let lastError = null; // { key, vars } of the message shown, so the language switch can translate it
let mic = true, camera = true, raised = false, speaking = null; // raised mirrors the server's seat state
window.haiqiao = room;
window.classroomView = { quality, tiles, shares: () => [...shareOrder] };
document.body.classList.toggle("kiosk", kiosk);

function tile(seatId) {
  let node = tiles.get(seatId);
  if (node) return node;
  node = el("div", { class: "tile", dataset: { seat: seatId } },
    el("video", { autoplay: true, playsinline: true, muted: true }),
    el("div", { class: "badges" }), el("span", { class: "quality", title: "" }), el("span", { class: "label" }),
    el("div", { class: "actions" }));
  if (seatId.startsWith("share:")) node.classList.add("share");
  tiles.set(seatId, node);
  return node;
}

function setVideo(node, stream) {
  const video = node.querySelector("video");
  if (video.srcObject !== stream) video.srcObject = stream;
}

const localShareStreams = new Map(); // local share track → a stream for its preview
function localShareStream(track) {
  if (!localShareStreams.has(track)) localShareStreams.set(track, new MediaStream([track]));
  return localShareStreams.get(track);
}

// The shares on now that this page is sent (or sends): { key, seat, source, self }.
function activeShares() {
  const out = [];
  for (const source of SHARED) if (room.sharing(source)) out.push({ key: `share:self:${source}`, seat: room.seat, source, self: true });
  for (const s of room.seats) {
    if (s.seat === room.seat || !shown(s)) continue;
    for (const source of s.sharing || []) out.push({ key: `share:${s.seat}:${source}`, seat: s.seat, source, self: false });
  }
  return out;
}

function who(seatId) {
  if (seatId === room.seat) return tr.t("me");
  const s = seatInfo(seatId);
  return s ? s.school || s.name : "";
}

function showError(key, vars = {}) {
  lastError = key ? { key, vars } : null;
  const box = $("error");
  box.textContent = key ? tr.t(key, vars) : "";
  box.dataset.code = key || "";
}

// A refusal from the room: its code in the page's words when there are any, else the server's own message.
function showRefusal(detail) {
  if (["stopped", "superseded"].includes(detail?.code)) return; // the page itself withdrew the request
  const key = `err_${detail?.code}`;
  if (detail?.code && tr.t(key) !== key) showError(key);
  else { lastError = null; $("error").textContent = detail?.message || ""; $("error").dataset.code = detail?.code || ""; }
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
  const shares = activeShares();
  const shareKeys = new Set(shares.map((x) => x.key));
  shareOrder = [...shareOrder.filter((k) => shareKeys.has(k)), ...shares.map((x) => x.key).filter((k) => !shareOrder.includes(k))];
  for (const [id, node] of tiles) {
    const gone = id.startsWith("share:") ? !shareKeys.has(id) : id !== "self" && !shown(seatInfo(id));
    if (gone) { node.remove(); tiles.delete(id); }
  }
  for (const s of room.seats) {
    if (s.seat === room.seat || !shown(s)) continue;
    const node = tile(s.seat);
    decorate(node, s);
    setVideo(node, room.remoteStream(s.seat, ["camera", "thumb"]));
  }
  if (room.localStream) decorate(tile("self"), { seat: "self", name: tr.t("self"), role });
  for (const share of shares) {
    const node = tile(share.key);
    node.dataset.source = share.source;
    node.querySelector(".label").textContent = `${who(share.seat)} · ${tr.t(share.source === "screen" ? "screen" : "documentTile")}`;
    setVideo(node, share.self ? localShareStream(room.shares[share.source]) : room.remoteStream(share.seat, share.source));
  }
  // Everyone is told who shares what, from the room's own seat list.
  const told = room.seats.filter((s) => shown(s) || s.seat === room.seat)
    .flatMap((s) => (s.sharing || []).map((source) => tr.t(`sharing_${source}`, { who: who(s.seat) })));
  $("share-banner").hidden = told.length === 0;
  $("share-banner").textContent = told.join("　");
  place();
  renderHands();
  renderShareControls();
  $("mic").textContent = tr.t(mic ? "micOn" : "micOff"); $("mic").classList.toggle("off", !mic);
  $("camera").textContent = tr.t(camera ? "camOn" : "camOff"); $("camera").classList.toggle("off", !camera);
  $("hand").textContent = tr.t(raised ? "lower" : "raise");
  $("leave").textContent = tr.t(role === "host" ? "end" : "leave");
}

function renderShareControls() {
  const screenOn = room.sharing("screen"), documentOn = room.sharing("document");
  $("share-screen").textContent = tr.t(screenOn ? "stopScreen" : "shareScreen");
  $("share-screen").classList.toggle("on", screenOn);
  $("share-document").textContent = tr.t(documentOn ? "stopDocument" : "document");
  $("share-document").classList.toggle("on", documentOn);
  $("doc-device").disabled = documentOn;
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
// While something is shared the newest share takes the stage, the teacher's camera beside it (the host's
// own preview on the host's page); in kiosk mode the share fills the screen, the teacher in a corner.
function place() {
  const hostSeat = room.seats.find((s) => s.role === "host" && s.seat !== room.seat);
  const shareKey = shareOrder.at(-1) || null;
  const stage = $("stage"), strip = $("strip");
  stage.classList.toggle("sharing", Boolean(shareKey));
  document.body.classList.toggle("sharing", Boolean(shareKey));
  $("room").classList.toggle("grid", role === "participant" && !shareKey);
  if (shareKey) {
    const teacher = tiles.get(role === "host" ? "self" : hostSeat?.seat);
    const onStage = [tiles.get(shareKey), teacher].filter(Boolean);
    onStage.forEach((node, i) => node.classList.toggle("companion", i > 0));
    for (const [, node] of tiles) if (!onStage.includes(node) && node.parentElement !== strip) { node.classList.remove("companion"); strip.append(node); }
    const there = [...stage.querySelectorAll(":scope > .tile")];
    if (there.length !== onStage.length || there.some((n, i) => n !== onStage[i])) stage.append(...onStage);
    stage.querySelector(".waiting")?.remove();
    return;
  }
  for (const [, node] of tiles) node.classList.remove("companion");
  let stageSeat = null;
  if (role === "host") stageSeat = room.floor || null;
  else if (role !== "participant") stageSeat = hostSeat?.seat || null;
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
room.addEventListener("error", (e) => showRefusal(e.detail));
room.addEventListener("local", (e) => { tile("self").querySelector("video").srcObject = e.detail; render(); listDocumentCameras(); });
room.addEventListener("track", (e) => {
  if (!e.detail.seat) return;
  if (e.detail.track.kind === "audio") {
    const audio = new Audio(); audio.srcObject = e.detail.stream; audio.play().catch(() => {});
    return;
  }
  render();
});
room.addEventListener("remote", render); // each answer says which seat and source every mid carries
room.addEventListener("share", (e) => {
  if (e.detail.reason === "ended_by_room") showError("shareEnded");
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
    if (s.kind === "video" && !["camera", "thumb"].includes(room.trackSources[s.mid] || "camera")) return; // a share is no camera
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

// 共享屏幕 and 展台: the track goes on the transceiver the page opened for it, then the room is asked.
async function share(source, capture) {
  if (room.sharing(source)) { await room.stopShare(source); render(); return; }
  showError(null);
  let track;
  try { track = (await capture()).getVideoTracks()[0]; } catch (err) { showError("shareFailed", { msg: err.message || String(err) }); return; }
  try { await room.startShare(source, track); } catch (err) { showRefusal(err); }
  render();
}
$("share-screen").onclick = () => share("screen", () => navigator.mediaDevices.getDisplayMedia({ video: { frameRate: 5 }, audio: false }));
$("share-document").onclick = () => {
  const deviceId = $("doc-device").value;
  if (!deviceId && !room.sharing("document")) { showError("noDocCamera"); return; }
  share("document", () => navigator.mediaDevices.getUserMedia({ video: { deviceId: { exact: deviceId }, width: 1280, height: 720 }, audio: false }));
};

// The document camera is any video input but the one the room's camera uses.
async function listDocumentCameras() {
  const cameraId = room.localStream?.getVideoTracks()[0]?.getSettings().deviceId;
  const inputs = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === "videoinput" && d.deviceId && d.deviceId !== cameraId);
  const select = $("doc-device"), chosen = select.value;
  select.replaceChildren(...inputs.map((d, i) => el("option", { value: d.deviceId }, d.label || `${tr.t("docDevice")} ${i + 1}`)));
  if (inputs.some((d) => d.deviceId === chosen)) select.value = chosen;
  select.hidden = inputs.length === 0;
  $("share-document").disabled = inputs.length === 0 && !room.sharing("document");
  $("share-document").title = inputs.length ? "" : tr.t("noDocCamera");
}
navigator.mediaDevices?.addEventListener?.("devicechange", () => listDocumentCameras().catch(() => {}));
$("chat").onsubmit = (ev) => {
  ev.preventDefault();
  const text = $("chat-input").value.trim();
  if (text) room.chat(text);
  $("chat-input").value = "";
};
$("chat-panel").hidden = role === "observer";
$("controls").hidden = role === "observer";
const recording = recordingMark(tr.lang);
room.addEventListener("recording", (e) => { recording.set(e.detail); paintRecordButton(); });
function paintRecordButton() { $("record").textContent = tr.t(room.recording ? "stopRecord" : "record"); }
$("record").onclick = () => room.record(!room.recording);
$("lang").onclick = () => {
  tr.toggle(); $("lang").textContent = tr.lang === "zh" ? "English" : "中文";
  recording.language(tr.lang); paintRecordButton();
  if (lastError) showError(lastError.key, lastError.vars);
  render();
};
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
  // A research session is recorded when its host decides; classes follow their community's policy.
  const me = session.kind === "research" ? await api("/api/v1/me") : null;
  $("record").hidden = !(session.kind === "research" && (role === "host" || me?.id === session.host_teacher_id));
  paintRecordButton();
  if (session.lesson_session_id) {
    const lesson = await api(`/api/v1/sessions/${session.lesson_session_id}`).catch(() => null);
    if (lesson) {
      const link = $("lesson"); link.hidden = false;
      // A lesson already given opens its recording (回放, 观课评课); one to come, its place in the ledger.
      link.href = lesson.status === "ended" ? `/replay?session=${lesson.id}` : `/dashboard?session=${lesson.id}`;
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
