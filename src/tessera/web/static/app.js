// Tessera's map client: wires the map, the live stream, the filters and the side panel.
import { createMap, showTracks } from "/static/map.js";
import { hideTrack, showTrack, shownTrack } from "/static/panel.js";
import { TrackStream } from "/static/stream.js";

const IDENTITIES = ["friend", "assumed-friend", "neutral", "unknown", "pending", "suspect", "hostile"];
const PANEL_REFRESH_MS = 2000;

const state = {
  picture: null,
  identities: new Set(IDENTITIES),
  stream: null,
  drawPending: false,
  panelRefreshed: 0,
};
const map = createMap("map");

function visibleTracks() {
  if (!state.stream) return [];
  return [...state.stream.tracks.values()].filter(
    (f) => f.properties.status !== "dead" && state.identities.has(f.properties.identity),
  );
}

function draw() {
  // At most one redraw per frame, however many messages arrive.
  if (state.drawPending) return;
  state.drawPending = true;
  requestAnimationFrame(() => {
    state.drawPending = false;
    if (!state.stream) return;
    showTracks(map, [...state.stream.tracks.values()], state.identities);
    document.getElementById("count").textContent = `${visibleTracks().length} tracks`;
    const updated = state.stream.lastUpdate;
    if (updated) {
      document.getElementById("updated").textContent =
        `updated ${updated.toISOString().slice(11, 19)}Z`;
    }
  });
}

function onTracks(_tracks, changedIds) {
  draw();
  const selected = shownTrack();
  const now = Date.now();
  if (selected && changedIds.includes(selected) && now - state.panelRefreshed > PANEL_REFRESH_MS) {
    state.panelRefreshed = now;
    showTrack(state.picture, selected);
  }
}

function onStatus(status) {
  const element = document.getElementById("connection");
  element.className = `status ${status}`;
  element.textContent = status;
}

function subscribe(picture) {
  state.stream?.stop();
  state.picture = picture;
  state.stream = new TrackStream({ picture, onTracks, onStatus });
  state.stream.start();
  hideTrack();
}

function buildFilters() {
  const container = document.getElementById("identity-filters");
  for (const identity of IDENTITIES) {
    const label = document.createElement("label");
    const box = document.createElement("input");
    box.type = "checkbox";
    box.checked = true;
    box.value = identity;
    box.addEventListener("change", () => {
      if (box.checked) state.identities.add(identity);
      else state.identities.delete(identity);
      draw();
    });
    label.append(box, ` ${identity}`);
    container.appendChild(label);
  }
}

async function loadPictures() {
  const response = await fetch("/api/v1/pictures");
  const { pictures } = await response.json();
  const select = document.getElementById("picture");
  for (const picture of pictures) {
    const option = document.createElement("option");
    option.value = picture.name;
    option.textContent = picture.name;
    option.title = picture.description;
    select.appendChild(option);
  }
  select.addEventListener("change", () => subscribe(select.value));
  return pictures[0].name;
}

map.on("click", "tracks", (event) => {
  const feature = event.features?.[0];
  if (feature) showTrack(state.picture, feature.properties.id);
});
map.on("mouseenter", "tracks", () => (map.getCanvas().style.cursor = "pointer"));
map.on("mouseleave", "tracks", () => (map.getCanvas().style.cursor = ""));
// A live map is rarely idle: mark the first frame that shows symbols instead.
function markDrawn() {
  if (map.queryRenderedFeatures({ layers: ["tracks"] }).length > 0) {
    document.body.dataset.symbols = "drawn";
    map.off("render", markDrawn);
  }
}
map.on("render", markDrawn);
document.getElementById("close-panel").addEventListener("click", hideTrack);

// What tests and curious users can reach from the console.
window.tessera = {
  ready: false,
  map,
  trackCount: () => visibleTracks().length,
  get lastSeq() {
    return state.stream?.lastSeq ?? null;
  },
  screenPositionOf(trackId) {
    const feature = state.stream?.tracks.get(trackId);
    if (!feature) return null;
    const point = map.project(feature.geometry.coordinates);
    const box = map.getCanvas().getBoundingClientRect();
    return { x: box.left + point.x, y: box.top + point.y };
  },
  tracks: () => [...(state.stream?.tracks.values() ?? [])],
  renderedTrackIds() {
    return map.queryRenderedFeatures({ layers: ["tracks"] }).map((f) => f.properties.id);
  },
};

buildFilters();
map.on("load", async () => {
  subscribe(await loadPictures());
  window.tessera.ready = true;
});
