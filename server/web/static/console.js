// 排课 console: the week view per community or school, new weekly series with conflicts checked before
// saving, changes to one session (edit, reschedule, cancel) and typhoon closures with make-up suggestions.
import { api, directory, mountHeader } from "/static/common.js";
import { tr, t } from "/static/console-i18n.js";
import { $, addDays, mondayOf, todayLocal, errorWords, S, showTab } from "/static/console-core.js";
import { onSessionPick, fillScope, loadWeek, renderWeek } from "/static/console-week.js";
import { fillSeriesForm, renderCheck, updateSaveState, bindSeriesForm } from "/static/console-series.js";
import { showSession, renderSession } from "/static/console-session.js";
import { fillClosureForm, renderClosure, bindClosureForm } from "/static/console-closure.js";

// ---- start
function relabel() {
  fillScope();
  fillSeriesForm();
  fillClosureForm();
  renderCheck();
  renderClosure();
  updateSaveState();
  renderWeek();
  if (S.selected && S.known.has(S.selected) && !$("session-panel").hidden) renderSession(S.known.get(S.selected));
}

async function start() {
  S.me = await mountHeader({ titleKey: "title", tr, onLanguage: () => { if (S.dir) relabel(); } });
  S.canPlan = S.me.roles.some((r) => ["scheduler", "admin"].includes(r));
  if (!S.canPlan) { $("notice").textContent = t("notScheduler"); $("notice").classList.remove("hidden"); }
  try {
    const [dir, communities, people, terms, holidays] = await Promise.all([
      directory(), api("/api/v1/communities"), api("/api/v1/people"), api("/api/v1/terms"),
      api("/api/v1/holidays").catch(() => []),
    ]);
    Object.assign(S, { dir, communities, terms, holidays });
    S.people = new Map(people.map((p) => [p.id, p]));
  } catch (e) {
    $("error").textContent = t("loadError", { message: errorWords(e) });
    return;
  }
  const q = new URLSearchParams(location.search);
  if (q.get("school")) S.scope = { type: "school", id: Number(q.get("school")) };
  else S.scope = { type: "community", id: Number(q.get("community")) || S.communities[0]?.id };
  if (/^\d{4}-\d{2}-\d{2}$/.test(q.get("week") || "")) S.week = mondayOf(q.get("week"));
  fillScope();
  fillSeriesForm();
  fillClosureForm();

  $("scope").onchange = () => {
    const [type, id] = $("scope").value.split(":");
    S.scope = { type, id: Number(id) };
    loadWeek();
  };
  $("prev").onclick = () => { S.week = addDays(S.week, -7); loadWeek(); };
  $("next").onclick = () => { S.week = addDays(S.week, 7); loadWeek(); };
  $("this-week").onclick = () => { S.week = mondayOf(todayLocal()); loadWeek(); };
  $("tab-series").onclick = () => showTab("series");
  $("tab-session").onclick = () => showTab("session");
  $("tab-closure").onclick = () => { fillClosureForm(); showTab("closure"); };

  bindSeriesForm();
  bindClosureForm();

  await loadWeek();
}

onSessionPick(showSession);
start();
