// The side panel for one overlay: what it is, its label, validity and author; Edit and
// Delete (with a confirmation) for those who may change it.
import { positionText } from "/static/coords.js";
import { definingCoordinates, labelPoint } from "/static/geo.js";
import { labelText, timeText } from "/static/panel.js";

const $ = (id) => document.getElementById(id);
const panel = () => $("overlay-panel");
let actions = { onEdit: () => {}, onDelete: async () => ({ ok: true }) };
let shown = null;

function field(name) {
  return panel().querySelector(`[data-field="${name}"]`);
}

function metres(value) {
  if (value < 1000) return `${Math.round(value)} m`;
  return `${(value / 1000).toLocaleString("en", { maximumFractionDigits: 2 })} km`;
}

function kindText(feature) {
  const p = feature.properties;
  if (p.kind === "circle" && p.radius_m) return `circle, radius ${metres(p.radius_m)}`;
  if (p.kind === "corridor" && p.width_m) return `corridor, ${metres(p.width_m)} wide`;
  if (p.kind === "point") {
    const [lon, lat] = feature.geometry.coordinates;
    const symbol = p.sidc ? `, symbol ${p.sidc}` : "";
    return `point at ${lat.toFixed(5)}, ${lon.toFixed(5)}${symbol}`;
  }
  return p.kind;
}

// A point's or circle's centre in MGRS; a line's or area's label point.
function overlayPositionText(feature) {
  const kind = feature.properties.kind;
  const [lon, lat] =
    kind === "point" || kind === "circle"
      ? definingCoordinates(feature)[0]
      : labelPoint(feature.geometry);
  const where = positionText(lon, lat);
  return kind === "point" || kind === "circle" ? where : `about ${where}`;
}

function validityText(p) {
  if (!p.valid_from && !p.valid_to) return "always";
  if (!p.valid_to) return `from ${timeText(p.valid_from)}`;
  if (!p.valid_from) return `until ${timeText(p.valid_to)}`;
  return `${timeText(p.valid_from)} to ${timeText(p.valid_to)}`;
}

// An imagery footprint's facts: what took it, when, how good, and where to get it.
function showImagery(imagery) {
  $("overlay-imagery").hidden = !imagery;
  if (!imagery) return;
  const platform = [imagery.platform, imagery.constellation, imagery.instruments.join(", ")];
  field("platform").textContent = platform.filter(Boolean).join(" · ") || "—";
  field("acquired").textContent = imagery.acquired_until
    ? `${timeText(imagery.acquired_at)} to ${timeText(imagery.acquired_until)}`
    : timeText(imagery.acquired_at);
  field("cloud-cover").textContent =
    imagery.cloud_cover === null ? "—" : `${imagery.cloud_cover}%`;
  // A ground sample distance is often under a metre: its decimals matter.
  const gsd = imagery.gsd_m?.toLocaleString("en", { maximumFractionDigits: 2 });
  field("gsd").textContent = imagery.gsd_m === null ? "—" : `${gsd} m`;
  const where = imagery.collection ? `${imagery.collection}/${imagery.item}` : imagery.item;
  field("imagery-source").textContent = `${imagery.source}: ${where} (${imagery.grading})`;
  const links = field("imagery-links");
  links.replaceChildren();
  const named = [];
  if (imagery.thumbnail) named.push(["thumbnail", imagery.thumbnail]);
  if (imagery.item_url) named.push(["catalogue", imagery.item_url]);
  for (const asset of imagery.assets) {
    if (asset.href !== imagery.thumbnail) named.push([asset.title || asset.key, asset.href]);
  }
  for (const [name, href] of named) {
    // Only web links are followed from the page; s3:// and gs:// are shown as text.
    const web = /^https?:\/\//i.test(href);
    const link = document.createElement(web ? "a" : "span");
    link.textContent = name;
    link.title = href;
    if (web) {
      link.href = href;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
    }
    links.append(link, " ");
  }
  if (!named.length) links.textContent = "—";
}

function message(text) {
  const element = $("overlay-panel-message");
  element.textContent = text ?? "";
  element.hidden = !text;
}

// `onEdit(id)` opens the form; `onDelete(id)` resolves to {ok, message}.
export function setOverlayActions(handlers) {
  actions = handlers;
}

// Shows (or refreshes) the panel for `feature`; `canChange` offers Edit and Delete.
export function showOverlay(feature, canChange) {
  const p = feature.properties;
  const refresh = shown === feature.id;
  shown = feature.id;
  field("name").textContent = p.name;
  field("kind").textContent = kindText(feature);
  field("position").textContent = overlayPositionText(feature);
  field("label").textContent = labelText(p.classification, p.releasable_to);
  field("remarks").textContent = p.remarks || "—";
  field("validity").textContent = validityText(p);
  field("author").textContent = p.author ?? "—";
  field("updated").textContent = timeText(p.updated_at);
  showImagery(p.imagery);
  $("overlay-actions").hidden = !canChange;
  if (!refresh) {
    $("overlay-confirm").hidden = true;
    message();
  }
  panel().dataset.overlayId = feature.id;
  panel().hidden = false;
  // The pass timeline (passes.js) follows the overlay shown.
  if (!refresh) document.dispatchEvent(new CustomEvent("overlay-shown", { detail: { id: feature.id } }));
}

export function hideOverlay() {
  shown = null;
  panel().hidden = true;
  delete panel().dataset.overlayId;
}

export function shownOverlay() {
  return panel().hidden ? null : shown;
}

$("close-overlay-panel").addEventListener("click", hideOverlay);
$("overlay-edit").addEventListener("click", () => {
  if (shown) actions.onEdit(shown);
});
$("overlay-delete").addEventListener("click", () => {
  message();
  $("overlay-confirm").hidden = false;
  $("overlay-confirm-keep").focus();
});
$("overlay-confirm-keep").addEventListener("click", () => {
  $("overlay-confirm").hidden = true;
});
$("overlay-confirm-delete").addEventListener("click", async () => {
  const id = shown;
  if (!id) return;
  const button = $("overlay-confirm-delete");
  button.disabled = true;
  const result = await actions.onDelete(id);
  button.disabled = false;
  $("overlay-confirm").hidden = true;
  if (shown !== id) return;
  if (result.ok) hideOverlay();
  else message(`Not deleted. ${result.message}`);
});
