// The login page and 今天和本周的课 (today's and this week's sessions).
import { api, directory, el, fmt, i18n, mountHeader, token } from "/static/common.js";

const tr = i18n({
  zh: { title: "海桥 · 今天的课", user: "登录名", password: "密码", signin: "登录", week: "今天和本周的课",
        join: "进入课堂", watch: "巡课", terminal: "教室终端模式", none: "本周没有课", today: "今天",
        scheduled: "未开始", open: "可进入", live: "上课中", ended: "已结束", missed: "未开课", cancelled: "已取消",
        sync_class: "同步课堂", research: "网络教研" },
  en: { title: "Haiqiao · Today's sessions", user: "Login", password: "Password", signin: "Sign in", week: "Today and this week",
        join: "Join", watch: "Observe", terminal: "Classroom terminal mode", none: "No sessions this week", today: "Today",
        scheduled: "not started", open: "open", live: "live", ended: "ended", missed: "missed", cancelled: "cancelled",
        sync_class: "Synchronous class", research: "Online research" },
});
const next = new URLSearchParams(location.search).get("next");

function roleFor(me, s) {
  if (me.roles.includes("researcher")) return { role: "observer", label: tr.t("watch") };
  if (me.classroom_id === s.host_classroom_id || me.id === s.host_teacher_id) return { role: "host", label: tr.t("join") };
  if (s.kind === "research") return { role: "participant", label: tr.t("join") };
  const own = s.receiver_classroom_ids.find((id) => id === me.classroom_id);
  return { role: "receiver", label: tr.t("join"), classroom: own ?? s.receiver_classroom_ids[0] };
}

async function showToday() {
  const me = await mountHeader({ titleKey: "title", tr, onLanguage: showToday });
  document.getElementById("today").hidden = false;
  const dir = await directory();
  const start = new Date(); start.setHours(0, 0, 0, 0);
  const end = new Date(start); end.setDate(end.getDate() + 7);
  const params = new URLSearchParams({ start: start.toISOString(), end: end.toISOString() });
  if (me.roles.includes("teacher") && !me.classroom_id) params.set("teacher_id", me.id);
  if (me.classroom_id) params.set("classroom_id", me.classroom_id);
  const sessions = await api(`/api/v1/sessions?${params}`);
  const list = document.getElementById("list");
  list.replaceChildren();
  if (me.roles.includes("device")) list.append(el("p", {}, el("a", { href: "/terminal" }, tr.t("terminal"))));
  if (!sessions.length) list.append(el("p", { class: "meta" }, tr.t("none")));
  let lastDay = null;
  for (const s of sessions) {
    const day = fmt(s.start, tr, { weekday: "long", month: "long", day: "numeric" });
    if (day !== lastDay) { list.append(el("div", { class: "day" }, day)); lastDay = day; }
    const hours = `${fmt(s.start, tr, { hour: "2-digit", minute: "2-digit" })}–${fmt(s.end, tr, { hour: "2-digit", minute: "2-digit" })}`;
    // host → receivers: "高亭 → 岱西、长涂" (one arrow: the receivers are not a chain)
    const receivers = s.receiver_classroom_ids.map(dir.schoolOf).join(tr.lang === "zh" ? "、" : ", ");
    const schools = [dir.schoolOf(s.host_classroom_id), ...(receivers ? [receivers] : [])];
    const choice = roleFor(me, s);
    const join = el("button", { disabled: !(s.status === "open" || s.status === "live") }, choice.label);
    join.onclick = () => {
      const q = new URLSearchParams({ session: s.id, role: choice.role });
      if (choice.classroom) q.set("classroom", choice.classroom);
      location.href = `/classroom?${q}`;
    };
    list.append(el("div", { class: "card", dataset: { session: s.id } },
      el("div", {}, el("strong", {}, s.title), el("span", { class: `pill state ${s.status}` }, tr.t(s.status)),
        el("div", { class: "meta" }, `${hours} · ${tr.t(s.kind)} · ${s.subject || ""} · ${schools.join(" → ")}`)),
      join));
  }
}

document.getElementById("login").onsubmit = async (ev) => {
  ev.preventDefault();
  const body = new URLSearchParams({ username: document.getElementById("username").value, password: document.getElementById("password").value });
  const resp = await fetch("/api/v1/auth/token", { method: "POST", body });
  const data = await resp.json();
  if (!resp.ok) { document.getElementById("error").textContent = data.error.message; return; }
  sessionStorage.setItem("haiqiaoToken", data.access_token);
  if (next && next.startsWith("/") && !next.startsWith("//")) { location.href = next; return; }
  document.getElementById("login").hidden = true;
  showToday();
};
if (token()) showToday();
else {
  document.getElementById("login").hidden = false;
  const lang = document.getElementById("lang");
  const label = () => { lang.textContent = tr.lang === "zh" ? "English" : "中文"; tr.apply(); };
  lang.onclick = () => { tr.toggle(); label(); };
  label();
}
