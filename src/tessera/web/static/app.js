// Tessera's map client: signing in, then the map, the live stream, the filters, the side
// panel, the overlays (drawn, listed, toggled, drawn anew) and the export.
import {
  CHANNEL,
  SESSION_ENDED,
  apiFetch,
  forgetToken,
  keepToken,
  login,
  onSessionEnded,
  storedToken,
} from "/static/auth.js";
import { AlertPanel } from "/static/alerts.js";
import { ChatPanel } from "/static/chat.js";
import { watchFeeds } from "/static/feeds.js";
import { watchFederation } from "/static/federation.js";
import { DrawTool } from "/static/draw.js";
import { setUpExport } from "/static/export.js";
import { definingCoordinates } from "/static/geo.js";
import { setUpHistory } from "/static/history.js";
import { createMap } from "/static/map.js";
import { setUpMapTools } from "/static/map-tools.js";
import { OverlayForm } from "/static/overlay-form.js";
import { Overlays } from "/static/overlays.js";
import { hideTrack, showTrack, shownTrack } from "/static/panel.js";
import "/static/passes.js";
import { SpaceLayer } from "/static/space.js";
import { TrackStream } from "/static/stream.js";
import { MapTools } from "/static/tools.js";
import { LOWEST_TRACK_LAYER, TRACK_LAYERS, TRACK_SYMBOL_LAYERS, TrackLayer } from "/static/track-layer.js";

const IDENTITIES = ["friend", "assumed-friend", "neutral", "unknown", "pending", "suspect", "hostile"];
const PANEL_REFRESH_MS = 2000;
const SIGNED_OUT_BANNER = { text: "NOT SIGNED IN", colour: "#5c6670", text_colour: "#ffffff" };
// Who may draw overlays.
const DRAWING_ROLES = ["reporter", "operator"];

const state = {
  // Bumped at every sign-in and sign-out: work started for an earlier session is dropped.
  session: 0,
  principal: null,
  // The principal as the server describes it: name, communities, clearance, roles.
  account: null,
  // The classification levels, lowest first (from the sign-in).
  levels: [],
  pictures: new Map(),
  picture: null,
  identities: new Set(IDENTITIES),
  stream: null,
  map: null,
  mapLoaded: null,
  drawPending: false,
  panelRefreshed: 0,
};
const $ = (id) => document.getElementById(id);
const drawing = () => drawTool.busy || form.isOpen || tools.busy;
const channel = "BroadcastChannel" in window ? new BroadcastChannel(CHANNEL) : null;

// ---- classification banners -------------------------------------------------------------

function setBanner(banner) {
  for (const id of ["banner-top", "banner-bottom"]) {
    const element = $(id);
    element.textContent = banner.text;
    element.style.backgroundColor = banner.colour;
    element.style.color = banner.text_colour;
  }
}

function pictureBanner(picture) {
  if (picture.banner) return picture.banner;
  const releasable = picture.releasable_to ? ` // REL TO ${picture.releasable_to}` : "";
  return { text: `${picture.classification}${releasable}`, colour: "#5c6670", text_colour: "#ffffff" };
}

// ---- the map and the stream ---------------------------------------------------------------

function visibleTracks() {
  if (!state.stream) return [];
  return [...state.stream.tracks.values()].filter(
    (f) => f.properties.status !== "dead" && state.identities.has(f.properties.identity),
  );
}

// The track layer decides when the map's sources are given new data (track-layer.js).
function draw(changedIds = null) {
  if (!state.map) return;
  const tracks = state.stream?.tracks ?? new Map();
  // A snapshot replaces the stream's Map: everything may have changed.
  trackLayer.update(tracks, tracks === state.drawnTracks ? changedIds : null, state.identities);
  state.drawnTracks = tracks;
  // The bar at most once per frame, however many messages arrive (the count once the
  // tracks are drawn: see trackLayer.attach).
  if (state.drawPending) return;
  state.drawPending = true;
  requestAnimationFrame(() => {
    state.drawPending = false;
    const updated = state.stream?.lastUpdate;
    $("updated").textContent = updated
      ? `updated ${updated.toISOString().slice(11, 19)}Z`
      : "no update yet";
  });
}

function onTracks(tracks, changedIds) {
  draw(changedIds);
  tools.tracksChanged(tracks, changedIds);
  const selected = shownTrack();
  const now = Date.now();
  if (selected && changedIds.includes(selected) && now - state.panelRefreshed > PANEL_REFRESH_MS) {
    state.panelRefreshed = now;
    showTrack(state.picture, selected);
  }
}

function onStatus(status, reason) {
  const element = $("connection");
  element.className = `status ${status}`;
  element.textContent = status;
  element.title = reason ?? "";
}

// Whether the server still takes our token; on a 401 apiFetch has already signed us out.
async function stillSignedIn() {
  try {
    const response = await apiFetch("/api/v1/me");
    return response.status !== 401;
  } catch {
    return true; // The server is unreachable: keep trying, the stream backs off.
  }
}

function subscribe(picture) {
  state.stream?.stop();
  timeSlider.reset();
  state.picture = picture;
  setBanner(pictureBanner(state.pictures.get(picture)));
  hideTrack();
  form.close();
  drawTool.cancel();
  // Nothing of the previous picture stays on screen under the new banner.
  overlays.reset(picture, state.account);
  tools.reset();
  alertPanel.reset(picture, state.account);
  space.reset(state.map, picture);
  chatPanel.reset(picture, state.account, state.pictures.get(picture), state.levels);
  state.stream = new TrackStream({
    picture,
    token: storedToken,
    stillSignedIn,
    onTracks,
    onOverlays: (features) => overlays.update(features),
    onStatus,
    onAlerts: (message) => alertPanel.receive(message),
    onChat: (message) => chatPanel.receive(message),
  });
  onStatus("reconnecting");
  draw();
  state.stream.start();
}

async function loadPictures(session) {
  let response;
  try {
    response = await apiFetch("/api/v1/pictures");
  } catch {
    return null; // The server is unreachable.
  }
  if (!response.ok || session !== state.session) return null;
  const { pictures } = await response.json();
  if (session !== state.session) return null;
  state.pictures = new Map(pictures.map((picture) => [picture.name, picture]));
  const select = $("picture");
  select.replaceChildren();
  for (const picture of pictures) {
    const option = document.createElement("option");
    option.value = picture.name;
    option.textContent = picture.name;
    option.title = picture.description ?? "";
    select.appendChild(option);
  }
  return pictures[0]?.name ?? null;
}

function ensureMap() {
  if (state.map) {
    state.map.resize();
    return state.mapLoaded;
  }
  const map = createMap("map");
  state.map = map;
  map.addControl(drawTool, "top-right");
  state.mapLoaded = new Promise((resolve) =>
    map.once("load", () => {
      state.basemapTools = setUpMapTools(map, LOWEST_TRACK_LAYER);
      overlays.attach(map, LOWEST_TRACK_LAYER);
      tools.attach(map, LOWEST_TRACK_LAYER);
      // Night mode paints the built-in basemap again when it comes back.
      map.on("basemapchange", () => tools.night.paintMap());
      drawTool.addLayers();
      resolve();
    }),
  );
  trackLayer.attach(map, {
    onDrawn: (shown) => {
      $("count").textContent = `${shown} tracks`;
    },
    onTrack: (trackId) => {
      if (!state.picture || drawing()) return;
      overlays.deselect();
      openTrack(trackId);
    },
  });
  map.on("mouseenter", TRACK_LAYERS, () => {
    if (!drawing()) map.getCanvas().style.cursor = "pointer";
  });
  map.on("mouseleave", TRACK_LAYERS, () => {
    if (!drawing()) map.getCanvas().style.cursor = "";
  });
  // A live map is rarely idle: mark the first frame that shows symbols instead.
  map.on("render", () => {
    if (document.body.dataset.symbols === "drawn") return;
    if (map.queryRenderedFeatures({ layers: TRACK_LAYERS }).length > 0) {
      document.body.dataset.symbols = "drawn";
    }
  });
  return state.mapLoaded;
}

// ---- signing in and out ---------------------------------------------------------------------

function showLogin(message) {
  $("app").hidden = true;
  $("login").hidden = false;
  document.body.dataset.auth = "signed-out";
  const element = $("login-message");
  element.textContent = message ?? "";
  element.hidden = !message;
  $("login-button").disabled = false;
  $("login-token").focus();
}

// Stops polling the sensor feeds' status (feeds.js) of the session before.
let stopFeeds = null;
// And the federation links' status (federation.js).
let stopFederation = null;

async function enter(principal, levels) {
  const session = ++state.session;
  state.principal = principal.name;
  state.account = principal;
  state.levels = levels ?? [];
  $("principal").textContent = principal.name;
  $("login").hidden = true;
  $("login-token").value = "";
  $("app").hidden = false;
  stopFeeds?.();
  stopFeeds = watchFeeds($("feeds"));
  stopFederation?.();
  stopFederation = watchFederation($("federation"));
  document.body.dataset.auth = "signed-in";
  channel?.postMessage({ type: "token", token: storedToken() });
  const loaded = ensureMap();
  drawTool.setAvailable((principal.roles ?? []).some((role) => DRAWING_ROLES.includes(role)));
  const first = await loadPictures(session);
  if (session !== state.session) return;
  if (first === null) {
    onStatus("no picture", "no picture to show: reload, or ask an administrator");
    setBanner(SIGNED_OUT_BANNER);
    return;
  }
  await loaded;
  if (session !== state.session) return;
  subscribe(first);
  window.tessera.ready = true;
}

function signOut(message) {
  const token = storedToken();
  state.session += 1;
  state.stream?.stop();
  state.stream = null;
  state.principal = null;
  state.account = null;
  state.picture = null;
  state.pictures = new Map();
  space.stop();
  forgetToken();
  if (token) channel?.postMessage({ type: "signed-out", token });
  window.tessera.ready = false;
  delete document.body.dataset.symbols;
  hideTrack();
  form.close();
  drawTool.setAvailable(false);
  // Nothing of this session's picture stays on the map behind the login screen.
  overlays.reset(null, null);
  trackLayer.clear();
  alertPanel.reset(null, null);
  chatPanel.reset(null, null, null, []);
  $("updated").textContent = "no update yet";
  $("picture").replaceChildren();
  $("principal").textContent = "";
  $("count").textContent = "0 tracks";
  setBanner(SIGNED_OUT_BANNER);
  showLogin(message);
}

async function signIn(token) {
  $("login-button").disabled = true;
  const result = await login(token);
  if (!result.ok) {
    showLogin(result.message);
    return;
  }
  keepToken(token);
  enter(result.session.principal, result.session.levels);
}

// On a 401 from any call while signed in.
onSessionEnded((message) => {
  if (state.principal !== null || storedToken()) signOut(message);
});

// A login link: /#token=tsr_... The token leaves the address bar (and history) at once.
function linkedToken() {
  const token = new URLSearchParams(location.hash.slice(1)).get("token");
  if (token !== null) history.replaceState(null, "", location.pathname + location.search);
  return token;
}

async function signInByLink(token) {
  if (state.principal !== null || storedToken()) signOut();
  await signIn(token);
}

async function start() {
  setBanner(SIGNED_OUT_BANNER);
  const linked = linkedToken();
  if (linked !== null) {
    await signInByLink(linked);
    return;
  }
  if (!storedToken()) {
    showLogin();
    return;
  }
  // A reload: is the token we kept still good?
  let response;
  try {
    response = await apiFetch("/api/v1/me");
  } catch {
    showLogin("The server cannot be reached: try again in a moment.");
    return;
  }
  if (response.ok) {
    const me = await response.json();
    enter(me.principal, me.levels);
  } else if (response.status === 401) {
    // apiFetch has already signed out; this only makes sure the message is the right one.
    signOut(SESSION_ENDED);
  } else {
    showLogin(`The server answered ${response.status}: sign in again.`);
  }
}

// ---- overlays: drawing, the form, the list ------------------------------------------------

// The classification levels, lowest first, as the server says; failing that (an older
// server), those this client has seen named: suggestions for the form's label.
function knownLevels() {
  if (state.levels?.length) return [...state.levels];
  const levels = new Set();
  const account = state.account;
  if (account?.clearance) levels.add(account.clearance);
  if (account?.default_label?.classification) levels.add(account.default_label.classification);
  for (const picture of state.pictures.values()) levels.add(picture.classification);
  for (const feature of state.stream?.tracks.values() ?? []) {
    levels.add(feature.properties.classification);
  }
  for (const feature of state.stream?.overlays.values() ?? []) {
    levels.add(feature.properties.classification);
  }
  levels.delete(undefined);
  levels.delete(null);
  return [...levels].sort();
}

function formContext() {
  return {
    principal: state.account,
    picture: state.pictures.get(state.picture) ?? null,
    levels: knownLevels(),
  };
}

const overlays = new Overlays({
  isBusy: () => drawing(),
  onShown: () => hideTrack(),
  onEdit: (feature) => {
    drawTool.cancel();
    overlays.deselect();
    form.openEdit(feature, definingCoordinates(feature), formContext());
  },
});

const trackLayer = new TrackLayer();
const space = new SpaceLayer();

function openTrack(trackId) {
  if (!state.picture) return;
  showTrack(state.picture, trackId);
  tools.trackShown(trackId);
}

const tools = new MapTools({
  map: () => state.map,
  tracks: () => state.stream?.tracks ?? new Map(),
  overlays: () => state.stream?.overlays.values() ?? [],
  openTrack,
  shownTrack,
  trackLayers: TRACK_SYMBOL_LAYERS,
});

const AREA_OVERLAYS = ["area", "circle", "corridor"];
const alertPanel = new AlertPanel({
  areas: () =>
    [...(state.stream?.overlays.values() ?? [])]
      .filter((f) => AREA_OVERLAYS.includes(f.properties.kind) && !f.properties.imagery)
      .map((feature) => ({ id: feature.id, name: feature.properties.name })),
});

const chatPanel = new ChatPanel();

const drawTool = new DrawTool({
  onShape: (shape) => {
    hideTrack();
    overlays.deselect();
    form.openNew(shape, formContext());
  },
});

const form = new OverlayForm({
  onPreview: ({ radius_m: radius, width_m: width }) => {
    drawTool.setRadius(radius);
    drawTool.setWidth(width);
  },
  onSaved: (id) => overlays.await(id),
  onClose: () => drawTool.clear(),
});

// ---- controls -------------------------------------------------------------------------------

function buildFilters() {
  const container = $("identity-filters");
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

$("login-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const token = $("login-token").value.trim();
  if (token) signIn(token);
});
$("sign-out").addEventListener("click", () => signOut());
// A login link opened in a tab that already shows the map changes only the fragment.
window.addEventListener("hashchange", () => {
  const linked = linkedToken();
  if (linked !== null) signInByLink(linked);
});
$("picture").addEventListener("change", (event) => subscribe(event.target.value));
$("close-panel").addEventListener("click", hideTrack);
// The API docs page (another tab of this origin) asks for the token; see docs.js.
channel?.addEventListener("message", (event) => {
  const token = storedToken();
  if (event.data?.type === "token?" && token && state.principal !== null) {
    channel.postMessage({ type: "token", token });
  }
});

// What tests and curious users can reach from the console.
window.tessera = {
  ready: false,
  get map() {
    return state.map;
  },
  get principal() {
    return state.principal;
  },
  get picture() {
    return state.picture;
  },
  trackCount: () => visibleTracks().length,
  // How many symbols stand for them on screen: single tracks, clusters and formations.
  symbolsDrawn: () => state.map?.queryRenderedFeatures({ layers: TRACK_LAYERS }).length ?? 0,
  get lastSeq() {
    return state.stream?.lastSeq ?? null;
  },
  screenPositionOf(trackId) {
    const feature = state.stream?.tracks.get(trackId);
    if (!feature || !state.map) return null;
    const point = state.map.project(feature.geometry.coordinates);
    const box = state.map.getCanvas().getBoundingClientRect();
    return { x: box.left + point.x, y: box.top + point.y };
  },
  tracks: () => [...(state.stream?.tracks.values() ?? [])],
  trackLayer,
  tools,
  space: () => space.satellites(),
  overlays: () => [...(state.stream?.overlays.values() ?? [])],
  renderedOverlayIds: () => overlays.renderedIds(),
  // Basemaps, grid, towns and the position readout (map-tools.js).
  get basemapTools() {
    return state.basemapTools ?? null;
  },
  timeSlider: () => timeSlider,
  renderedTrackIds() {
    if (!state.map) return [];
    return state.map.queryRenderedFeatures({ layers: TRACK_SYMBOL_LAYERS }).map((f) => f.properties.id);
  },
};

buildFilters();
setUpExport(() => state.picture);
// The time slider: while it shows the past, its view stands in for the live stream.
const timeSlider = setUpHistory({
  picture: () => state.picture,
  token: storedToken,
  map: () => state.map,
  show: (view) => {
    if (state.stream !== view) state.stream?.stop();
    state.stream = view;
    draw();
  },
  showOverlays: (features) => overlays.update(features),
  live: () => subscribe(state.picture),
});
start();
