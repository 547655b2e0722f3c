// 运行状态 (/admin, admins only): the processes holding rooms and their load, today's open rooms with who
// is in them, failed jobs and webhooks, the last internal errors with the request id each caller was given.
// Refreshed every ?poll= seconds (default 10).
import { api, el, fmt, i18n, mountHeader } from "/static/common.js";

const tr = i18n({
  zh: { title: "海桥 · 运行状态", refused: "仅管理员可查看运行状态", updated: "更新于 {at}", workers: "工作节点", rooms: "今天开着的课堂",
        jobs: "失败的任务", webhooks: "Webhook 推送", errors: "最近的内部错误", name: "名称", address: "地址", roomsH: "课堂",
        connections: "连接", load: "负载（预计流数）", time: "时间", titleH: "课题", hostSchool: "主讲学校", state: "状态",
        seats: "在线席位", worker: "节点", at: "时间", kind: "类别", job: "任务", errorH: "错误", event: "事件", attempts: "尝试次数",
        next: "下次尝试", request: "请求", requestId: "请求编号", none: "无", thisProcess: "本进程（未用媒体节点）",
        n: "{n} 个", webhookCounts: "待推送 {pending}，已放弃 {failed}", noWorker: "尚无人加入",
        open: "候课中", live: "上课中", pending: "待推送", failed: "已放弃", delivered: "已送达",
        scheduler: "定时任务", lesson_download: "课例下载", report: "统计报表",
        role_host: "主讲端", role_receiver: "听讲端", role_participant: "教研", role_observer: "巡课" },
  en: { title: "Haiqiao · System", refused: "Only administrators may see the system's state", updated: "Updated {at}", workers: "Workers",
        rooms: "Today's open rooms", jobs: "Failed jobs", webhooks: "Webhook deliveries", errors: "Recent internal errors", name: "Name",
        address: "Address", roomsH: "Rooms", connections: "Connections", load: "Load (expected streams)", time: "Time", titleH: "Title",
        hostSchool: "Host school", state: "State", seats: "Seats online", worker: "Worker", at: "At", kind: "Kind", job: "Job",
        errorH: "Error", event: "Event", attempts: "Attempts", next: "Next attempt", request: "Request", requestId: "Request id",
        none: "none", thisProcess: "this process (no media workers)", n: "{n}", webhookCounts: "{pending} pending, {failed} given up",
        noWorker: "nobody joined yet", open: "lobby", live: "live", pending: "pending", failed: "given up", delivered: "delivered",
        scheduler: "scheduled job", lesson_download: "lesson download", report: "report",
        role_host: "host", role_receiver: "classroom", role_participant: "participant", role_observer: "observer" },
});
const $ = (id) => document.getElementById(id);
const poll = Number(new URLSearchParams(location.search).get("poll")) || 10;
let data = null;

function fill(table, rows, columns) {
  const body = $(table).querySelector("tbody");
  if (!rows.length) {
    body.replaceChildren(el("tr", {}, el("td", { class: "empty", colspan: columns }, tr.t("none"))));
    return;
  }
  body.replaceChildren(...rows);
}

function seatsText(seats) {
  return Object.entries(seats).filter(([, n]) => n > 0).map(([role, n]) => `${tr.t(`role_${role}`)} ${n}`).join("、") || "0";
}

function render() {
  if (!data) return;
  $("updated").textContent = tr.t("updated", { at: fmt(data.generated_at, tr, { hour: "2-digit", minute: "2-digit", second: "2-digit" }) });
  $("workers-count").textContent = tr.t("n", { n: data.workers.length });
  fill("workers", data.workers.map((w) => el("tr", { dataset: { worker: w.name } },
    el("td", {}, w.name), el("td", { class: "mono" }, w.url || tr.t("thisProcess")), el("td", {}, w.rooms),
    el("td", {}, w.connections), el("td", {}, w.expected_streams ?? "—"))), 5);
  $("rooms-count").textContent = tr.t("n", { n: data.rooms.length });
  fill("rooms", data.rooms.map((r) => el("tr", { dataset: { session: r.session_id } },
    el("td", {}, `${fmt(r.start, tr, { hour: "2-digit", minute: "2-digit" })}–${fmt(r.end, tr, { hour: "2-digit", minute: "2-digit" })}`),
    el("td", { class: "title" }, r.title), el("td", {}, r.host_school), el("td", {}, el("span", { class: `pill ${r.status}` }, tr.t(r.status))),
    el("td", { class: "seats" }, seatsText(r.seats)), el("td", { class: "worker" }, r.worker ?? tr.t("noWorker")))), 6);
  $("jobs-count").textContent = tr.t("n", { n: data.failed_jobs.length });
  fill("jobs", data.failed_jobs.map((j) => el("tr", {}, el("td", {}, fmt(j.at, tr)), el("td", {}, tr.t(j.kind)),
    el("td", { class: "mono" }, j.name), el("td", { class: "error" }, j.error))), 4);
  $("webhooks-count").textContent = tr.t("webhookCounts", data.webhooks);
  fill("webhooks", data.webhooks.recent.map((d) => el("tr", {}, el("td", {}, d.event_type), el("td", {}, tr.t(d.state)),
    el("td", {}, d.attempts), el("td", {}, d.state === "pending" ? fmt(d.next_attempt_at, tr) : "—"),
    el("td", { class: "error" }, [d.last_status_code, d.last_error].filter((x) => x !== null && x !== "").join(" ")))), 5);
  $("errors-count").textContent = tr.t("n", { n: data.errors.length });
  fill("errors", data.errors.map((e) => el("tr", {}, el("td", {}, fmt(e.at, tr)), el("td", { class: "mono" }, `${e.method} ${e.path}`),
    el("td", { class: "mono request-id" }, e.request_id), el("td", { class: "error" }, e.error))), 4);
}

async function load() {
  try {
    data = await api("/api/v1/admin/overview");
    $("error").textContent = "";
    $("overview").hidden = false;
    render();
  } catch (err) {
    if (err.status === 403) { $("refused").hidden = false; $("overview").hidden = true; return false; }
    $("error").textContent = err.message || String(err);
  }
  return true;
}

await mountHeader({ titleKey: "title", tr, onLanguage: render });
if (await load()) setInterval(load, poll * 1000);
