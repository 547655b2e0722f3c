// Quota dashboard (年度任务): each community's counters against its year's quota, the pace line, and the
// sessions behind every number with the held verdict's reason. /dashboard?session=ID opens one session.
import { api, directory, el, fmt, i18n, mountHeader } from "/static/common.js";

const tr = i18n({
  zh: { title: "海桥 · 年度任务", year: "年度", xlsx: "生成 Excel 报表", reportQueued: "排队中…", reportProgress: "已完成 {done} / {total}",
        reportReady: "下载报表", reportFailed: "报表生成失败：{error}", show: "显示", date: "日期", kindH: "课型", titleH: "课题",
        subjectH: "学科", countedH: "是否计入", reasonH: "依据", coverage: "教共体覆盖 {covered}/{schools} 所学校，乡村学校 {rural}/{ruralAll}",
        held: "已开课", scheduled: "待开课", pending: "待判定", missed: "未开课", cancelled: "已取消", required: "要求",
        expected: "按进度应完成 {n}", met: "已完成", on_track: "进度正常", at_risk: "有风险", behind: "落后",
        subjects: "学科：{list}", needSubjects: "（至少 {n} 门）", details: "查看明细", views: "录像点播 {n} 次", all: "全部", not_held: "未计入",
        counted_held: "计入", counted_not_held: "未计入", counted_pending: "待判定", counted_scheduled: "待开课", counted_cancelled: "已取消", counted_outside: "非本教共体",
        sync_class: "同步课堂", research: "网络教研", ledgerOf: "{name} · {year} 年明细", seats: "出勤", minutes: "{m} 分钟",
        verdict: "判定", corrected: "（已人工更正）", correct: "更正判定", countIt: "计为已开课", dontCount: "不计入",
        why: "更正理由（必填）", corrections: "更正记录", by: "{who} 于 {at}：{before} → {after}，理由：{reason}",
        yes: "计入", no: "不计入", role_host: "主讲端", role_receiver: "听讲端", role_participant: "教研", role_observer: "巡课", headcounts: "听课人数", noVerdict: "课程尚未结束，暂无判定", cancelReason: "取消原因：{r}", none: "无" },
  en: { title: "Haiqiao · Annual quotas", year: "Year", xlsx: "Make the Excel report", reportQueued: "Queued…", reportProgress: "{done} of {total} done",
        reportReady: "Download the report", reportFailed: "The report failed: {error}", show: "Show", date: "Date", kindH: "Kind", titleH: "Title",
        subjectH: "Subject", countedH: "Counted", reasonH: "Reason", coverage: "Communities cover {covered}/{schools} schools, rural {rural}/{ruralAll}",
        held: "held", scheduled: "to come", pending: "pending", missed: "missed", cancelled: "cancelled", required: "required",
        expected: "{n} expected by today", met: "met", on_track: "on track", at_risk: "at risk", behind: "behind",
        subjects: "Subjects: {list}", needSubjects: " (at least {n})", details: "Sessions", views: "Recorded lessons watched {n} times", all: "All", not_held: "not counted",
        counted_held: "counted", counted_not_held: "not counted", counted_pending: "pending", counted_scheduled: "to come", counted_cancelled: "cancelled", counted_outside: "outside the community",
        sync_class: "Synchronous class", research: "Online research", ledgerOf: "{name} · {year}", seats: "Attendance", minutes: "{m} min",
        verdict: "Verdict", corrected: " (corrected)", correct: "Correct the verdict", countIt: "Count as held", dontCount: "Do not count",
        why: "Reason (required)", corrections: "Corrections", by: "{who} at {at}: {before} → {after}, because: {reason}",
        yes: "counted", no: "not counted", role_host: "host", role_receiver: "classroom", role_participant: "participant", role_observer: "observer", headcounts: "Pupils", noVerdict: "Not over yet: no verdict", cancelReason: "Cancelled: {r}", none: "none" },
});
const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
let views = new Map(); // community id → 点播 this year
let reportJob = null; // the county report's job, as last polled
let me, year = Number(params.get("year")) || new Date().getFullYear(), quotas = [], ledgerRows = [], ledgerOf = null;

function fail(err) { $("error").textContent = err.message || String(err); }

async function load() {
  $("error").textContent = "";
  quotas = await api(`/api/v1/quotas?year=${year}`);
  // 点播 beside the live sessions: how often each community's recorded lessons were watched this year.
  views = new Map((await api(`/api/v1/recordings/views?year=${year}`).catch(() => [])).map((v) => [v.community_id, v.views]));
  const cov = await api("/api/v1/coverage");
  $("coverage").textContent = tr.t("coverage", { covered: cov.covered, schools: cov.schools, rural: cov.rural_covered, ruralAll: cov.rural_schools });
  renderCommunities();
  if (ledgerOf) await openLedger(ledgerOf);
}

function renderCommunities() {
  $("communities").replaceChildren(...quotas.map((q) => el("section", { class: "card community", dataset: { community: q.community_id } },
    el("h2", {}, q.community, el("button", { class: "quiet details", onclick: () => openLedger(q.community_id).catch(fail) }, tr.t("details"))),
    el("p", { class: "views" }, el("a", { href: `/library?community_id=${q.community_id}` }, tr.t("views", { n: views.get(q.community_id) || 0 }))),
    ...q.rules.map(ruleView))));
}

function ruleView(r) {
  const share = r.required ? Math.min(1, r.held / r.required) : 1;
  const paceAt = r.required ? Math.min(1, r.expected_by_today / r.required) : 0;
  const reasons = Object.entries(r.cancelled_by_reason).map(([k, v]) => `${k} ${v}`).join("、");
  return el("div", { class: "rule", dataset: { rule: r.rule } },
    el("div", {}, el("span", { class: "name" }, r.rule), " ", el("span", { class: `pill ${r.pace}` }, tr.t(r.pace))),
    el("div", { class: "bar", title: `${r.held}/${r.required}` },
      el("div", { class: `fill ${r.pace}`, style: `width:${(share * 100).toFixed(1)}%` }),
      el("div", { class: "pace", style: `left:${(paceAt * 100).toFixed(1)}%` }, el("span", {}, tr.t("expected", { n: r.expected_by_today })))),
    el("div", { class: "counts" },
      el("span", { class: "held" }, tr.t("held"), " ", el("b", {}, `${r.held}/${r.required}`), ` ${r.unit}`),
      el("span", {}, tr.t("scheduled"), " ", el("b", {}, r.scheduled)),
      el("span", {}, tr.t("pending"), " ", el("b", {}, r.pending)),
      el("span", { class: "missed" }, tr.t("missed"), " ", el("b", {}, r.missed)),
      el("span", { class: "cancelled", title: reasons }, tr.t("cancelled"), " ", el("b", {}, r.cancelled), reasons ? `（${reasons}）` : ""),
      el("span", {}, tr.t("subjects", { list: r.subjects.join("、") || tr.t("none") }), r.min_subjects ? tr.t("needSubjects", { n: r.min_subjects }) : "")));
}

async function openLedger(communityId) {
  ledgerOf = communityId;
  ledgerRows = await api(`/api/v1/quotas/${communityId}/sessions?year=${year}`);
  const q = quotas.find((x) => x.community_id === communityId);
  $("ledger-title").textContent = tr.t("ledgerOf", { name: q?.community || "", year });
  $("ledger-panel").hidden = false;
  renderLedger();
  $("ledger-panel").scrollIntoView({ block: "start" });
}

function renderLedger() {
  const filter = $("ledger-filter").value || "all";
  const rows = ledgerRows.filter((r) => filter === "all" || r.counted === filter);
  $("ledger").tBodies[0].replaceChildren(...rows.map((r) => el("tr", { class: r.counted, dataset: { session: r.session_id }, onclick: () => openSession(r.session_id).catch(fail) },
    el("td", {}, fmt(r.start, tr)), el("td", {}, tr.t(r.kind)), el("td", {}, r.title), el("td", {}, r.subject),
    el("td", { class: "counted" }, tr.t(`counted_${r.counted}`), r.corrected ? tr.t("corrected") : ""),
    el("td", {}, tr.lang === "zh" ? r.reason : r.reason_en))));
}

async function openSession(sessionId) {
  const [session, att, dir] = await Promise.all([api(`/api/v1/sessions/${sessionId}`), api(`/api/v1/sessions/${sessionId}/attendance`), directory()]);
  // A classroom is known by its school ("衢山初级中学 互动教室"); a person by name.
  const seatName = (s) => (s.kind === "classroom" && dir.classrooms.get(s.id) ? `${dir.classrooms.get(s.id).school.name} ${s.name}` : s.name);
  const box = $("detail");
  box.hidden = false;
  const v = att.verdict;
  const parts = [
    el("h2", {}, `${session.title} · ${fmt(session.start, tr)}`),
    el("p", { class: "verdict" }, el("b", {}, tr.t("verdict"), "："),
      v ? `${v.held ? tr.t("yes") : tr.t("no")} — ${tr.lang === "zh" ? v.reason : v.reason_en}${v.corrected ? tr.t("corrected") : ""}`
        : session.status === "cancelled" ? tr.t("cancelReason", { r: session.status_reason || "" }) : tr.t("noVerdict")),
    el("h3", {}, tr.t("seats")),
    ...att.seats.map((s) => el("div", { class: "seat" }, `${seatName(s)}（${tr.t(`role_${s.role}`)}）`, " ", tr.t("minutes", { m: s.minutes }), " · ",
      s.intervals.map((i) => `${fmt(i.start, tr, { hour: "2-digit", minute: "2-digit" })}–${fmt(i.end, tr, { hour: "2-digit", minute: "2-digit" })}`).join("，"))),
  ];
  if (Object.keys(att.headcounts).length) parts.push(el("p", {}, tr.t("headcounts"), "：", Object.values(att.headcounts).join(" / ")));
  if (att.corrections.length) {
    parts.push(el("h3", {}, tr.t("corrections")), ...att.corrections.map((c) => el("div", { class: "seat" },
      tr.t("by", { who: `#${c.corrected_by}`, at: fmt(c.corrected_at, tr), before: tr.t(c.held_before ? "yes" : "no"), after: tr.t(c.held ? "yes" : "no"), reason: c.reason }))));
  }
  if (v && me.roles.includes("scheduler")) {
    const reason = el("input", { type: "text", id: "correct-reason", placeholder: tr.t("why") });
    const send = async (held) => {
      await api(`/api/v1/sessions/${sessionId}/verdict`, { method: "POST", body: { held, reason: reason.value } });
      await load(); await openSession(sessionId);
    };
    parts.push(el("h3", {}, tr.t("correct")), el("div", { id: "correct" }, reason,
      el("button", { onclick: () => send(true).catch(fail) }, tr.t("countIt")),
      el("button", { class: "danger", onclick: () => send(false).catch(fail) }, tr.t("dontCount"))));
  }
  box.replaceChildren(...parts);
  box.scrollIntoView({ block: "start" });
}

// The report of every community the caller reads is made by a job on the server (a province's takes a
// while): its progress here, then a link to the file. Asking again while it runs joins the same job.
async function makeReport() {
  $("xlsx").disabled = true;
  try {
    reportJob = await api("/api/v1/reports/quotas/jobs", { method: "POST", body: { year, format: "xlsx" } });
    showReport();
    while (reportJob.state === "queued" || reportJob.state === "running") {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      reportJob = await api(`/api/v1/reports/jobs/${reportJob.id}`);
      showReport();
    }
  } finally {
    $("xlsx").disabled = false;
  }
}

function showReport() {
  if (!reportJob) return;
  const job = reportJob;
  $("report").hidden = false;
  $("report-bar").max = Math.max(1, job.total);
  $("report-bar").value = job.done;
  $("report-text").textContent = job.state === "failed" ? tr.t("reportFailed", { error: job.error })
    : job.total ? tr.t("reportProgress", { done: job.done, total: job.total }) : tr.t("reportQueued");
  $("report-text").className = job.state === "failed" ? "error" : "";
  const link = $("report-link");
  link.hidden = job.state !== "done";
  if (job.state === "done") { link.href = job.url; link.download = `海桥-年度任务-${job.year}.xlsx`; link.textContent = tr.t("reportReady"); }
}

function fillSelects() {
  const now = new Date().getFullYear();
  $("year").replaceChildren(...[now + 1, now, now - 1, now - 2].map((y) => el("option", { value: y, selected: y === year }, y)));
  const current = $("ledger-filter").value || "all";
  $("ledger-filter").replaceChildren(...["all", "held", "not_held", "pending", "scheduled", "cancelled"].map((k) =>
    el("option", { value: k, selected: k === current }, k === "all" ? tr.t("all") : tr.t(`counted_${k}`))));
}

me = await mountHeader({ titleKey: "title", tr, onLanguage: () => { fillSelects(); renderCommunities(); showReport(); if (ledgerOf) renderLedger(); } });
fillSelects();
$("year").onchange = () => { year = Number($("year").value); load().catch(fail); };
$("ledger-filter").onchange = renderLedger;
$("xlsx").onclick = () => makeReport().catch(fail);
await load().catch(fail);
if (params.get("session")) {
  const session = await api(`/api/v1/sessions/${params.get("session")}`).catch(fail);
  if (session) { await openLedger(session.community_id).catch(fail); await openSession(session.id).catch(fail); }
}
