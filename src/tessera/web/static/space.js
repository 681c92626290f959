// Satellites on the map (GET /api/v1/satellites, every few seconds): each as its APP-6
// space symbol, its ground track over the last orbit (solid) and the next (dashed), and
// its sensor's footprint, coloured by identity.
import { apiFetch } from "/static/auth.js";

const POLL_MS = 10000;
const SOURCE = "space";
export const SPACE_LAYERS = ["space-footprints", "space-ground-tracks", "space-satellites"];
const COLOURS = {
  friend: "#3f8fff",
  "assumed-friend": "#3f8fff",
  neutral: "#2fb85a",
  suspect: "#ff9a2e",
  hostile: "#ff3b4a",
};
const colour = [
  "match",
  ["get", "identity"],
  ...Object.entries(COLOURS).flat(),
  "#f2d230",
];
const part = (name) => ["==", ["get", "part"], name];

export class SpaceLayer {
  constructor() {
    this.map = null;
    this.picture = null;
    this.timer = null;
    this.features = [];
  }

  reset(map, picture) {
    this.stop();
    this.map = map;
    this.picture = picture;
    this.features = [];
    this.map.getSource(SOURCE)?.setData({ type: "FeatureCollection", features: [] });
    this.poll();
  }

  stop() {
    clearTimeout(this.timer);
    this.timer = null;
    this.picture = null;
  }

  satellites() {
    return this.features.filter((feature) => feature.properties.part === "satellite");
  }

  ensureLayers() {
    const map = this.map;
    if (map.getSource(SOURCE)) return;
    map.addSource(SOURCE, { type: "geojson", data: { type: "FeatureCollection", features: [] } });
    map.addLayer({
      id: "space-footprints",
      type: "fill",
      source: SOURCE,
      filter: part("footprint"),
      paint: { "fill-color": colour, "fill-opacity": 0.12, "fill-outline-color": colour },
    });
    map.addLayer({
      id: "space-ground-tracks",
      type: "line",
      source: SOURCE,
      filter: part("ground_track"),
      paint: {
        "line-color": colour,
        "line-width": 1.5,
        "line-opacity": ["case", ["==", ["get", "when"], "next"], 0.9, 0.45],
        "line-dasharray": [3, 2],
      },
    });
    map.addLayer({
      id: "space-satellites",
      type: "symbol",
      source: SOURCE,
      filter: part("satellite"),
      layout: { "icon-image": ["get", "sidc"], "icon-allow-overlap": true },
    });
  }

  async poll() {
    const picture = this.picture;
    if (!picture) return;
    try {
      const response = await apiFetch(`/api/v1/satellites?picture=${encodeURIComponent(picture)}`);
      if (response.ok && picture === this.picture) {
        const collection = await response.json();
        this.features = collection.features;
        this.ensureLayers();
        this.map.getSource(SOURCE).setData({ type: "FeatureCollection", features: this.features });
        document.body.dataset.satellites = String(this.satellites().length);
      }
    } catch {
      // The connection indicator already says the server cannot be reached.
    }
    if (picture === this.picture) this.timer = setTimeout(() => this.poll(), POLL_MS);
  }
}
