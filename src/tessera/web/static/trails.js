// Trails: where tracks have been over the last N minutes, for the tracks asked for and,
// when chosen, for every hostile track. Positions are those this page has seen since it
// loaded (bounded per track); the layer is redrawn at most once a second.
const EMPTY = { type: "FeatureCollection", features: [] };
const MAX_POINTS = 240;
const REDRAW_MS = 1000;
const DEFAULT_MINUTES = 10;

export class Trails {
  constructor() {
    this.map = null;
    this.history = new Map(); // track id → [[lon, lat, time ms], ...]
    this.asked = new Set();
    this.hostiles = false;
    this.identities = new Map();
    this.pending = false;
    this.minutesInput = document.getElementById("trail-minutes");
    this.hostileBox = document.getElementById("trails-hostile");
    this.trackButton = document.getElementById("trail-track");
    this.hostileBox.addEventListener("change", () => {
      this.hostiles = this.hostileBox.checked;
      this.redraw();
    });
    this.minutesInput.addEventListener("change", () => this.redraw());
  }

  get minutes() {
    const value = Number(this.minutesInput.value);
    return Number.isFinite(value) && value > 0 ? value : DEFAULT_MINUTES;
  }

  attach(map, beforeId) {
    this.map = map;
    map.addSource("trails", { type: "geojson", data: EMPTY });
    map.addLayer(
      {
        id: "trails",
        type: "line",
        source: "trails",
        paint: {
          "line-color": ["match", ["get", "identity"], ["hostile", "suspect"], "#d32f2f", ["friend", "assumed-friend"], "#1565c0", "#8d6e00"],
          "line-width": 2,
          "line-opacity": 0.75,
        },
      },
      beforeId,
    );
  }

  reset() {
    this.history = new Map();
    this.asked = new Set();
    this.redraw();
  }

  // Called with the stream's tracks and the ids that changed (null: all of them).
  record(tracks, changedIds) {
    const ids = changedIds ?? tracks.keys();
    const now = Date.now();
    for (const id of ids) {
      const feature = tracks.get(id);
      if (!feature) continue;
      const [lon, lat] = feature.geometry.coordinates;
      let points = this.history.get(id);
      if (!points) this.history.set(id, (points = []));
      const last = points[points.length - 1];
      if (last && last[0] === lon && last[1] === lat) continue;
      points.push([lon, lat, now]);
      if (points.length > MAX_POINTS) points.splice(0, points.length - MAX_POINTS);
      this.identities.set(id, feature.properties.identity);
    }
    if (this.hostiles || this.asked.size) this.redraw();
  }

  toggleTrack(trackId) {
    if (this.asked.has(trackId)) this.asked.delete(trackId);
    else this.asked.add(trackId);
    this.redraw();
    return this.asked.has(trackId);
  }

  shows(trackId) {
    return this.asked.has(trackId);
  }

  // The trail features now shown (for tests and the layer).
  features() {
    const since = Date.now() - this.minutes * 60_000;
    const features = [];
    for (const [id, points] of this.history) {
      const identity = this.identities.get(id);
      const wanted = this.asked.has(id) || (this.hostiles && identity === "hostile");
      if (!wanted) continue;
      const recent = points.filter((point) => point[2] >= since).map(([lon, lat]) => [lon, lat]);
      if (recent.length < 2) continue;
      features.push({ type: "Feature", geometry: { type: "LineString", coordinates: recent }, properties: { id, identity } });
    }
    return features;
  }

  redraw() {
    if (this.pending || !this.map) return;
    this.pending = true;
    setTimeout(() => {
      this.pending = false;
      this.map.getSource("trails")?.setData({ type: "FeatureCollection", features: this.features() });
    }, REDRAW_MS);
  }
}
