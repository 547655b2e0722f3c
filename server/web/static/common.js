// Haiqiao 海桥 — what every page shares: the API call, the zh-CN/English switch, the header, the login guard.

export class ApiError extends Error {
  constructor(status, error) {
    super(error?.message || `HTTP ${status}`);
    Object.assign(this, { status, code: error?.code || "http_error", details: error?.details });
  }
}

export function token() { return sessionStorage.getItem("haiqiaoToken"); }

// JSON in, JSON out; a 4xx/5xx becomes an ApiError carrying the server's machine-readable code.
export async function api(path, { method = "GET", body, raw = false } = {}) {
  const headers = { Authorization: `Bearer ${token()}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const resp = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (resp.status === 401) { sessionStorage.removeItem("haiqiaoToken"); toLogin(); throw new ApiError(401, { code: "unauthenticated" }); }
  if (raw) { if (!resp.ok) throw new ApiError(resp.status, (await resp.json()).error); return resp; }
  const data = resp.status === 204 ? null : await resp.json();
  if (!resp.ok) throw new ApiError(resp.status, data?.error);
  return data;
}

function toLogin() { location.href = `/?next=${encodeURIComponent(location.pathname + location.search)}`; }

// The dictionaries are per page; a key missing in English falls back to Chinese, then to the key.
export function i18n(dict) {
  const state = { lang: localStorage.getItem("haiqiaoLang") === "en" ? "en" : "zh" };
  const t = (key, vars = {}) => {
    let text = dict[state.lang]?.[key] ?? dict.zh?.[key] ?? key;
    for (const [k, v] of Object.entries(vars)) text = text.replaceAll(`{${k}}`, v);
    return text;
  };
  const apply = () => {
    document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
    document.querySelectorAll("[data-i18n-placeholder]").forEach((el) => { el.placeholder = t(el.dataset.i18nPlaceholder); });
    document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
  };
  const toggle = () => { state.lang = state.lang === "zh" ? "en" : "zh"; localStorage.setItem("haiqiaoLang", state.lang); apply(); };
  return { t, apply, toggle, get lang() { return state.lang; }, get locale() { return state.lang === "zh" ? "zh-CN" : "en"; } };
}

const NAV = [
  { href: "/", zh: "今天的课", en: "Today", roles: null },
  { href: "/patrol", zh: "巡课", en: "Patrol", roles: ["researcher", "admin"] },
  { href: "/library", zh: "研修资源库", en: "Recorded lessons", roles: null },
  { href: "/console", zh: "排课", en: "Scheduling", roles: ["scheduler", "admin"] },
  { href: "/dashboard", zh: "年度任务", en: "Quotas", roles: ["scheduler", "admin", "researcher", "teacher"] },
  { href: "/admin", zh: "运行状态", en: "System", roles: ["admin"] },
];

// Fills <header class="bar"> with title, the pages this user may open, name, language switch and sign-out.
// Resolves to /api/v1/me; sends the visitor to the login page when there is no token.
export async function mountHeader({ titleKey, tr, onLanguage = () => {} }) {
  if (!token()) { toLogin(); return new Promise(() => {}); }
  const me = await api("/api/v1/me");
  const header = document.querySelector("header.bar");
  header.innerHTML = `<h1 data-i18n="${titleKey}"></h1><nav></nav><div class="who"><span class="name"></span>
    <button class="quiet" id="lang"></button><button class="quiet" id="logout"></button></div>`;
  header.querySelector(".name").textContent = me.name;
  const render = () => {
    const nav = header.querySelector("nav");
    nav.innerHTML = "";
    for (const item of NAV) {
      if (item.roles && !item.roles.some((r) => me.roles.includes(r))) continue;
      const a = document.createElement("a");
      a.href = item.href; a.textContent = item[tr.lang];
      if (location.pathname === item.href) a.className = "here";
      nav.append(a);
    }
    header.querySelector("#lang").textContent = tr.lang === "zh" ? "English" : "中文";
    header.querySelector("#logout").textContent = tr.lang === "zh" ? "退出" : "Sign out";
    tr.apply();
  };
  header.querySelector("#lang").onclick = () => { tr.toggle(); render(); onLanguage(); };
  header.querySelector("#logout").onclick = () => { sessionStorage.removeItem("haiqiaoToken"); location.href = "/"; };
  render();
  return me;
}

// The one time zone the pages show (the server stores UTC and shows the same zone: server/timefmt.py).
export const ZONE = "Asia/Shanghai";
export function fmt(iso, tr, options = { month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit" }) {
  return new Date(iso).toLocaleString(tr.locale, { timeZone: ZONE, ...options });
}

// Small DOM builder: el("div", {class: "card"}, "text", child) — text is set as text, never parsed as HTML.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(node.dataset, v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== undefined && c !== null) node.append(c instanceof Node ? c : String(c));
  return node;
}

// Names for ids: schools and their classrooms, fetched once per page (a county has tens of schools, not thousands).
let directoryPromise = null;
export function directory() {
  directoryPromise ??= (async () => {
    const schools = await api("/api/v1/schools");
    const rooms = await Promise.all(schools.map((s) => api(`/api/v1/schools/${s.id}/classrooms`)));
    const schoolById = new Map(schools.map((s) => [s.id, s]));
    const classroomById = new Map(rooms.flat().map((c) => [c.id, { ...c, school: schoolById.get(c.school_id) }]));
    return {
      schools: schoolById,
      classrooms: classroomById,
      schoolOf: (classroomId) => classroomById.get(classroomId)?.school?.name ?? `#${classroomId}`,
    };
  })();
  return directoryPromise;
}
