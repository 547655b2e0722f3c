// 研修资源库: the recorded lessons the caller may watch (GET /api/v1/recordings), filtered by community,
// subject, grade, teacher, school, dates and 优课; each card opens /replay?session=ID. The filters live in
// the address (?subject=数学&…), so a filtered list can be shared and survives a reload.
import { api, directory, el, fmt, i18n, mountHeader } from "/static/common.js";

const tr = i18n({
  zh: { title: "海桥 · 研修资源库", community: "教共体", subject: "学科", grade: "年级", teacher: "主讲教师", school: "主讲学校",
        from: "从", to: "到", featuredOnly: "仅看优课", reset: "清除筛选", all: "全部", empty: "没有符合条件的课堂录像",
        more: "加载更多", count: "共 {n} 节", countMore: "已显示 {n} 节", gradeN: "{n} 年级", featured: "优课",
        views: "点播 {n} 次", duration: "时长 {d}", minutes: "{m} 分钟", seconds: "{s} 秒", tracks: "{n} 路画面与声音",
        sync_class: "同步课堂", dedicated_class: "专递课堂", master_class: "名师课堂", research: "网络教研" },
  en: { title: "Haiqiao · Recorded lessons", community: "Community", subject: "Subject", grade: "Grade", teacher: "Teacher", school: "Host school",
        from: "From", to: "To", featuredOnly: "Featured only", reset: "Clear filters", all: "All", empty: "No recorded lesson matches",
        more: "Load more", count: "Lessons: {n}", countMore: "Lessons shown: {n}", gradeN: "Grade {n}", featured: "Featured",
        views: "{n} views", duration: "{d}", minutes: "{m} min", seconds: "{s} s", tracks: "{n} tracks",
        sync_class: "Synchronous class", dedicated_class: "Dedicated class", master_class: "Master class", research: "Online research" },
});
const $ = (id) => document.getElementById(id);
const PAGE = 50;
const SUBJECTS = ["语文", "数学", "英语", "科学", "道德与法治", "音乐", "美术", "体育", "信息科技", "劳动", "综合实践"];
const FIELDS = { community: "community_id", subject: "subject", grade: "grade", teacher: "teacher_id", school: "school_id", from: "date_from", to: "date_to" };
let items = [], offset = 0, full = false, loading = 0;

function fail(err) { $("error").textContent = err.message || String(err); }

function options(select, entries) {
  const keep = select.value || select.dataset.wanted || "";
  select.replaceChildren(el("option", { value: "" }, tr.t("all")), ...entries.map(([value, label]) => el("option", { value }, label)));
  if ([...select.options].some((o) => o.value === keep)) select.value = keep;
}

async function fillFilters() {
  options($("subject"), SUBJECTS.map((s) => [s, s]));
  options($("grade"), Array.from({ length: 12 }, (_, i) => [String(i + 1), tr.t("gradeN", { n: i + 1 })]));
  // What the caller may read: a terminal or a teacher sees fewer; a refused list leaves its filter at 全部.
  const [communities, dir, people] = await Promise.all([
    api("/api/v1/communities").catch(() => []),
    directory().catch(() => null),
    api("/api/v1/people").catch(() => []),
  ]);
  options($("community"), communities.map((c) => [String(c.id), c.name]));
  options($("school"), dir ? [...dir.schools.values()].map((s) => [String(s.id), s.name]) : []);
  const teachers = people.filter((p) => p.roles.includes("teacher") && p.active !== false);
  options($("teacher"), teachers.map((p) => [String(p.id), dir?.schools.get(p.school_id) ? `${p.name}（${dir.schools.get(p.school_id).name}）` : p.name]));
}

function readAddress() {
  const params = new URLSearchParams(location.search);
  for (const [id, key] of Object.entries(FIELDS)) {
    const v = params.get(key) || "";
    $(id).value = v; $(id).dataset.wanted = v;
  }
  $("featured").checked = params.get("featured") === "true";
}

function query() {
  const params = new URLSearchParams();
  for (const [id, key] of Object.entries(FIELDS)) if ($(id).value) params.set(key, $(id).value);
  if ($("featured").checked) params.set("featured", "true");
  return params;
}

async function load(more = false) {
  const mine = ++loading;
  const params = query();
  history.replaceState(null, "", params.toString() ? `?${params}` : location.pathname);
  if (!more) { offset = 0; items = []; }
  params.set("limit", String(PAGE)); params.set("offset", String(offset));
  $("error").textContent = "";
  const page = await api(`/api/v1/recordings?${params}`);
  if (mine !== loading) return; // a newer filter was chosen meanwhile
  items = items.concat(page); offset += page.length; full = page.length < PAGE;
  render();
}

function duration(ms) {
  const s = Math.round(ms / 1000);
  if (s < 60) return tr.t("seconds", { s });
  return tr.t("minutes", { m: Math.round(s / 60) });
}

function card(item) {
  const when = fmt(item.start, tr, { year: "numeric", month: "numeric", day: "numeric", weekday: "short", hour: "2-digit", minute: "2-digit" });
  return el("a", { class: "card lesson", href: `/replay?session=${item.session_id}`, dataset: { session: item.session_id } },
    el("h2", {}, el("span", { class: "title" }, item.title), item.featured ? el("span", { class: "pill featured" }, tr.t("featured")) : null),
    el("div", { class: "tags" },
      el("span", { class: "pill subject" }, item.subject),
      item.grade ? el("span", { class: "pill" }, tr.t("gradeN", { n: item.grade })) : null,
      el("span", { class: "pill" }, tr.t(item.kind))),
    el("div", { class: "meta" }, `${item.teacher_name} · ${item.school_name}`),
    el("div", { class: "meta" }, item.community_name),
    el("div", { class: "meta facts" },
      el("span", { class: "when" }, when),
      el("span", { class: "duration" }, tr.t("duration", { d: duration(item.duration_ms) })),
      el("span", { class: "views" }, tr.t("views", { n: item.views }))));
}

function render() {
  $("lessons").replaceChildren(...items.map(card));
  $("empty").hidden = items.length > 0;
  $("more").hidden = full;
  $("count").textContent = items.length ? tr.t(full ? "count" : "countMore", { n: items.length }) : "";
}

async function main() {
  await mountHeader({ titleKey: "title", tr, onLanguage: () => { fillFilters().catch(fail); render(); } });
  readAddress();
  await fillFilters();
  for (const id of [...Object.keys(FIELDS), "featured"]) $(id).addEventListener("change", () => load().catch(fail));
  $("reset").addEventListener("click", () => {
    for (const id of Object.keys(FIELDS)) { $(id).value = ""; $(id).dataset.wanted = ""; }
    $("featured").checked = false;
    load().catch(fail);
  });
  $("more").addEventListener("click", () => load(true).catch(fail));
  await load();
}

main().catch(fail);
