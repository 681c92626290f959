// The live stream of one picture, its tracks and overlays: subscribe, apply snapshots and
// changes, reconnect with `since`.
//
// A browser cannot set headers on a WebSocket, so the bearer token travels as a subprotocol
// ("bearer.<token>") next to the one the server selects ("tessera.v1").
const PROTOCOL = "tessera.v1";
const POLICY_VIOLATION = 1008;
const MAX_BACKOFF_MS = 15000;

export class TrackStream {
  // `token()` gives the bearer token; `stillSignedIn()` resolves to false when the session
  // has ended (the stream then stops), called when the server refused or dropped us.
  // `onOverlays(overlays)` is called when the overlays (a Map by id) have changed.
  // `onAlerts(message)` is given each `alerts` message (the alert panel).
  // `onChat(message)` is given each `chat` message (the chat panel).
  constructor({ picture, token, stillSignedIn, onTracks, onOverlays, onStatus, onAlerts, onChat }) {
    this.picture = picture;
    this.token = token;
    this.stillSignedIn = stillSignedIn;
    this.onTracks = onTracks;
    this.onOverlays = onOverlays ?? (() => {});
    this.onStatus = onStatus;
    this.onAlerts = onAlerts ?? (() => {});
    this.onChat = onChat ?? (() => {});
    this.tracks = new Map();
    this.overlays = new Map();
    this.lastSeq = null;
    this.lastUpdate = null;
    this.lastError = null;
    this.backoff = 1000;
    this.socket = null;
    this.stopped = false;
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    this.socket?.close();
  }

  connect() {
    const token = this.token();
    if (!token) return;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/api/v1/stream`, [
      PROTOCOL,
      `bearer.${token}`,
    ]);
    let opened = false;
    this.socket = socket;
    socket.onopen = () => {
      opened = true;
      socket.send(JSON.stringify({ type: "subscribe", picture: this.picture, since: this.lastSeq }));
      this.backoff = 1000;
      this.lastError = null;
      this.onStatus("connected");
    };
    socket.onmessage = (event) => {
      if (!this.stopped && socket === this.socket) this.receive(JSON.parse(event.data));
    };
    socket.onclose = (event) => this.closed(socket, opened, event.code);
  }

  async closed(socket, opened, code) {
    if (this.stopped || socket !== this.socket) return;
    this.onStatus("reconnecting", this.lastError);
    // A failed handshake (the token refused) or a policy close (token revoked or expired):
    // ask the server whether we are still signed in before trying again.
    if (!opened || code === POLICY_VIOLATION) {
      const signedIn = await this.stillSignedIn();
      if (!signedIn || this.stopped || socket !== this.socket) return;
    }
    setTimeout(() => {
      if (!this.stopped && socket === this.socket) this.connect();
    }, this.backoff);
    this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF_MS);
  }

  receive(message) {
    if (message.type === "snapshot") {
      this.tracks = new Map(message.features.map((feature) => [feature.id, feature]));
      this.overlays = new Map((message.overlays ?? []).map((feature) => [feature.id, feature]));
      this.applied(message.seq, message.features.map((feature) => feature.id));
      this.onOverlays(this.overlays);
    } else if (message.type === "changes") {
      for (const feature of message.upserts) this.tracks.set(feature.id, feature);
      for (const id of message.removes) this.tracks.delete(id);
      const overlays = message.overlays ?? [];
      const overlayRemoves = message.overlay_removes ?? [];
      for (const feature of overlays) this.overlays.set(feature.id, feature);
      for (const id of overlayRemoves) this.overlays.delete(id);
      this.applied(message.seq, message.upserts.map((feature) => feature.id));
      if (overlays.length || overlayRemoves.length) this.onOverlays(this.overlays);
    } else if (message.type === "heartbeat") {
      if (message.seq !== null && (this.lastSeq === null || message.seq > this.lastSeq)) {
        this.lastSeq = message.seq;
      }
    } else if (message.type === "alerts") {
      this.onAlerts(message);
    } else if (message.type === "chat") {
      this.onChat(message);
    } else if (message.type === "error") {
      this.lastError = message.reason;
      console.error("stream:", message.reason);
    }
  }

  applied(seq, changedIds) {
    this.lastSeq = seq;
    this.lastUpdate = new Date();
    this.onTracks(this.tracks, changedIds);
  }
}
