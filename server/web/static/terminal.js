// Classroom terminal (kiosk): shows the room's next session and joins it by itself when it opens.
// /terminal?poll=SECONDS (default 15)&spread=SECONDS (default 20). The classroom page, opened with kiosk=1, comes back here when the class ends.
// In class (classroom.html?kiosk=1) a screen or document-camera share fills the terminal's screen, the teacher
// picture-in-picture in a corner, for as long as the share is on (classroom.css, body.kiosk.sharing).
import { ZONE, api, directory, fmt, i18n, token } from "/static/common.js";

const tr = i18n({
  zh: { next: "下一节", later: "之后的课", none: "暂无安排的课", startsIn: "{m} 分钟后开始", startsAt: "{t} 开始",
        joining: "课堂已开放，正在自动进入…", noRoom: "此账号不是教室终端，请用教室终端账号登录",
        host: "本教室主讲", receiver: "本教室听讲", sync_class: "同步课堂", research: "网络教研" },
  en: { next: "Next", later: "Later", none: "Nothing scheduled", startsIn: "starts in {m} min", startsAt: "starts {t}",
        joining: "The class is open — joining…", noRoom: "This login is not a classroom terminal",
        host: "this room teaches", receiver: "this room receives", sync_class: "Synchronous class", research: "Online research" },
});
const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const poll = Number(params.get("poll") || 15);
// A county's bell opens every class at once: a receiving classroom joins at a random moment within
// `spread` seconds (default 20) so forty terminals do not knock in the same second. The host's room joins at once.
const spread = Math.max(0, Number(params.get("spread") ?? 20));
let joining = null;
// Sessions this terminal already attended and left: never rejoined, even while still "live" for others.
const done = new Set(JSON.parse(sessionStorage.getItem("haiqiaoKioskDone") || "[]"));
let me = null, sessions = [];

function tick() {
  $("clock").textContent = new Date().toLocaleTimeString(tr.locale, { timeZone: ZONE, hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

async function refresh() {
  const start = new Date(Date.now() - 3 * 3600e3), end = new Date(Date.now() + 7 * 86400e3);
  const params = new URLSearchParams({ classroom_id: me.classroom_id, start: start.toISOString(), end: end.toISOString() });
  sessions = (await api(`/api/v1/sessions?${params}`)).filter((s) => !["ended", "missed", "cancelled"].includes(s.status) && !done.has(s.id));
  const joinable = sessions.find((s) => s.status === "open" || s.status === "live");
  if (joinable) return joinSoon(joinable);
  await render();
}

function joinSoon(s) {
  $("countdown").textContent = tr.t("joining"); $("countdown").className = "joining";
  if (joining) return;
  const delay = s.host_classroom_id === me.classroom_id ? 0 : Math.random() * spread * 1000;
  joining = setTimeout(() => join(s), delay);
}

function join(s) {
  const role = s.host_classroom_id === me.classroom_id ? "host" : "receiver";
  const q = new URLSearchParams({ session: s.id, role, classroom: me.classroom_id, kiosk: "1", poll, spread });
  location.href = `/classroom?${q}`;
}

async function render() {
  const dir = await directory();
  const room = dir.classrooms.get(me.classroom_id);
  $("room-name").textContent = room ? `${room.school.name} · ${room.name}` : me.name;
  const [next, ...later] = sessions;
  if (!next) {
    $("next-title").textContent = tr.t("none"); $("next-meta").textContent = ""; $("countdown").textContent = "";
  } else {
    const schools = [dir.schoolOf(next.host_classroom_id), ...next.receiver_classroom_ids.map(dir.schoolOf)].join(" → ");
    const hours = `${fmt(next.start, tr, { weekday: "short", hour: "2-digit", minute: "2-digit" })}–${fmt(next.end, tr, { hour: "2-digit", minute: "2-digit" })}`;
    $("next-title").textContent = next.title;
    $("next-meta").textContent = `${hours} · ${tr.t(next.kind)} · ${next.subject} · ${schools} · ${tr.t(next.host_classroom_id === me.classroom_id ? "host" : "receiver")}`;
    const minutes = Math.ceil((Date.parse(next.start) - Date.now()) / 60000);
    $("countdown").className = "";
    $("countdown").textContent = minutes <= 120 ? tr.t("startsIn", { m: minutes }) : tr.t("startsAt", { t: fmt(next.start, tr) });
  }
  $("later-list").replaceChildren(...later.slice(0, 5).map((s) => {
    const row = document.createElement("div"); row.className = "row";
    const time = document.createElement("span"); time.className = "time"; time.textContent = fmt(s.start, tr, { weekday: "short", hour: "2-digit", minute: "2-digit" });
    const title = document.createElement("span"); title.textContent = `${s.title} · ${s.subject}`;
    row.append(time, title); return row;
  }));
}

$("lang").onclick = () => { tr.toggle(); $("lang").textContent = tr.lang === "zh" ? "English" : "中文"; render(); };
$("lang").textContent = tr.lang === "zh" ? "English" : "中文";
tr.apply(); tick(); setInterval(tick, 1000);
if (!token()) location.href = "/?next=/terminal";
else {
  me = await api("/api/v1/me");
  if (!me.classroom_id) $("error").textContent = tr.t("noRoom");
  else {
    const loop = () => refresh().catch((err) => { $("error").textContent = err.message; });
    loop(); setInterval(loop, poll * 1000);
  }
}
