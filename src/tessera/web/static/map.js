// The map: an offline Natural Earth basemap and the symbol layers of tracks drawn by milsymbol
// (track-layer.js; overlay-layer.js adds the overlays beneath them, draw.js the sketch above;
// basemaps.js swaps the basemap, map-tools.js adds towns and the grid).
import * as maplibregl from "/static/vendor/maplibre-gl/maplibre-gl.mjs";
import { addBadge } from "/static/badges.js";
import { defaultBasemap, tileRequest } from "/static/basemaps.js";
import { LABEL_PREFIX, addLabel } from "/static/labels.js";
import { holdLayersOfEmptySources } from "/static/sparse-layers.js";
import { resolveTextImage } from "/static/text-images.js";
import { TRACK_SOURCES, TRACK_STYLE_LAYERS } from "/static/track-layer.js";

const SYMBOL_SIZE = 20;
// The sky's colours: while all are transparent (MapLibre's default) it shows nothing.
const SKY_COLOURS = ["sky-color", "horizon-color", "fog-color"];

const style = {
  version: 8,
  sources: {
    ...defaultBasemap.sources,
    ...TRACK_SOURCES,
  },
  layers: [
    ...defaultBasemap.layers,
    ...TRACK_STYLE_LAYERS,
  ],
};

export function createMap(container) {
  const map = new maplibregl.Map({
    container,
    style,
    center: [16.9, 53.35],
    zoom: 7.2,
    attributionControl: { compact: true, customAttribution: "Natural Earth, GeoNames" },
    // Operator basemaps (/tiles) are fetched with the token.
    transformRequest: tileRequest,
  });
  drawSkyOnlyWhenVisible(map);
  paintBottomBackgroundBehindTheCanvas(map);
  holdLayersOfEmptySources(map);
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-left");
  map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-left");
  // Each distinct SIDC (and label) is drawn once, the first time a feature needs it.
  map.setMissingStyleImageResolver((id) => {
    if (id.startsWith(LABEL_PREFIX)) addLabel(map, id);
    else if (!resolveTextImage(map, id) && !addBadge(map, id)) addSymbol(map, id);
  });
  return map;
}

// Replaces MapLibre's drawing function `name` with `make(original)`, in a copy (the
// drawing functions may be shared by every map of the page); false if there is none such.
function replaceDrawFunction(map, name, make) {
  const draw = map.painter && map.painter.drawFunctions;
  if (!draw || typeof draw[name] !== "function") return false;
  map.painter.drawFunctions = { ...draw, [name]: make(draw[name]) };
  return true;
}

// MapLibre draws the sky on every frame, a quad over the whole canvas, even for a style
// without one (its default sky is transparent). A software renderer pays for that quad as
// much as for a layer, so the sky is drawn only while the style gives it a colour.
function drawSkyOnlyWhenVisible(map) {
  let visible = true;
  const replaced = replaceDrawFunction(map, "sky", (sky) => (...args) =>
    visible ? sky.apply(map.painter.drawFunctions, args) : undefined,
  );
  if (!replaced) return;
  map.on("styledata", () => {
    const sky = map.getSky() || {};
    visible = SKY_COLOURS.some((key) => sky[key] !== undefined && sky[key] !== "transparent");
  });
}

// A background layer at the bottom of the style (the built-in basemap's land, and most
// vector styles') is a screenful of fill in every frame, which a software renderer pays for
// in full: about a fifth of a frame of the busy map. The canvas is composited over its
// container anyway, so a plain, opaque one is painted as the container's CSS background
// instead, and the frame is left clear beneath the layers above it. The colour follows
// the layer's paint (night mode) and is taken away in a frame that does not draw it.
function paintBottomBackgroundBehindTheCanvas(map) {
  const container = map.getContainer();
  let bottom = null;
  let painted = "";
  let paintedThisFrame = false;
  const paint = (colour) => {
    if (colour === painted) return;
    painted = colour;
    container.style.backgroundColor = colour;
  };
  const replaced = replaceDrawFunction(map, "background", (background) => (...args) => {
    const layer = args[2];
    const colour = layer.paint.get("background-color");
    const plain =
      layer.id === bottom &&
      colour.a === 1 &&
      layer.paint.get("background-opacity") === 1 &&
      !layer.paint.get("background-pattern");
    if (!plain) return background(...args);
    paintedThisFrame = true;
    paint(colour.toString());
    return undefined;
  });
  if (!replaced) return;
  map.on("styledata", () => {
    bottom = map.getLayersOrder()[0] ?? null;
  });
  map.on("render", () => {
    if (!paintedThisFrame) paint("");
    paintedThisFrame = false;
  });
}

function addSymbol(map, sidc) {
  if (map.hasImage(sidc)) return;
  const ratio = window.devicePixelRatio || 1;
  const canvas = new window.ms.Symbol(sidc, { size: SYMBOL_SIZE * ratio }).asCanvas();
  const context = canvas.getContext("2d");
  const image = context.getImageData(0, 0, canvas.width, canvas.height);
  map.addImage(sidc, image, { pixelRatio: ratio });
}
