// The overlays on the map, under the track symbols: areas (circles and corridors come as
// polygons) with a light fill, lines, points as a marker or their APP-6 symbol, and names.
import { labelPoint } from "/static/geo.js";
import { LABEL_PREFIX } from "/static/labels.js";

const COLOUR = "#6a2c91";
// Imagery footprints: another colour, so they read apart from drawn overlays.
const IMAGERY_COLOUR = "#0f7c8c";
const isImagery = ["boolean", ["get", "imagery"], false];
const HIGHLIGHT = "#ffc933";
const EMPTY = { type: "FeatureCollection", features: [] };
// What a click on the map may hit, top-most first.
export const OVERLAY_LAYERS = ["overlay-symbol", "overlay-point", "overlay-hit", "overlay-fill"];

const isPoint = ["==", ["geometry-type"], "Point"];
const isPolygon = ["==", ["geometry-type"], "Polygon"];
const isLinear = ["in", ["geometry-type"], ["literal", ["LineString", "Polygon"]]];
const hasSymbol = ["!=", ["get", "sidc"], ""];
const isSelected = ["boolean", ["get", "selected"], false];
const NOTHING = ["==", ["get", "id"], ""];

// Added once the map has loaded, each just below `beforeId` (the tracks).
export function addOverlayLayers(map, beforeId) {
  map.addSource("overlays", { type: "geojson", data: EMPTY });
  map.addSource("overlay-labels", { type: "geojson", data: EMPTY });
  const layers = [
    {
      id: "overlay-fill",
      type: "fill",
      source: "overlays",
      filter: isPolygon,
      paint: {
        "fill-color": ["case", isImagery, IMAGERY_COLOUR, COLOUR],
        "fill-opacity": ["case", isImagery, 0.06, 0.12],
      },
    },
    {
      id: "overlay-selected",
      type: "line",
      source: "overlays",
      filter: NOTHING,
      layout: { "line-join": "round", "line-cap": "round" },
      paint: { "line-color": HIGHLIGHT, "line-width": 7, "line-opacity": 0.85 },
    },
    {
      id: "overlay-line",
      type: "line",
      source: "overlays",
      filter: isLinear,
      layout: { "line-join": "round", "line-cap": "round" },
      paint: {
        "line-color": ["case", isImagery, IMAGERY_COLOUR, COLOUR],
        "line-width": ["match", ["get", "kind"], "line", 2.5, 2],
        "line-dasharray": ["case", isImagery, ["literal", [3, 2]], ["literal", [1, 0]]],
      },
    },
    {
      // Invisible and wide: a line is easy to click.
      id: "overlay-hit",
      type: "line",
      source: "overlays",
      filter: isLinear,
      paint: { "line-color": COLOUR, "line-width": 12, "line-opacity": 0 },
    },
    {
      id: "overlay-point",
      type: "circle",
      source: "overlays",
      filter: ["all", isPoint, ["!", hasSymbol]],
      paint: {
        "circle-radius": ["case", isSelected, 8, 6],
        "circle-color": COLOUR,
        "circle-stroke-color": ["case", isSelected, HIGHLIGHT, "#ffffff"],
        "circle-stroke-width": ["case", isSelected, 3, 2],
      },
    },
    {
      // Behind a selected point's symbol.
      id: "overlay-halo",
      type: "circle",
      source: "overlays",
      filter: NOTHING,
      paint: { "circle-radius": 17, "circle-color": HIGHLIGHT, "circle-opacity": 0.6 },
    },
    {
      id: "overlay-symbol",
      type: "symbol",
      source: "overlays",
      filter: ["all", isPoint, hasSymbol],
      layout: {
        "icon-image": ["get", "sidc"],
        "icon-allow-overlap": true,
        "icon-ignore-placement": true,
      },
    },
    {
      id: "overlay-label",
      type: "symbol",
      source: "overlay-labels",
      layout: {
        "icon-image": ["get", "label"],
        "icon-anchor": ["match", ["get", "kind"], "point", "top", "center"],
        // Below a point's marker, or below its symbol (drawn larger).
        "icon-offset": [
          "case",
          hasSymbol,
          ["literal", [0, 16]],
          ["match", ["get", "kind"], "point", ["literal", [0, 9]], ["literal", [0, 0]]],
        ],
        "icon-padding": 2,
      },
    },
  ];
  for (const layer of layers) map.addLayer(layer, beforeId);
}

// Draws `features` (the overlays to show) with `selectedId` highlighted.
export function showOverlays(map, features, selectedId) {
  const shapes = [];
  const labels = [];
  for (const feature of features) {
    const p = feature.properties;
    const properties = {
      id: feature.id,
      kind: p.kind,
      sidc: p.sidc ?? "",
      selected: feature.id === selectedId,
      label: LABEL_PREFIX + p.name,
      imagery: Boolean(p.imagery),
    };
    shapes.push({ type: "Feature", geometry: feature.geometry, properties });
    const at = labelPoint(feature.geometry);
    if (at) labels.push({ type: "Feature", geometry: { type: "Point", coordinates: at }, properties });
  }
  map.getSource("overlays")?.setData({ type: "FeatureCollection", features: shapes });
  map.getSource("overlay-labels")?.setData({ type: "FeatureCollection", features: labels });
  if (map.getLayer("overlay-selected")) {
    const selected = ["==", ["get", "id"], selectedId ?? ""];
    map.setFilter("overlay-selected", selectedId ? ["all", isLinear, selected] : NOTHING);
    map.setFilter("overlay-halo", selectedId ? ["all", isPoint, hasSymbol, selected] : NOTHING);
  }
}

// The ids of the overlays drawn on screen now.
export function renderedOverlayIds(map) {
  const layers = OVERLAY_LAYERS.filter((id) => map.getLayer(id));
  const ids = map.queryRenderedFeatures({ layers }).map((f) => f.properties.id);
  return [...new Set(ids)];
}
