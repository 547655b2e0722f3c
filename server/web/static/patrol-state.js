// Shared by the 巡课 modules: the query parameters (see patrol.js) and what the page knows.

export const q = new URLSearchParams(location.search);
const positive = (name, fallback) => (Number(q.get(name)) > 0 ? Number(q.get(name)) : fallback);
export const ST_INTERVAL = positive("st_interval", 30); // seconds between S-T samples (the method's 30 s)
export const REFRESH = positive("refresh", 10); // seconds between list refreshes
export const $ = (id) => document.getElementById(id);

export const state = {
  me: null,
  dir: null,
  sessions: [], // the last /patrol/live answer
  details: new Map(), // session id → GET /sessions/{id} (for the host classroom)
  people: new Map(), // person id → person
  communities: new Map(), // community id → community
  updated: null,
  watching: null, // session id shown full-size
  ended: false,
  lastWatched: null, // the watched session as last listed live (kept once it has ended)
};
