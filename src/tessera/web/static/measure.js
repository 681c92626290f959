// Measure: distance and bearing between points clicked on the map (leg by leg, with the
// total), and range rings around a clicked point or track (following the track as it
// moves). Drawn in a layer of its own; labels as images (labels.js).
import { bearing, circleRing, destination, distance } from "/static/geo.js";
import { LABEL_PREFIX } from "/static/labels.js";

const EMPTY = { type: "FeatureCollection", features: [] };
const DEFAULT_RADII_KM = [1, 5, 10];

export function distanceText(metres) {
  return metres < 1000 ? `${Math.round(metres)} m` : `${(metres / 1000).toFixed(metres < 10_000 ? 2 : 1)} km`;
}

export function bearingText(degrees) {
  return `${String(Math.round(degrees) % 360).padStart(3, "0")}°`;
}

// The legs between successive points: distance (m) and initial bearing (degrees true).
export function legs(points) {
  const result = [];
  for (let i = 1; i < points.length; i += 1) {
    result.push({ from: points[i - 1], to: points[i], metres: distance(points[i - 1], points[i]), bearing: bearing(points[i - 1], points[i]) });
  }
  return result;
}

export function parseRadii(text) {
  const radii = String(text)
    .split(/[,\s]+/)
    .map(Number)
    .filter((value) => Number.isFinite(value) && value > 0);
  return radii.length ? radii.slice(0, 10) : DEFAULT_RADII_KM;
}

const label = (coordinates, text) => ({
  type: "Feature",
  geometry: { type: "Point", coordinates },
  properties: { label: LABEL_PREFIX + text },
});

export class Measure {
  // `context`: trackPosition(id) → [lon, lat] or null; trackAt(point) → a track id under
  // a screen point, or null.
  constructor(context) {
    this.context = context;
    this.map = null;
    this.mode = null; // "measure", "rings" or null
    this.points = [];
    this.ringCentre = null;
    this.ringTrack = null;
    this.readout = document.getElementById("measure-readout");
    this.radiiInput = document.getElementById("rings-radii");
    this.buttons = {
      measure: document.getElementById("measure-toggle"),
      rings: document.getElementById("rings-toggle"),
    };
    for (const [mode, button] of Object.entries(this.buttons)) {
      button.addEventListener("click", () => this.toggle(mode));
    }
    this.radiiInput.addEventListener("change", () => this.draw());
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && this.mode) this.toggle(this.mode);
    });
  }

  get busy() {
    return this.mode !== null;
  }

  attach(map) {
    this.map = map;
    map.addSource("measure", { type: "geojson", data: EMPTY });
    map.addLayer({ id: "measure-lines", type: "line", source: "measure", filter: ["==", ["geometry-type"], "LineString"], paint: { "line-color": "#c2185b", "line-width": 2, "line-dasharray": [3, 2] } });
    map.addLayer({ id: "measure-rings", type: "line", source: "measure", filter: ["==", ["geometry-type"], "Polygon"], paint: { "line-color": "#c2185b", "line-width": 1.5 } });
    map.addLayer({ id: "measure-labels", type: "symbol", source: "measure", filter: ["has", "label"], layout: { "icon-image": ["get", "label"], "icon-allow-overlap": true, "icon-ignore-placement": true } });
    map.on("click", (event) => this.click(event));
  }

  toggle(mode) {
    const leaving = this.mode === mode;
    this.mode = leaving ? null : mode;
    for (const [name, button] of Object.entries(this.buttons)) {
      button.setAttribute("aria-pressed", String(this.mode === name));
    }
    if (this.map) this.map.getCanvas().style.cursor = this.mode ? "crosshair" : "";
    if (mode === "measure" || this.mode === "measure") this.points = [];
    if (leaving && mode === "rings") {
      this.ringCentre = null;
      this.ringTrack = null;
    }
    this.draw();
  }

  click(event) {
    if (!this.mode) return;
    const point = [event.lngLat.lng, event.lngLat.lat];
    if (this.mode === "measure") {
      this.points.push(point);
    } else {
      this.ringTrack = this.context.trackAt(event.point);
      this.ringCentre = this.ringTrack ? null : point;
    }
    this.draw();
  }

  // Puts rings around a track (as a click on it in rings mode does).
  ringsAround(trackId) {
    if (this.mode !== "rings") this.toggle("rings");
    this.ringTrack = trackId;
    this.ringCentre = null;
    this.draw();
  }

  // Called as tracks move: rings follow theirs.
  tracksMoved() {
    if (!this.ringTrack || this.redrawing) return;
    this.redrawing = true;
    requestAnimationFrame(() => {
      this.redrawing = false;
      this.draw();
    });
  }

  centre() {
    if (this.ringTrack) return this.context.trackPosition(this.ringTrack);
    return this.ringCentre;
  }

  draw() {
    const features = [];
    const lines = [];
    if (this.points.length) {
      const parts = legs(this.points);
      if (parts.length) features.push({ type: "Feature", geometry: { type: "LineString", coordinates: this.points }, properties: {} });
      let total = 0;
      for (const leg of parts) {
        total += leg.metres;
        const text = `${distanceText(leg.metres)} ${bearingText(leg.bearing)}`;
        lines.push(text);
        features.push(label(leg.to, text));
      }
      if (parts.length > 1) lines.push(`total ${distanceText(total)}`);
      if (!parts.length) lines.push("click the next point");
    }
    const centre = this.mode === "rings" || this.ringTrack ? this.centre() : null;
    if (centre) {
      const radii = parseRadii(this.radiiInput.value);
      for (const km of radii) {
        features.push({ type: "Feature", geometry: { type: "Polygon", coordinates: [circleRing(centre, km * 1000)] }, properties: {} });
        features.push(label(destination(centre, 0, km * 1000), `${km} km`));
      }
      lines.push(`rings ${radii.join(", ")} km${this.ringTrack ? ` around ${this.ringTrack}` : ""}`);
    }
    if (this.mode === "measure" && !this.points.length) lines.push("click points to measure");
    if (this.mode === "rings" && !centre) lines.push("click a point or a track");
    this.readout.textContent = lines.join(" · ");
    this.readout.hidden = lines.length === 0;
    this.map?.getSource("measure")?.setData({ type: "FeatureCollection", features });
  }
}
