// The side panel: everything about one track, with the reports that built it.
import { apiFetch } from "/static/auth.js";
import { positionText } from "/static/coords.js";

const panel = () => document.getElementById("track-panel");
// Each request is numbered: an answer that arrives after a newer request, or after the panel
// was closed (say on a change of picture), is dropped rather than shown.
let latest = 0;

function field(name) {
  return panel().querySelector(`[data-field="${name}"]`);
}

export function timeText(value) {
  return value ? new Date(value).toISOString().replace("T", " ").slice(0, 19) + "Z" : "—";
}

function cell(row, text) {
  const td = document.createElement("td");
  td.textContent = text;
  row.appendChild(td);
}

// A security label as people read it: "RESTRICTED REL NATO, UKR".
export function labelText(classification, releasableTo) {
  if (!classification) return "—";
  const releasable = releasableTo?.length ? ` REL ${releasableTo.join(", ")}` : "";
  return `${classification}${releasable}`;
}

export async function showTrack(picture, trackId) {
  const request = ++latest;
  const query = new URLSearchParams({ picture });
  let response;
  try {
    response = await apiFetch(`/api/v1/tracks/${encodeURIComponent(trackId)}?${query}`);
  } catch {
    return;
  }
  if (request !== latest) return;
  if (!response.ok) {
    hideTrack();
    return;
  }
  const track = await response.json();
  if (request !== latest) return;
  const p = track.properties;
  const [lon, lat] = track.geometry.coordinates;
  field("title").textContent = p.name ?? p.subject ?? p.id;
  // No percentage for an identity nobody has stated yet.
  const confidence = p.identity_confidence > 0 ? ` (${Math.round(p.identity_confidence * 100)}%)` : "";
  field("identity").textContent = `${p.identity}${confidence}`;
  field("status").textContent = p.status;
  field("updated").textContent = timeText(p.updated_at);
  field("grading").textContent = p.grading;
  field("position").textContent = `${positionText(lon, lat)} ± ${Math.round(p.ce)} m`;
  field("movement").textContent =
    p.speed === null ? "—" : `${Math.round(p.course)}° at ${(p.speed * 3.6).toFixed(0)} km/h`;
  field("classification").textContent = labelText(p.classification, p.releasable_to);
  field("sources").textContent = p.sources.map((s) => `${s.id} (${s.kind})`).join(", ");
  const { count, window } = track.lineage;
  field("lineage-count").textContent =
    count > window ? `${count} reports, the latest ${window} shown` : `${count} reports`;
  const body = panel().querySelector("#lineage tbody");
  body.replaceChildren();
  for (const report of track.lineage.reports) {
    const row = document.createElement("tr");
    cell(row, timeText(report.observed_at).slice(11));
    cell(row, `${report.source.id} (${report.source.kind})`);
    cell(row, report.grading);
    cell(row, labelText(report.label?.classification, report.label?.releasable_to));
    cell(row, report.remarks || "");
    body.appendChild(row);
  }
  panel().dataset.trackId = trackId;
  panel().hidden = false;
}

export function hideTrack() {
  latest += 1;
  panel().hidden = true;
  delete panel().dataset.trackId;
}

export function shownTrack() {
  return panel().hidden ? null : panel().dataset.trackId;
}
