// The synchronised player of a recorded lesson: one media element per track, each placed at its offset_ms
// on the common timeline. The host camera (the `master` track) is the clock while it plays; before it
// starts, after it ends or while it loads a wall clock stands in. Every SYNC_MS each element is checked
// against the clock and moved when it drifted more than DRIFT_S.
import { el } from "/static/common.js";
import { tr } from "/static/replay-i18n.js";

const SYNC_MS = 500;
const DRIFT_S = 0.3;
const SHARES = new Set(["screen", "document"]);

export class Player {
  constructor({ stage, share, strip, sounds, durationMs, onNotice = () => {}, onError = () => {} }) {
    Object.assign(this, { stage, share, strip, sounds, durationMs, onNotice, onError });
    this.entries = [];
    this.master = null;
    this.engaged = false; // the master element is the clock
    this.playing = false;
    this.base = 0; // the wall clock: ms at `anchor`
    this.anchor = performance.now();
    this.timer = setInterval(() => this.sync(), SYNC_MS);
  }

  // ---------- building ----------

  load(tracks) {
    for (const track of tracks) {
      if (track.source === "thumb") continue;
      const video = track.kind === "video";
      const node = el(video ? "video" : "audio", { preload: "auto", playsinline: true, dataset: { track: track.id, source: track.source, role: track.role } });
      node.muted = video; // pictures carry no sound: each microphone is its own file
      node.src = track.url;
      node.addEventListener("error", () => this.onError(track.id));
      const entry = { track, node, tile: null, badge: null, state: "", place: "sound" };
      if (video) {
        entry.badge = el("span", { class: "state" });
        entry.tile = el("div", { class: `tile ${track.source}`, dataset: { track: track.id } }, node,
          el("span", { class: "label" }, this.label(track)), entry.badge);
        entry.place = track.master ? "stage" : SHARES.has(track.source) ? "share" : "strip";
        ({ stage: this.stage, share: this.share, strip: this.strip })[entry.place].append(entry.tile);
      } else {
        this.sounds.append(node);
      }
      if (track.master) this.master = entry;
      this.entries.push(entry);
    }
    this.sync();
  }

  label(track) {
    const what = SHARES.has(track.source) ? tr.t(track.source) : tr.t(track.role);
    return `${track.name} · ${what}`;
  }

  relabel() {
    for (const e of this.entries) if (e.tile) e.tile.querySelector(".label").textContent = this.label(e.track);
    for (const e of this.entries) e.state = ""; // repaint the badges in the new language
    this.sync();
  }

  // Fresh signed links (the old ones expire): swap each element's src, keeping the common position.
  swap(tracks) {
    const byId = new Map(tracks.map((t) => [t.id, t]));
    for (const e of this.entries) {
      const fresh = byId.get(e.track.id);
      if (!fresh || fresh.url === e.track.url) continue;
      if (e === this.master && this.engaged) this.release();
      const wasPlaying = !e.node.paused;
      const at = e.node.currentTime;
      e.track = { ...e.track, url: fresh.url, expires_at: fresh.expires_at };
      e.node.src = fresh.url;
      e.node.currentTime = at; // the default start position until the new source has loaded
      if (wasPlaying) e.node.play().catch(() => {});
    }
    this.sync();
  }

  // ---------- the clock ----------

  local(entry, t) { return (t - entry.track.offset_ms) / 1000; }

  inRange(entry, t) {
    const s = this.local(entry, t);
    return s >= 0 && s < entry.track.duration_ms / 1000;
  }

  wall() { return this.playing ? this.base + (performance.now() - this.anchor) : this.base; }

  // The master time in ms of the common timeline.
  time() {
    const t = this.engaged ? this.master.node.currentTime * 1000 + this.master.track.offset_ms : this.wall();
    return Math.min(Math.max(0, t), this.durationMs);
  }

  release() { // the wall clock takes over where the master was
    this.base = this.time();
    this.anchor = performance.now();
    this.engaged = false;
  }

  // ---------- control ----------

  play(gesture = false) {
    if (this.time() >= this.durationMs - 50) this.seek(0);
    this.base = this.time();
    this.anchor = performance.now();
    this.playing = true;
    if (gesture) for (const e of this.entries) if (e.place === "sound") e.node.muted = false;
    this.sync();
  }

  pause() {
    this.base = this.time();
    this.anchor = performance.now();
    this.playing = false;
    this.sync();
  }

  seek(ms) {
    const t = Math.min(Math.max(0, Math.round(ms)), this.durationMs);
    this.base = t;
    this.anchor = performance.now();
    this.engaged = false;
    for (const e of this.entries) {
      const s = this.local(e, t);
      if (this.inRange(e, t)) e.node.currentTime = s;
      else if (s < 0 && e.node.currentTime !== 0) e.node.currentTime = 0;
    }
    this.sync();
  }

  // ---------- keeping in step ----------

  sync() {
    if (this.engaged && (this.master.node.ended || !this.inRange(this.master, this.time()))) this.release();
    let t = this.time();
    if (this.playing && t >= this.durationMs) { this.pause(); return; }
    if (!this.engaged && this.master && this.inRange(this.master, t) && this.master.node.readyState >= 2) {
      const s = this.local(this.master, t);
      if (Math.abs(this.master.node.currentTime - s) > DRIFT_S) this.master.node.currentTime = s;
      this.engaged = true;
      t = this.time();
    }
    for (const e of this.entries) this.place(e, t);
    const sharing = this.entries.some((e) => e.place === "share" && e.state === "in");
    this.stage.parentElement.classList.toggle("sharing", sharing);
  }

  place(e, t) {
    const s = this.local(e, t);
    const state = s < 0 ? "before" : s >= e.track.duration_ms / 1000 ? "after" : "in";
    if (state !== e.state) {
      e.state = state;
      if (e.tile) {
        e.tile.classList.toggle("off", state !== "in");
        if (e.place === "share") e.tile.hidden = state !== "in";
        e.badge.textContent = state === "before" ? tr.t("notStarted") : state === "after" ? tr.t("ended") : "";
      }
    }
    const node = e.node;
    if (state !== "in") {
      if (!node.paused) node.pause();
      return;
    }
    if (!(e === this.master && this.engaged) && !node.seeking && Math.abs(node.currentTime - s) > DRIFT_S) node.currentTime = s;
    if (this.playing && node.paused) this.start(e);
    else if (!this.playing && !node.paused) node.pause();
  }

  start(e) {
    e.node.play().catch((err) => {
      if (err.name !== "NotAllowedError" || e.node.muted) return;
      e.node.muted = true; // no sound without a click: play muted and say so
      this.onNotice(tr.t("audioBlocked"));
      e.node.play().catch(() => {});
    });
  }

  elements() {
    return this.entries.map((e) => ({
      trackId: e.track.id, source: e.track.source, role: e.track.role, kind: e.track.kind, master: e.track.master,
      offsetMs: e.track.offset_ms, durationMs: e.track.duration_ms, currentTime: e.node.currentTime, paused: e.node.paused,
      readyState: e.node.readyState, seeking: e.node.seeking, active: e.state === "in",
      visible: Boolean(e.tile && !e.tile.hidden && e.tile.offsetParent !== null),
    }));
  }
}
