// The map: an offline Natural Earth basemap and the symbol layers of tracks drawn by milsymbol
// (track-layer.js; overlay-layer.js adds the overlays beneath them, draw.js the sketch above).
import * as maplibregl from "/static/vendor/maplibre-gl/maplibre-gl.mjs";
import { addBadge } from "/static/badges.js";
import { LABEL_PREFIX, addLabel } from "/static/labels.js";
import { TRACK_SOURCES, TRACK_STYLE_LAYERS } from "/static/track-layer.js";

const SYMBOL_SIZE = 20;

const style = {
  version: 8,
  sources: {
    land: { type: "geojson", data: "/static/vendor/basemap/land.geojson" },
    borders: { type: "geojson", data: "/static/vendor/basemap/borders.geojson" },
    ...TRACK_SOURCES,
  },
  layers: [
    { id: "sea", type: "background", paint: { "background-color": "#b8d0e6" } },
    { id: "land", type: "fill", source: "land", paint: { "fill-color": "#eef0e4" } },
    {
      id: "borders",
      type: "line",
      source: "borders",
      paint: { "line-color": "#7b7f86", "line-width": 1.2, "line-dasharray": [4, 2] },
    },
    ...TRACK_STYLE_LAYERS,
  ],
};

export function createMap(container) {
  const map = new maplibregl.Map({
    container,
    style,
    center: [16.9, 53.35],
    zoom: 7.2,
    attributionControl: { compact: true, customAttribution: "Natural Earth" },
  });
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-left");
  map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-left");
  // Each distinct SIDC (and label) is drawn once, the first time a feature needs it.
  map.setMissingStyleImageResolver((id) => {
    if (id.startsWith(LABEL_PREFIX)) addLabel(map, id);
    else if (!addBadge(map, id)) addSymbol(map, id);
  });
  return map;
}

function addSymbol(map, sidc) {
  if (map.hasImage(sidc)) return;
  const ratio = window.devicePixelRatio || 1;
  const canvas = new window.ms.Symbol(sidc, { size: SYMBOL_SIZE * ratio }).asCanvas();
  const context = canvas.getContext("2d");
  const image = context.getImageData(0, 0, canvas.width, canvas.height);
  map.addImage(sidc, image, { pixelRatio: ratio });
}
