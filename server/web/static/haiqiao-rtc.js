// Haiqiao 海桥 — the browser side of the signaling protocol (docs/signaling.md).
// One RTCPeerConnection per room; the server sends renegotiation offers when tracks are added.

export class HaiqiaoRoom extends EventTarget {
  constructor({ accessToken, sessionId, role, classroomId = null, publish = true, apiBase = "" }) {
    super();
    Object.assign(this, { accessToken, sessionId, role, classroomId, apiBase });
    this.publish = publish && role !== "observer";
    this.trackSeats = {}; // transceiver mid → seat id
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
      seats: () => { this.seats = msg.seats; this.floor = msg.floor; this.emit("seats", msg); },
      chat: () => this.emit("chat", msg),
      error: () => this.emit("error", msg),
      bye: () => this.emit("bye", msg),
      pong: () => {},
    }[msg.type];
    if (handler) await handler();
  }

  async onWelcome(msg) {
    this.seat = msg.seat;
    this.seats = msg.seats;
    this.floor = msg.floor;
    this.emit("seats", msg);
    this.setState("connected");
    this.newPeerConnection();
    if (this.publish) {
      for (const track of this.localStream.getTracks()) this.pc.addTrack(track, this.localStream);
    } else {
      this.pc.addTransceiver("audio", { direction: "recvonly" });
      this.pc.addTransceiver("video", { direction: "recvonly" });
    }
    await this.pc.setLocalDescription(await this.pc.createOffer());
    await this.gathered();
    this.send({ type: "offer", sdp: this.pc.localDescription.sdp });
  }

  newPeerConnection() {
    if (this.pc) this.pc.close();
    this.pc = new RTCPeerConnection({ iceServers: this.iceServers, bundlePolicy: "max-bundle" });
    this.pc.ontrack = (ev) => {
      // ontrack fires while the answer is applied, after trackSeats was updated from it.
      const seat = this.trackSeats[ev.transceiver.mid];
      const stream = new MediaStream([ev.track]);
      this.emit("track", { seat, mid: ev.transceiver.mid, track: ev.track, stream });
    };
    this.pc.onconnectionstatechange = () => {
      if (this.pc.connectionState === "failed") this.reconnect();
    };
  }

  async onAnswer(msg) {
    Object.assign(this.trackSeats, msg.tracks);
    await this.pc.setRemoteDescription({ type: "answer", sdp: msg.sdp });
  }

  async onRenegotiate(msg) {
    // The client always offers: the server asks for room for the tracks it now wants to send.
    for (const kind of ["audio", "video"]) {
      for (let i = 0; i < (msg[kind] || 0); i++) this.pc.addTransceiver(kind, { direction: "recvonly" });
    }
    await this.pc.setLocalDescription(await this.pc.createOffer());
    await this.gathered();
    this.send({ type: "offer", sdp: this.pc.localDescription.sdp });
  }

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

  cleanup() {
    this.leaving = true;
    if (this.pc) this.pc.close();
    if (this.localStream) this.localStream.getTracks().forEach((t) => t.stop());
  }

  leave() {
    this.leaving = true;
    this.send({ type: "leave" });
    clearInterval(this.pinger);
    if (this.pc) this.pc.close();
    if (this.localStream) this.localStream.getTracks().forEach((t) => t.stop());
    this.setState("left");
  }

  async videoStats() {
    // framesDecoded per incoming video, by seat: what tests and the quality indicator read.
    const out = [];
    if (!this.pc) return out;
    const stats = await this.pc.getStats();
    stats.forEach((s) => {
      if (s.type === "inbound-rtp" && s.kind === "video") {
        out.push({ mid: s.mid, seat: this.trackSeats[s.mid], framesDecoded: s.framesDecoded || 0,
                   packetsLost: s.packetsLost || 0, jitter: s.jitter || 0 });
      }
    });
    return out;
  }
}
