// The time slider: scrub back over the journal (GET /api/v1/tracks?at=, with each track's
// trail from history, and its overlays as they were then) and play forward from there (the
// stream's replay at a chosen speed). While it shows the past, the map draws this view's
// tracks and overlays instead of the live stream's; "Live" hands the map back to the live
// picture.
import { apiFetch } from "/static/auth.js";
import { LOWEST_TRACK_LAYER } from "/static/track-layer.js";

const PROTOCOL = "tessera.v1";
// How far back the slider reaches, and how long a trail each track shows.
const SPAN_S = 24 * 3600;
const TRAIL_S = 600;
const TRAILS = "history-trails";
const EMPTY = { type: "FeatureCollection", features: [] };

const $ = (id) => document.getElementById(id);

// What the map draws while the slider shows the past: the same shape as a TrackStream.
class PastView {
  constructor(picture) {
    this.picture = picture;
    this.tracks = new Map();
    this.overlays = new Map();
    this.trails = new Map();
    this.lastSeq = null;
    this.lastUpdate = null;
    this.socket = null;
  }

  stop() {
    const socket = this.socket;
    this.socket = null;
    socket?.close();
  }
}

export function setUpHistory({ picture, token, map, show, showOverlays, live }) {
  let view = null;
  // The slider's right end ("now") when the past was entered.
  let base = Date.now();

  function timeAt(value) {
    // Moved from live: the right end is now; while in the past it stays put.
    if (!view) base = Date.now();
    return new Date(base - (SPAN_S - Number(value)) * 1000);
  }
  const valueAt = (date) => Math.max(0, Math.min(SPAN_S, SPAN_S - (base - date) / 1000));

  function label(date, text) {
    const shown = date.toISOString().slice(0, 19).replace("T", " ");
    $("history-time").textContent = text ?? `${shown}Z`;
    $("history-time").dataset.at = date.toISOString();
  }

  function setMode(mode) {
    document.body.dataset.history = mode;
    $("history-live").disabled = mode === "live";
    $("history-play").textContent = mode === "playing" ? "❚❚ Pause" : "▶ Play";
  }

  function trailsLayer() {
    const shown = map();
    if (!shown) return null;
    if (!shown.getSource(TRAILS)) {
      shown.addSource(TRAILS, { type: "geojson", data: EMPTY });
      shown.addLayer(
        {
          id: TRAILS,
          type: "line",
          source: TRAILS,
          paint: { "line-color": "#1f3b57", "line-width": 2, "line-opacity": 0.6 },
        },
        LOWEST_TRACK_LAYER,
      );
    }
    return shown.getSource(TRAILS);
  }

  function drawTrails() {
    const features = [];
    for (const [id, coordinates] of view?.trails ?? []) {
      if (coordinates.length > 1 && view.tracks.has(id)) {
        features.push({ type: "Feature", properties: { id }, geometry: { type: "LineString", coordinates } });
      }
    }
    trailsLayer()?.setData({ type: "FeatureCollection", features });
    document.body.dataset.trails = String(features.length);
  }

  // The map's overlays are the past view's (what the dataset says, for tests and styles).
  function pastOverlays(current) {
    if (view !== current) return;
    showOverlays(current.overlays);
    document.body.dataset.historyOverlays = String(current.overlays.size);
  }

  function enter() {
    if (view && view.picture === picture()) return view;
    view = new PastView(picture());
    show(view);
    return view;
  }

  async function scrub(at) {
    const current = enter();
    current.stop();
    setMode("past");
    label(at, "loading…");
    const query = new URLSearchParams({
      picture: current.picture,
      at: at.toISOString(),
      trail: TRAIL_S,
      overlays: "true",
    });
    let response;
    try {
      response = await apiFetch(`/api/v1/tracks?${query}`);
    } catch {
      label(at, "the server cannot be reached");
      return;
    }
    if (view !== current) return;
    if (!response.ok) {
      let reason = `error ${response.status}`;
      try {
        reason = (await response.json()).error ?? reason;
      } catch {}
      label(at, reason);
      return;
    }
    const body = await response.json();
    current.tracks = new Map(body.features.map((feature) => [feature.id, feature]));
    current.trails = new Map(Object.entries(body.trails ?? {}).map(([id, trail]) => [id, trail.coordinates]));
    current.overlays = new Map((body.overlays ?? []).map((feature) => [feature.id, feature]));
    current.lastUpdate = at;
    label(at);
    drawTrails();
    show(current);
    pastOverlays(current);
  }

  function play() {
    const current = enter();
    current.stop();
    const from = new Date($("history-time").dataset.at ?? timeAt($("history-slider").value));
    const speed = Number($("history-speed").value);
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/api/v1/stream`, [
      PROTOCOL,
      `bearer.${token()}`,
    ]);
    current.socket = socket;
    setMode("playing");
    socket.onopen = () =>
      socket.send(JSON.stringify({ type: "subscribe", picture: current.picture, at: from.toISOString(), speed }));
    socket.onmessage = (event) => {
      if (current.socket !== socket) return;
      receive(current, JSON.parse(event.data));
    };
    socket.onclose = () => {
      if (current.socket === socket) {
        current.socket = null;
        setMode("past");
      }
    };
  }

  function receive(current, message) {
    if (message.type === "snapshot") {
      current.tracks = new Map(message.features.map((feature) => [feature.id, feature]));
      current.overlays = new Map((message.overlays ?? []).map((feature) => [feature.id, feature]));
      pastOverlays(current);
    } else if (message.type === "changes") {
      const overlays = message.overlays ?? [];
      const overlayRemoves = message.overlay_removes ?? [];
      for (const feature of overlays) current.overlays.set(feature.id, feature);
      for (const id of overlayRemoves) current.overlays.delete(id);
      if (overlays.length || overlayRemoves.length) pastOverlays(current);
      for (const feature of message.upserts) {
        current.tracks.set(feature.id, feature);
        const trail = current.trails.get(feature.id) ?? [];
        trail.push(feature.geometry.coordinates.slice(0, 2));
        current.trails.set(feature.id, trail);
      }
      for (const id of message.removes) {
        current.tracks.delete(id);
        current.trails.delete(id);
      }
    } else if (message.type === "replay_end") {
      // Played up to the present: back to the live picture.
      goLive();
      return;
    } else if (message.type === "error") {
      label(new Date(), message.reason);
      return;
    }
    if (message.at) {
      const at = new Date(message.at);
      current.lastUpdate = at;
      label(at);
      $("history-slider").value = String(valueAt(at));
    }
    if (message.type !== "clock") {
      drawTrails();
      show(current);
    }
  }

  function goLive() {
    view?.stop();
    view = null;
    trailsLayer()?.setData(EMPTY);
    document.body.dataset.trails = "0";
    delete document.body.dataset.historyOverlays;
    reset();
    live();
  }

  function reset() {
    setMode("live");
    $("history-slider").value = String(SPAN_S);
    $("history-time").textContent = "live";
    delete $("history-time").dataset.at;
  }

  $("history-slider").max = String(SPAN_S);
  $("history-slider").addEventListener("input", (event) => label(timeAt(event.target.value)));
  $("history-slider").addEventListener("change", (event) => {
    if (Number(event.target.value) >= SPAN_S) goLive();
    else scrub(timeAt(event.target.value));
  });
  $("history-play").addEventListener("click", () => {
    if (view?.socket) {
      view.stop();
      setMode("past");
    } else {
      play();
    }
  });
  $("history-live").addEventListener("click", goLive);
  reset();

  return {
    // A new picture (or signing out): the slider goes back to live, trails go.
    reset() {
      view?.stop();
      view = null;
      trailsLayer()?.setData(EMPTY);
      delete document.body.dataset.historyOverlays;
      reset();
    },
    scrub,
    get showing() {
      return view;
    },
  };
}
