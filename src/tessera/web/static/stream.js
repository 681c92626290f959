// The live stream: subscribe, apply snapshots and changes, reconnect with `since`.
const MAX_BACKOFF_MS = 15000;

export class TrackStream {
  constructor({ picture, onTracks, onStatus }) {
    this.picture = picture;
    this.onTracks = onTracks;
    this.onStatus = onStatus;
    this.tracks = new Map();
    this.lastSeq = null;
    this.lastUpdate = null;
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
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/api/v1/stream`);
    this.socket = socket;
    socket.onopen = () => {
      socket.send(JSON.stringify({ type: "subscribe", picture: this.picture, since: this.lastSeq }));
      this.backoff = 1000;
      this.onStatus("connected");
    };
    socket.onmessage = (event) => this.receive(JSON.parse(event.data));
    socket.onclose = () => {
      if (this.stopped || socket !== this.socket) return;
      this.onStatus("reconnecting");
      setTimeout(() => this.connect(), this.backoff);
      this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF_MS);
    };
  }

  receive(message) {
    if (message.type === "snapshot") {
      this.tracks = new Map(message.features.map((feature) => [feature.id, feature]));
      this.applied(message.seq, message.features.map((feature) => feature.id));
    } else if (message.type === "changes") {
      for (const feature of message.upserts) this.tracks.set(feature.id, feature);
      for (const id of message.removes) this.tracks.delete(id);
      this.applied(message.seq, message.upserts.map((feature) => feature.id));
    } else if (message.type === "heartbeat") {
      if (message.seq !== null && (this.lastSeq === null || message.seq > this.lastSeq)) {
        this.lastSeq = message.seq;
      }
    } else if (message.type === "error") {
      console.error("stream:", message.reason);
    }
  }

  applied(seq, changedIds) {
    this.lastSeq = seq;
    this.lastUpdate = new Date();
    this.onTracks(this.tracks, changedIds);
  }
}
