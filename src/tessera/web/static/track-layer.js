// The tracks on the map, kept fast for large pictures: the stream's features are copied into
// slim ones (what the layers read, updated in place), and the sources are given new data
// at most once per animation frame, less often the larger the picture and the longer the
// last update took, never while the previous one is still being indexed. Tracks are drawn
// by identity group, each group from its own clustered source: where symbols of one group
// overlap they are drawn as one frame of the group's with a count (never mixing friend and
// foe), which also keeps a picture of thousands of tracks cheap to draw. Units fold into
// their formations below their echelon's zoom.
import { FORMATION_PREFIX, declutter, echelonOf } from "/static/declutter.js";

const EMPTY = { type: "FeatureCollection", features: [] };
// Identity groups, in the order they are drawn (the later on top); `contacts` are those
// whose identity is not yet known. The name is the group's source and its symbols' layer.
// `clusters` is the layer of the group's clusters.
const TRACK_GROUPS = [
  { name: "friends", clusters: "friend-clusters", identities: ["friend", "assumed-friend"] },
  { name: "neutrals", clusters: "neutral-clusters", identities: ["neutral"] },
  { name: "hostiles", clusters: "hostile-clusters", identities: ["hostile", "suspect"] },
  { name: "contacts", clusters: "contact-clusters", identities: ["unknown", "pending"] },
];
const GROUP_OF = new Map(TRACK_GROUPS.flatMap((g) => g.identities.map((i) => [i, g.name])));
// Contacts cluster further in: their overlaps say little until an identity is known. Known
// tracks cluster only where their symbols overlap, and never once zoomed in past a
// company's zoom, so every unit can be picked out on its own.
const CLUSTERING = {
  contacts: { clusterRadius: 28, clusterMaxZoom: 13 },
  own: { clusterRadius: 20, clusterMaxZoom: 10 },
};
// Symbols grow as the user zooms in.
const ICON_SIZE = ["interpolate", ["linear"], ["zoom"], 4, 0.45, 7, 0.65, 10, 1, 14, 1.3];
// Tentative tracks are not yet believed; coasting ones are ageing; stale ones show only
// where something was last known.
const ICON_OPACITY = [
  "match", ["get", "status"], "tentative", 0.45, "coasting", 0.6, "stale", 0.3, 1,
];
// A cluster's image: "cluster:<group>:<count>" (badges.js draws it).
export const CLUSTER_PREFIX = "cluster:";
export const COUNT_PREFIX = "count:";
// The layers that draw single tracks, and all the layers a track (or what stands for it)
// is drawn by, for clicks and queries; the lowest of them, for layers drawn beneath.
export const TRACK_SYMBOL_LAYERS = TRACK_GROUPS.map((g) => g.name);
export const TRACK_LAYERS = [
  ...TRACK_SYMBOL_LAYERS,
  ...TRACK_GROUPS.map((g) => g.clusters),
  "formations",
];
export const LOWEST_TRACK_LAYER = TRACK_SYMBOL_LAYERS[0];

export const TRACK_SOURCES = {
  ...Object.fromEntries(
    TRACK_GROUPS.map((g) => [
      g.name,
      { type: "geojson", data: EMPTY, cluster: true, ...(CLUSTERING[g.name] ?? CLUSTERING.own) },
    ]),
  ),
  formations: { type: "geojson", data: EMPTY },
};

const symbolLayout = {
  "icon-image": ["get", "sidc"],
  "icon-size": ICON_SIZE,
  "icon-allow-overlap": true,
  "icon-ignore-placement": true,
};

export const TRACK_STYLE_LAYERS = [
  ...TRACK_GROUPS.map((g) => ({
    id: g.name,
    type: "symbol",
    source: g.name,
    filter: ["!", ["has", "point_count"]],
    layout: symbolLayout,
    paint: { "icon-opacity": ICON_OPACITY },
  })),
  ...TRACK_GROUPS.map((g) => ({
    id: g.clusters,
    type: "symbol",
    source: g.name,
    filter: ["has", "point_count"],
    layout: {
      ...symbolLayout,
      "icon-image": ["concat", CLUSTER_PREFIX, g.name, ":", ["get", "point_count_abbreviated"]],
    },
  })),
  { id: "formations", type: "symbol", source: "formations", layout: symbolLayout },
  {
    id: "formation-counts",
    type: "symbol",
    source: "formations",
    layout: {
      ...symbolLayout,
      "icon-image": ["concat", COUNT_PREFIX, ["to-string", ["get", "count"]]],
      "icon-anchor": "bottom-left",
      "icon-offset": [10, -8],
    },
  },
];

// Milliseconds between two updates of the sources, by the number of tracks: a picture of
// thousands moves once a second, as a TAK client's would.
function baseInterval(size) {
  if (size <= 1000) return 0;
  if (size <= 5000) return 250;
  return 1000;
}

function slim(feature, into) {
  const p = feature.properties;
  const target = into ?? {
    type: "Feature",
    geometry: { type: "Point", coordinates: [0, 0] },
    properties: {},
  };
  target.geometry.coordinates[0] = feature.geometry.coordinates[0];
  target.geometry.coordinates[1] = feature.geometry.coordinates[1];
  const q = target.properties;
  q.id = p.id;
  q.sidc = p.sidc;
  q.identity = p.identity;
  q.status = p.status;
  q.name = p.name ?? null;
  q.subject = p.subject ?? null;
  q.parent = p.parent ?? null;
  return target;
}

export class TrackLayer {
  constructor() {
    this.map = null;
    this.slim = new Map();
    this.identities = new Set();
    this.declutter = true;
    this.scheduled = false;
    this.busy = false;
    this.dirty = false;
    this.lastFlush = 0;
    this.lastCost = 0;
    this.zoomBand = null;
    this.emptySources = new Set();
    this.onDrawn = () => {};
    // What the last update drew: counts and the formations' members, for the page.
    this.shown = 0;
    this.formations = new Map();
    this.flushes = 0;
    this.received = 0;
  }

  // `onTrack(id)` when a track is clicked; `onDrawn(shown)` once new data is on the map.
  attach(map, { onTrack, onDrawn = () => {} }) {
    this.map = map;
    this.onDrawn = onDrawn;
    for (const group of TRACK_GROUPS) {
      map.on("click", group.clusters, (event) => this.expandCluster(group.name, event.features?.[0]));
    }
    map.on("click", "formations", (event) => {
      const feature = event.features?.[0];
      if (!feature) return;
      map.easeTo({ center: feature.geometry.coordinates, zoom: Math.max(map.getZoom() + 2, 10) });
    });
    for (const layer of TRACK_SYMBOL_LAYERS) {
      map.on("click", layer, (event) => {
        const feature = event.features?.[0];
        if (feature) onTrack(feature.properties.id);
      });
    }
    // Formations fold and unfold as the zoom crosses an echelon's threshold.
    map.on("zoomend", () => {
      const band = Math.floor(map.getZoom() * 2);
      if (band !== this.zoomBand) this.schedule();
    });
  }

  expandCluster(group, feature) {
    if (!feature) return;
    const source = this.map.getSource(group);
    Promise.resolve(source.getClusterExpansionZoom(feature.properties.cluster_id)).then((zoom) =>
      this.map.easeTo({ center: feature.geometry.coordinates, zoom }),
    );
  }

  // `tracks` is the stream's Map of features by id; `changedIds` those that changed, or
  // null when all may have (a snapshot).
  update(tracks, changedIds, identities) {
    this.identities = identities;
    this.received += changedIds?.length ?? tracks.size;
    if (changedIds === null || tracks.size < this.slim.size / 2) {
      this.slim = new Map();
      for (const [id, feature] of tracks) this.slim.set(id, slim(feature));
    } else {
      for (const id of changedIds) {
        const feature = tracks.get(id);
        if (feature) this.slim.set(id, slim(feature, this.slim.get(id)));
        else this.slim.delete(id);
      }
      if (this.slim.size > tracks.size) {
        for (const id of this.slim.keys()) if (!tracks.has(id)) this.slim.delete(id);
      }
    }
    this.schedule();
  }

  clear() {
    this.slim = new Map();
    this.schedule();
  }

  schedule() {
    this.dirty = true;
    if (this.scheduled || this.busy || !this.map) return;
    this.scheduled = true;
    const interval = Math.max(baseInterval(this.slim.size), 2 * this.lastCost);
    const wait = this.lastFlush + interval - performance.now();
    const frame = () => requestAnimationFrame(() => this.flush());
    if (wait > 0) setTimeout(frame, wait);
    else frame();
  }

  async flush() {
    this.scheduled = false;
    this.dirty = false;
    this.busy = true;
    const started = performance.now();
    // Each group's features; known tracks first go through the decluttering.
    const groups = new Map(TRACK_GROUPS.map((g) => [g.name, []]));
    const own = [];
    for (const feature of this.slim.values()) {
      const { status, identity } = feature.properties;
      if (status === "dead" || !this.identities.has(identity)) continue;
      const group = GROUP_OF.get(identity) ?? "contacts";
      if (group === "contacts") groups.get(group).push(feature);
      else own.push(feature);
    }
    this.shown = own.length + groups.get("contacts").length;
    const zoom = this.map.getZoom();
    this.zoomBand = Math.floor(zoom * 2);
    const split = this.declutter ? declutter(own, zoom) : { own, formations: [] };
    this.formations = new Map(split.formations.map((f) => [f.properties.formation, f]));
    for (const feature of split.own) {
      groups.get(GROUP_OF.get(feature.properties.identity)).push(feature);
    }
    const updates = [...groups].map(([name, features]) => this.setData(name, features));
    updates.push(this.setData("formations", split.formations));
    try {
      await Promise.all(updates);
    } finally {
      this.lastCost = performance.now() - started;
      this.lastFlush = performance.now();
      this.busy = false;
      this.flushes += 1;
      this.onDrawn(this.shown);
      if (this.dirty) this.schedule();
    }
  }

  setData(name, features) {
    const source = this.map.getSource(name);
    if (!source) return undefined;
    // An empty source stays empty without costing the worker anything.
    if (features.length === 0 && this.emptySources.has(name)) return undefined;
    if (features.length === 0) this.emptySources.add(name);
    else this.emptySources.delete(name);
    // Resolves once the worker has indexed the data.
    return source.setData({ type: "FeatureCollection", features });
  }

  // The track ids a formation stands for (empty if no such formation is drawn).
  membersOf(formation) {
    const feature = this.formations.get(formation);
    return feature ? feature.properties.members.split(" ") : [];
  }

  echelonOf(trackId) {
    return echelonOf(this.slim.get(trackId)?.properties.sidc);
  }
}

export const isFormationId = (id) => typeof id === "string" && id.startsWith(FORMATION_PREFIX);
