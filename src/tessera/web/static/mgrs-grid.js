// The MGRS grid over the map: grid zone boundaries always, then the 100 km squares, the
// 10 km and the 1 km ones as one zooms in (each drawn only while few enough lines fit the
// view), with the squares named. Lines are straight in UTM: drawn zone by zone with proj4
// and cut at the zone's edges; names come from the mgrs package.
import { forward } from "/static/vendor/mgrs/mgrs.esm.js";
import { GRID_PREFIX } from "/static/text-images.js";

export const GRID_LAYERS = ["mgrs-grid-lines", "mgrs-grid-labels"];
const EMPTY = { type: "FeatureCollection", features: [] };
// Square sizes in metres, the zoom from which each is drawn, and its name's precision.
const LEVELS = [
  { size: 100_000, minZoom: 5, digits: 0 },
  { size: 10_000, minZoom: 8, digits: 1 },
  { size: 1_000, minZoom: 11, digits: 2 },
];
const MAX_LINES = 120;
// While the map keeps panning (a programmatic pan ends a move on every frame) the grid is
// drawn again at most this often, and once more when the moves stop; a new zoom, or a view
// still for this long, is drawn at once.
const REDRAW_MS = 250;
// The grid is drawn over the view and half a view on each side, and drawn again only when
// the zoom changes or the view leaves that margin: every drawing has the map's worker lay
// the grid out anew, which a panning map would otherwise pay for four times a second.
const MARGIN = 0.5;
const SAMPLES = 24;
const MIN_LAT = -80;
const MAX_LAT = 84;

const utm = (zone) => `+proj=utm +zone=${zone} +datum=WGS84 +units=m +no_defs`;

// The finest level drawn at `zoom` (null below the 100 km squares' zoom).
export function gridLevel(zoom) {
  return [...LEVELS].reverse().find((level) => zoom >= level.minZoom) ?? null;
}

// The part of a polyline [[lon, lat], ...] between two meridians, as pieces.
function clipToLongitudes(points, west, east) {
  const pieces = [];
  let piece = [];
  const inside = ([lon]) => lon >= west && lon <= east;
  const crossing = (a, b, lon) => {
    const t = (lon - a[0]) / (b[0] - a[0]);
    return [lon, a[1] + t * (b[1] - a[1])];
  };
  for (let i = 0; i < points.length; i += 1) {
    const point = points[i];
    const previous = points[i - 1];
    if (inside(point)) {
      if (previous && !inside(previous)) {
        piece.push(crossing(previous, point, previous[0] < west ? west : east));
      }
      piece.push(point);
    } else if (previous && inside(previous)) {
      piece.push(crossing(previous, point, point[0] < west ? west : east));
      pieces.push(piece);
      piece = [];
    }
  }
  if (piece.length > 1) pieces.push(piece);
  return pieces.filter((p) => p.length > 1);
}

function line(coordinates, properties) {
  return { type: "Feature", geometry: { type: "LineString", coordinates }, properties };
}

// Grid zone boundaries: meridians every 6°, parallels every 8° (the X band 12°).
function zoneLines([west, south, east, north]) {
  const features = [];
  const lats = [MIN_LAT, Math.max(MIN_LAT, south), Math.min(MAX_LAT, north), MAX_LAT];
  for (let lon = Math.ceil((west + 180) / 6) * 6 - 180; lon <= east; lon += 6) {
    features.push(line([[lon, lats[1]], [lon, lats[2]]], { size: 0 }));
  }
  for (let lat = MIN_LAT; lat <= 72; lat += 8) {
    if (lat >= south && lat <= north) features.push(line([[west, lat], [east, lat]], { size: 0 }));
  }
  if (MAX_LAT >= south && MAX_LAT <= north) features.push(line([[west, MAX_LAT], [east, MAX_LAT]], { size: 0 }));
  return features;
}

// One zone's lines and names at `level` within the view (lons clamped to the zone).
function zoneSquares(proj4, zone, [west, south, east, north], level, maxLines) {
  const project = proj4("EPSG:4326", utm(zone));
  const zoneWest = -180 + (zone - 1) * 6;
  const zoneEast = zoneWest + 6;
  const w = Math.max(west, zoneWest);
  const e = Math.min(east, zoneEast);
  const edge = [];
  for (let i = 0; i <= SAMPLES; i += 1) {
    const t = i / SAMPLES;
    edge.push([w + t * (e - w), south], [w + t * (e - w), north]);
    edge.push([w, south + t * (north - south)], [e, south + t * (north - south)]);
  }
  const xy = edge.map((point) => project.forward(point));
  const size = level.size;
  const minE = Math.floor(Math.min(...xy.map((p) => p[0])) / size) * size;
  const maxE = Math.ceil(Math.max(...xy.map((p) => p[0])) / size) * size;
  const minN = Math.floor(Math.min(...xy.map((p) => p[1])) / size) * size;
  const maxN = Math.ceil(Math.max(...xy.map((p) => p[1])) / size) * size;
  if ((maxE - minE) / size > maxLines || (maxN - minN) / size > maxLines) return null;
  const features = [];
  const along = (from, to, fixed, eastings) => {
    const points = [];
    for (let i = 0; i <= SAMPLES; i += 1) {
      const value = from + ((to - from) * i) / SAMPLES;
      points.push(project.inverse(eastings ? [fixed, value] : [value, fixed]));
    }
    return points;
  };
  for (let easting = minE; easting <= maxE; easting += size) {
    for (const piece of clipToLongitudes(along(minN, maxN, easting, true), zoneWest, zoneEast)) {
      features.push(line(piece, { size }));
    }
  }
  for (let northing = minN; northing <= maxN; northing += size) {
    for (const piece of clipToLongitudes(along(minE, maxE, northing, false), zoneWest, zoneEast)) {
      features.push(line(piece, { size }));
    }
  }
  // A name at each square's centre, when the centre is in the zone and the view.
  for (let easting = minE; easting < maxE; easting += size) {
    for (let northing = minN; northing < maxN; northing += size) {
      const [lon, lat] = project.inverse([easting + size / 2, northing + size / 2]);
      if (lon < zoneWest || lon >= zoneEast || lon < west || lon > east) continue;
      if (lat < Math.max(MIN_LAT, south) || lat > Math.min(MAX_LAT, north)) continue;
      features.push({
        type: "Feature",
        geometry: { type: "Point", coordinates: [lon, lat] },
        properties: { size, name: GRID_PREFIX + squareName(forward([lon, lat], level.digits)) },
      });
    }
  }
  return features;
}

// "34UBD99" as "BD 9 9": the square's letters and digits, without its zone.
function squareName(reference) {
  const match = /^\d{1,2}[A-Z]([A-Z]{2})(\d*)$/.exec(reference);
  if (!match) return reference;
  const [, square, digits] = match;
  const half = digits.length / 2;
  return half ? `${square} ${digits.slice(0, half)} ${digits.slice(half)}` : square;
}

// [west, south, east, north] widened by `margin` of its width and height on each side.
function widen([west, south, east, north], margin) {
  const width = east - west;
  const height = north - south;
  return [west - margin * width, south - margin * height, east + margin * width, north + margin * height];
}

// The grid for a view: [west, south, east, north] at `zoom`. `margin` widens the view by
// that fraction of its size on each side; a level fits as it would in the view alone.
export function gridFeatures(proj4, shown, zoom, margin = 0) {
  const bounds = widen(shown, margin);
  const maxLines = MAX_LINES * (1 + 2 * margin);
  const [west, south, east, north] = [
    Math.max(-180, bounds[0]),
    Math.max(MIN_LAT, bounds[1]),
    Math.min(180, bounds[2]),
    Math.min(MAX_LAT, bounds[3]),
  ];
  if (west >= east || south >= north) return { features: [], size: null };
  const view = [west, south, east, north];
  const features = zoneLines(view);
  // The finest level that fits, with the coarser ones beneath it.
  let drawn = null;
  for (const level of LEVELS) {
    if (zoom < level.minZoom) break;
    const squares = [];
    let fits = true;
    for (let zone = Math.floor((west + 180) / 6) + 1; zone <= Math.min(60, Math.floor((east + 180) / 6) + 1); zone += 1) {
      const found = zoneSquares(proj4, zone, view, level, maxLines);
      if (found === null) {
        fits = false;
        break;
      }
      squares.push(...found);
    }
    if (!fits) break;
    // Only the finest level's names: the coarser ones would crowd them.
    for (const feature of features) if (feature.geometry.type === "Point") feature.properties.hidden = true;
    features.push(...squares);
    drawn = level.size;
  }
  return { features: features.filter((f) => !f.properties.hidden), size: drawn };
}

export class MgrsGrid {
  constructor(map) {
    this.map = map;
    this.visible = true;
    this.size = null;
    this.drawnAt = -Infinity;
    this.drawnZoom = null;
    // What the last drawing covers, [west, south, east, north], or null.
    this.drawnBounds = null;
    this.pending = null;
    this.update = () => this.moved();
  }

  moved() {
    if (this.covers()) return;
    const wait = this.drawnAt + REDRAW_MS - performance.now();
    if (wait <= 0 || this.map.getZoom() !== this.drawnZoom) {
      this.redraw();
    } else if (this.pending === null) {
      this.pending = setTimeout(() => this.redraw(), wait);
    }
  }

  // Whether the last drawing still covers the view at its zoom.
  covers() {
    if (this.drawnBounds === null || this.map.getZoom() !== this.drawnZoom) return false;
    const bounds = this.map.getBounds();
    const [west, south, east, north] = this.drawnBounds;
    return (
      bounds.getWest() >= west &&
      bounds.getEast() <= east &&
      bounds.getSouth() >= south &&
      bounds.getNorth() <= north
    );
  }

  addLayers(beforeId) {
    const map = this.map;
    map.addSource("mgrs-grid", { type: "geojson", data: EMPTY });
    map.addLayer(
      {
        id: "mgrs-grid-lines",
        type: "line",
        source: "mgrs-grid",
        filter: ["==", ["geometry-type"], "LineString"],
        paint: {
          "line-color": ["match", ["get", "size"], 0, "#0d2f57", "#1b4f8a"],
          "line-width": ["match", ["get", "size"], 0, 1.6, 100000, 1.2, 10000, 0.8, 0.5],
          "line-opacity": 0.75,
        },
      },
      beforeId,
    );
    map.addLayer(
      {
        id: "mgrs-grid-labels",
        type: "symbol",
        source: "mgrs-grid",
        filter: ["==", ["geometry-type"], "Point"],
        layout: { "icon-image": ["get", "name"], "icon-padding": 2 },
      },
      beforeId,
    );
    map.on("moveend", this.update);
    this.redraw();
  }

  redraw() {
    clearTimeout(this.pending);
    this.pending = null;
    this.drawnAt = performance.now();
    this.drawnZoom = this.map.getZoom();
    const source = this.map.getSource("mgrs-grid");
    if (!source) return;
    this.drawnBounds = null;
    if (!this.visible) {
      source.setData(EMPTY);
      this.size = null;
      return;
    }
    const bounds = this.map.getBounds();
    const view = [bounds.getWest(), bounds.getSouth(), bounds.getEast(), bounds.getNorth()];
    const { features, size } = gridFeatures(window.proj4, view, this.map.getZoom(), MARGIN);
    this.drawnBounds = widen(view, MARGIN);
    this.size = size;
    source.setData({ type: "FeatureCollection", features });
  }

  setVisible(visible) {
    this.visible = visible;
    for (const id of GRID_LAYERS) {
      this.map.setLayoutProperty(id, "visibility", visible ? "visible" : "none");
    }
    this.redraw();
  }
}
