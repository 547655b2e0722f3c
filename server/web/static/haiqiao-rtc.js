// Haiqiao 海桥 — the browser side of the signaling protocol (docs/signaling.md).
// One RTCPeerConnection per room; the client always offers (also when the server asks: renegotiate).
//
// A publisher's transceivers, in this order, each labelled in every offer's `sources`:
// microphone, camera, thumb (the camera again at a quarter of its size), screen, document. The screen and
// document transceivers exist from the first offer with no track; a share puts its track on them with
// replaceTrack and tells the room (`share`), so starting or stopping one never renegotiates. All are
// sendrecv: the server sends what the page receives back on the same m-lines where it can, and aiortc
// takes a publication only from an m-line that carries a=ssrc lines (Chromium writes them when sending).

// What each publishing transceiver sends with: the thumbnail is the patrol wall's and a weak link's layer;
// screen and document pictures are text — sharp, few frames.
// Priorities share a narrow uplink (Chromium splits what the bandwidth estimate allows by them): a share
// first, then the camera, the thumbnail last.
const ENCODINGS = {
  camera: [{ priority: "medium" }],
  thumb: [{ scaleResolutionDownBy: 4, maxBitrate: 150000, maxFramerate: 10, priority: "very-low" }],
  screen: [{ maxBitrate: 1200000, maxFramerate: 5, priority: "high" }],
  document: [{ maxBitrate: 1200000, maxFramerate: 5, priority: "high" }],
};
export const SHARED_SOURCES = ["screen", "document"];

export class HaiqiaoRoom extends EventTarget {
  constructor({ accessToken, sessionId, role, classroomId = null, publish = true, apiBase = "" }) {
    super();
    Object.assign(this, { accessToken, sessionId, role, classroomId, apiBase });
    this.publish = publish && role !== "observer";
    this.trackSeats = {}; // transceiver mid → seat id, as the latest answer says
    this.trackSources = {}; // transceiver mid → that seat's source (camera, thumb, screen, …)
    this.remote = {}; // transceiver mid → { seat, source, kind, track, stream } of what is received now
    this.outgoing = {}; // source → our publishing transceiver
    this.shares = {}; // source → the local track being shared (screen / document)
    this.pendingShares = {}; // source → { resolve, reject, timer } until the room says yes or no
    this.seats = [];
    this.state = "idle";
    this.leaving = false;
    this.localStream = null;
  }

  emit(type, detail) { this.dispatchEvent(new CustomEvent(type, { detail })); }

  setState(state) { this.state = state; this.emit("state", state); }

  async join() {
    this.setState("joining");
    const resp = await fetch(`${this.apiBase}/api/v1/sessions/${this.sessionId}/join`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${this.accessToken}` },
      body: JSON.stringify({ role: this.role, classroom_id: this.classroomId }),
    });
    const body = await resp.json();
    if (!resp.ok) { this.setState("refused"); this.emit("error", body.error); throw new Error(body.error.message); }
    this.iceServers = body.ice_servers;
    if (this.publish && !this.localStream) {
      this.localStream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 360 } });
      this.emit("local", this.localStream);
    }
    await this.connect(body.signaling_url, body.token);
  }

  async connect(url, token) {
    this.ws = new WebSocket(`${url}?token=${encodeURIComponent(token)}`);
    // Messages are handled one at a time, in order: an offer must not overtake the answer before it.
    this.inbox = Promise.resolve();
    this.ws.onmessage = (ev) => {
      const msg = JSON.parse(ev.data);
      this.inbox = this.inbox.then(() => this.onMessage(msg)).catch((err) => this.emit("error", { message: String(err) }));
    };
    this.ws.onclose = (ev) => this.onClose(ev);
    this.pinger = setInterval(() => this.send({ type: "ping" }), 15000);
  }

  send(msg) { if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg)); }

  async onMessage(msg) {
    const handler = {
      welcome: () => this.onWelcome(msg),
      answer: () => this.onAnswer(msg),
      renegotiate: () => this.onRenegotiate(msg),
      seats: () => this.onSeats(msg),
      chat: () => this.emit("chat", msg),
      error: () => this.onError(msg),
      bye: () => this.emit("bye", msg),
      pong: () => {},
    }[msg.type];
    if (handler) await handler();
  }

  // The room is recorded (welcome and every seat list say so): pages show 录制中 while it is.
  setRecording(active) {
    const now = Boolean(active);
    if (now !== this.recording) { this.recording = now; this.emit("recording", now); }
  }

  async onWelcome(msg) {
    this.seat = msg.seat;
    this.seats = msg.seats;
    this.floor = msg.floor;
    this.setRecording(msg.recording);
    this.emit("seats", msg);
    this.setState("connected");
    this.newPeerConnection();
    this.outgoing = {};
    if (this.publish) {
      const stream = this.localStream;
      const [audio] = stream.getAudioTracks(), [video] = stream.getVideoTracks();
      // sendrecv (the default) on every one: see the top of this file.
      this.outgoing.microphone = this.pc.addTransceiver(audio || "audio", { streams: [stream] });
      this.outgoing.camera = this.pc.addTransceiver(video || "video", { streams: [stream], sendEncodings: ENCODINGS.camera });
      this.outgoing.thumb = this.pc.addTransceiver(video || "video", { streams: [stream], sendEncodings: ENCODINGS.thumb });
      // A share that was on before a reconnect goes on again on the new connection (announced after the answer).
      for (const source of SHARED_SOURCES) {
        this.outgoing[source] = this.pc.addTransceiver(this.shares[source] || "video", { sendEncodings: ENCODINGS[source] });
      }
      this.reshare = Object.keys(this.shares);
    } else {
      this.pc.addTransceiver("audio", { direction: "recvonly" });
      this.pc.addTransceiver("video", { direction: "recvonly" });
    }
    await this.offer();
  }

  async offer() {
    await this.pc.setLocalDescription(await this.pc.createOffer());
    await this.gathered();
    this.send({ type: "offer", sdp: this.pc.localDescription.sdp, sources: this.sourceLabels() });
  }

  // mid → source of each publishing transceiver (mids exist once the offer is set as local description).
  sourceLabels() {
    const out = {};
    for (const [source, transceiver] of Object.entries(this.outgoing)) if (transceiver.mid != null) out[transceiver.mid] = source;
    return out;
  }

  newPeerConnection() {
    if (this.pc) this.pc.close();
    this.pc = new RTCPeerConnection({ iceServers: this.iceServers, bundlePolicy: "max-bundle" });
    this.streams = new Map(); // mid → a MediaStream of that transceiver's incoming track
    this.remote = {};
    this.pc.ontrack = (ev) => {
      // ontrack fires while the answer is applied, after trackSeats was updated from it.
      const mid = ev.transceiver.mid;
      const seat = this.trackSeats[mid], source = this.trackSources[mid];
      const stream = this.streamOf(mid, ev.track);
      this.emit("track", { seat, source, mid, track: ev.track, stream });
    };
    this.pc.onconnectionstatechange = () => {
      if (this.pc.connectionState === "failed") this.reconnect();
    };
  }

  async onAnswer(msg) {
    // Each answer names everything sent now: a mid it no longer lists carries nothing any more.
    this.trackSeats = { ...msg.tracks };
    this.trackSources = { ...(msg.sources || {}) };
    await this.pc.setRemoteDescription({ type: "answer", sdp: msg.sdp });
    const remote = {};
    for (const transceiver of this.pc.getTransceivers()) {
      const mid = transceiver.mid, seat = this.trackSeats[mid];
      if (mid == null || !seat) continue;
      const track = transceiver.receiver.track;
      const source = this.trackSources[mid] || (track.kind === "audio" ? "microphone" : "camera");
      remote[mid] = { mid, seat, source, kind: track.kind, track, stream: this.streamOf(mid, track) };
    }
    this.remote = remote;
    this.emit("remote", remote);
    // After a reconnect: the shares that were on are announced again on the new connection.
    for (const source of this.reshare || []) if (this.shares[source]) this.requestShare(source).catch(() => {});
    this.reshare = [];
  }

  streamOf(mid, track) {
    let stream = this.streams.get(mid);
    if (!stream || stream.getTracks()[0] !== track) this.streams.set(mid, (stream = new MediaStream([track])));
    return stream;
  }

  // The stream received now for a seat's source (the newest mid when several carried it in turn).
  remoteStream(seat, sources) {
    const wanted = Array.isArray(sources) ? sources : [sources];
    let best = null;
    for (const entry of Object.values(this.remote)) {
      if (entry.seat !== seat || entry.kind !== "video" || !wanted.includes(entry.source)) continue;
      const rank = wanted.indexOf(entry.source) * 1e6 - Number(entry.mid);
      if (!best || rank < best.rank) best = { rank, entry };
    }
    return best ? best.entry.stream : null;
  }

  async onRenegotiate(msg) {
    // The client always offers: the server asks for room for the tracks it now wants to send.
    for (const kind of ["audio", "video"]) {
      for (let i = 0; i < (msg[kind] || 0); i++) this.pc.addTransceiver(kind, { direction: "recvonly" });
    }
    await this.offer();
  }

  onSeats(msg) {
    this.seats = msg.seats;
    this.floor = msg.floor;
    this.setRecording(msg.recording);
    const mine = this.seats.find((s) => s.seat === this.seat);
    const sharing = new Set(mine?.sharing || []);
    for (const source of SHARED_SOURCES) {
      const pending = this.pendingShares[source];
      if (pending && sharing.has(source)) this.settleShare(source, null);
      // The room ended a share we still send (the host took the floor back): stop it here too.
      else if (!pending && this.shares[source] && mine && !sharing.has(source) && !(this.reshare || []).includes(source)) {
        this.dropShare(source);
        this.emit("share", { source, active: false, reason: "ended_by_room" });
      }
    }
    this.emit("seats", msg);
  }

  onError(msg) {
    // A refusal of a share we asked for: the share is undone here (errors do not say which request they answer).
    const refusal = ["floor_required", "bad_source", "not_allowed"].includes(msg.code);
    const pending = SHARED_SOURCES.find((source) => this.pendingShares[source]);
    if (refusal && pending) this.settleShare(pending, msg);
    this.emit("error", msg);
  }

  // --- shares: screen (getDisplayMedia) and document camera (a second video input) -----------------

  // Put `track` on the source's transceiver and ask the room to show it. Resolves once the room lists the
  // share; rejects with the room's error ({code, message}) and takes the track off again when refused.
  async startShare(source, track) {
    if (!SHARED_SOURCES.includes(source)) throw new Error(`not a shared source: ${source}`);
    const transceiver = this.outgoing[source];
    if (!transceiver || !this.publish) throw Object.assign(new Error("nothing to share on"), { code: "bad_source" });
    if (this.pendingShares[source]) this.settleShare(source, { code: "superseded", message: "superseded" });
    if (this.shares[source] && this.shares[source] !== track) this.shares[source].stop();
    track.contentHint = "detail";
    this.shares[source] = track;
    track.addEventListener("ended", () => { if (this.shares[source] === track) this.stopShare(source); });
    await transceiver.sender.replaceTrack(track);
    this.emit("share", { source, active: true, track });
    // Another window or screen while the room already shows this source: only the track changes.
    if ((this.seats.find((s) => s.seat === this.seat)?.sharing || []).includes(source)) return;
    return this.requestShare(source);
  }

  requestShare(source) {
    const verdict = new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.settleShare(source, { code: "timeout", message: "no answer from the room" }), 10000);
      this.pendingShares[source] = { resolve, reject, timer };
    });
    this.send({ type: "share", source, active: true });
    return verdict;
  }

  settleShare(source, error) {
    const pending = this.pendingShares[source];
    if (!pending) return;
    delete this.pendingShares[source];
    clearTimeout(pending.timer);
    if (!error) { pending.resolve(); return; }
    this.dropShare(source);
    this.emit("share", { source, active: false, reason: error.code });
    pending.reject(Object.assign(new Error(error.message), { code: error.code }));
  }

  dropShare(source) {
    const track = this.shares[source];
    delete this.shares[source];
    if (track) track.stop();
    const transceiver = this.outgoing[source];
    if (transceiver && this.pc && this.pc.signalingState !== "closed") transceiver.sender.replaceTrack(null).catch(() => {});
  }

  async stopShare(source) {
    if (this.pendingShares[source]) { this.settleShare(source, { code: "stopped", message: "stopped" }); }
    else this.dropShare(source);
    this.send({ type: "share", source, active: false });
    this.emit("share", { source, active: false, reason: "stopped" });
  }

  sharing(source) { return Boolean(this.shares[source]); }

  // Which seats' cameras to receive at full quality (the others come as thumbnails); null: all.
  watch(seats) { this.send({ type: "watch", seats }); }

  gathered() {
    // No trickle ICE: the offer carries its candidates. On loopback and LAN gathering takes milliseconds.
    if (this.pc.iceGatheringState === "complete") return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => { if (this.pc.iceGatheringState === "complete") resolve(); };
      this.pc.addEventListener("icegatheringstatechange", done);
      setTimeout(resolve, 2000);
    });
  }

  onClose(ev) {
    clearInterval(this.pinger);
    if (this.leaving) return;
    // docs/signaling.md: 4004 the seat was taken by a newer connection (another tab, a rejoin): that one
    // keeps it, this one must not take it back; 4010 the session is over.
    if (ev.code === 4004) { this.cleanup(); this.setState("replaced"); return; }
    if (ev.code === 4010) { this.cleanup(); this.setState("ended"); return; }
    this.reconnect();
  }

  async reconnect() {
    if (this.state === "reconnecting" || this.leaving) return;
    this.setState("reconnecting");
    if (this.ws) { this.ws.onclose = null; this.ws.close(); }
    for (let attempt = 0; attempt < 15 && !this.leaving; attempt++) {
      await new Promise((r) => setTimeout(r, Math.min(1000 * (attempt + 1), 5000)));
      try { await this.join(); return; } catch (e) { /* keep trying within the grace period */ }
    }
    this.setState("lost");
  }

  // Host controls
  mute(seat, kind = "audio", muted = true) { this.send({ type: "mute", seat, kind, muted }); }
  giveFloor(seat) { this.send({ type: "floor", seat }); }
  raiseHand(raised = true) { this.send({ type: "hand", raised }); }
  chat(text) { this.send({ type: "chat", text }); }
  record(active) { this.send({ type: "record", active }); } // a research session's host starts or stops recording

  cleanup() {
    this.leaving = true;
    if (this.pc) this.pc.close();
    this.stopLocal();
  }

  stopLocal() {
    if (this.localStream) this.localStream.getTracks().forEach((t) => t.stop());
    for (const track of Object.values(this.shares)) track.stop();
    this.shares = {};
  }

  leave() {
    this.leaving = true;
    this.send({ type: "leave" });
    clearInterval(this.pinger);
    if (this.pc) this.pc.close();
    this.stopLocal();
    this.setState("left");
  }

  async videoStats() {
    // framesDecoded per incoming video the room sends now, by seat and source: what tests and the quality
    // indicator read.
    const out = [];
    if (!this.pc) return out;
    const stats = await this.pc.getStats();
    stats.forEach((s) => {
      if (s.type === "inbound-rtp" && s.kind === "video" && this.trackSeats[s.mid]) {
        out.push({ mid: s.mid, seat: this.trackSeats[s.mid], source: this.trackSources[s.mid] || "camera",
                   framesDecoded: s.framesDecoded || 0, packetsLost: s.packetsLost || 0, jitter: s.jitter || 0,
                   frameWidth: s.frameWidth || 0, frameHeight: s.frameHeight || 0 });
      }
    });
    return out;
  }
}
