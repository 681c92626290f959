// Basemaps: the built-in one (Natural Earth land, sea and borders: it needs nothing) and
// those the server offers from the operator's tile archives (/tiles). Switching swaps the
// basemap's own sources and layers beneath everything else, so the picture's layers
// (towns, grid, overlays, tracks, drawing) stay as they are: no setStyle.
import { apiFetch, storedToken } from "/static/auth.js";

export const DEFAULT_BASEMAP = "default";
const PREFIX = "basemap:";
// A vector basemap without a style of its own is drawn in these.
const PLAIN_FILL = "#dfe3d6";
const PLAIN_LINE = "#7b7f86";

// The built-in basemap, part of the map's first style.
export const defaultBasemap = {
  // Land and borders in one source: each source's fill and line layers cost a frame a
  // stencil mask of their own.
  sources: {
    "natural-earth": { type: "geojson", data: "/static/vendor/basemap/natural-earth.geojson" },
  },
  // The land is the background and the sea is filled over it: a software renderer fills
  // every pixel of each layer drawn, and most views show more land than sea.
  layers: [
    { id: "land", type: "background", paint: { "background-color": "#eef0e4" } },
    {
      id: "sea",
      type: "fill",
      source: "natural-earth",
      filter: ["==", ["get", "kind"], "sea"],
      paint: { "fill-color": "#b8d0e6" },
    },
    {
      id: "borders",
      type: "line",
      source: "natural-earth",
      filter: ["==", ["get", "kind"], "border"],
      paint: { "line-color": "#7b7f86", "line-width": 1.2, "line-dasharray": [4, 2] },
    },
  ],
};

// MapLibre's transformRequest: tiles, TileJSON and styles from this server carry the
// token, like every other call of the map.
export function tileRequest(url) {
  let parsed;
  try {
    parsed = new URL(url, location.href);
  } catch {
    return { url };
  }
  const token = storedToken();
  if (parsed.origin !== location.origin || !parsed.pathname.startsWith("/tiles/") || !token) {
    return { url };
  }
  return { url, headers: { Authorization: `Bearer ${token}` } };
}

async function fetchJson(url) {
  const response = await apiFetch(url);
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return response.json();
}

// An operator's basemap as sources and layers, named apart from everything else's.
async function operatorBasemap(entry) {
  const prefix = `${PREFIX}${entry.name}:`;
  if (entry.kind === "raster") {
    return {
      sources: { [`${prefix}raster`]: { type: "raster", url: entry.tilejson, tileSize: 256 } },
      layers: [{ id: `${prefix}raster`, type: "raster", source: `${prefix}raster` }],
    };
  }
  if (entry.style) {
    const style = await fetchJson(entry.style);
    const sources = {};
    for (const [name, source] of Object.entries(style.sources)) sources[prefix + name] = source;
    const layers = style.layers.map((layer) => ({
      ...layer,
      id: prefix + layer.id,
      ...(layer.source ? { source: prefix + layer.source } : {}),
    }));
    return { sources, layers, glyphs: style.glyphs, sprite: style.sprite };
  }
  // No style: every layer of the archive, plainly.
  const tilejson = await fetchJson(entry.tilejson);
  const source = `${prefix}vector`;
  const layers = [];
  for (const { id } of tilejson.vector_layers ?? []) {
    const common = { source, "source-layer": id };
    layers.push(
      { id: `${prefix}${id}:fill`, type: "fill", ...common, filter: ["==", ["geometry-type"], "Polygon"], paint: { "fill-color": PLAIN_FILL } },
      { id: `${prefix}${id}:line`, type: "line", ...common, paint: { "line-color": PLAIN_LINE, "line-width": 0.8 } },
      { id: `${prefix}${id}:point`, type: "circle", ...common, filter: ["==", ["geometry-type"], "Point"], paint: { "circle-radius": 2, "circle-color": PLAIN_LINE } },
    );
  }
  return { sources: { [source]: { type: "vector", url: entry.tilejson } }, layers };
}

export class Basemaps {
  constructor(map) {
    this.map = map;
    this.current = DEFAULT_BASEMAP;
    // The layers and sources of the basemap shown now.
    this.layerIds = defaultBasemap.layers.map((layer) => layer.id);
    this.sourceIds = Object.keys(defaultBasemap.sources);
    this.offered = [{ name: DEFAULT_BASEMAP, title: "Natural Earth (built in)", kind: "vector" }];
    this.pending = null;
  }

  // Those the server offers, after the built-in one; a server without any offers none.
  async load() {
    try {
      const { basemaps } = await fetchJson("/tiles");
      this.offered = [this.offered[0], ...basemaps];
    } catch {
      // The built-in basemap is always there.
    }
    return this.offered;
  }

  async select(name) {
    if (name === this.current) return;
    const entry = this.offered.find((basemap) => basemap.name === name);
    if (!entry) throw new Error(`no basemap named ${name}`);
    const request = (this.pending = Symbol(name));
    const spec = name === DEFAULT_BASEMAP ? defaultBasemap : await operatorBasemap(entry);
    // A later choice overtook this one while its style was on its way.
    if (this.pending !== request) return;
    this.swap(spec);
    this.current = name;
  }

  swap(spec) {
    const map = this.map;
    for (const id of this.layerIds) if (map.getLayer(id)) map.removeLayer(id);
    for (const id of this.sourceIds) {
      // The built-in sources stay loaded: switching back costs nothing.
      if (!(id in defaultBasemap.sources) && map.getSource(id)) map.removeSource(id);
    }
    if (spec.glyphs) map.setGlyphs(spec.glyphs);
    if (spec.sprite) map.setSprite(spec.sprite);
    const beforeId = map.getStyle().layers[0]?.id;
    for (const [id, source] of Object.entries(spec.sources)) {
      if (!map.getSource(id)) map.addSource(id, source);
    }
    for (const layer of spec.layers) map.addLayer(layer, beforeId);
    this.layerIds = spec.layers.map((layer) => layer.id);
    this.sourceIds = Object.keys(spec.sources);
    // Night mode paints the built-in basemap again (app.js listens).
    map.fire("basemapchange");
  }
}
