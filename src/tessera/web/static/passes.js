// The pass timeline in an area's panel (GET /api/v1/passes?area=...): each satellite pass
// over the area in the next hours as a bar from rise to set, coloured by identity, marked
// when the area is in the sensor's field at culmination.
import { apiFetch } from "/static/auth.js";

const HOURS = 6;
const $ = (id) => document.getElementById(id);

function clock(text) {
  return text ? new Date(text).toISOString().slice(11, 19) + "Z" : "?";
}

function describe(pass) {
  return (
    `${pass.name} (NORAD ${pass.norad_id}, ${pass.identity}): rises ${clock(pass.rise)}, ` +
    `highest ${pass.max_elevation.toFixed(0)}° at ${clock(pass.culmination)}, sets ` +
    `${clock(pass.set)}; ${pass.in_field ? "in" : "outside"} its sensor's field ` +
    `(${pass.off_nadir.toFixed(0)}° off nadir)`
  );
}

export function renderTimeline(element, answer) {
  element.replaceChildren();
  const start = Date.parse(answer.start);
  const span = Date.parse(answer.end) - start;
  const axis = document.createElement("div");
  axis.className = "pass-axis";
  axis.textContent = `${clock(answer.start)} … ${clock(answer.end)}`;
  element.append(axis);
  for (const pass of answer.passes) {
    const from = Math.max(0, Date.parse(pass.rise ?? pass.culmination) - start);
    const to = Math.min(span, Date.parse(pass.set ?? pass.culmination) - start);
    const row = document.createElement("div");
    row.className = "pass-row";
    row.setAttribute("role", "listitem");
    const name = document.createElement("span");
    name.className = "pass-name";
    name.textContent = pass.name;
    const track = document.createElement("span");
    track.className = "pass-track";
    const bar = document.createElement("span");
    bar.className = `pass-bar identity-${pass.identity}${pass.in_field ? " in-field" : ""}`;
    bar.style.left = `${(100 * from) / span}%`;
    bar.style.width = `${Math.max(0.5, (100 * (to - from)) / span)}%`;
    bar.title = describe(pass);
    bar.dataset.noradId = String(pass.norad_id);
    track.append(bar);
    row.append(name, track);
    element.append(row);
  }
}

let asked = 0;

export async function showPasses(picture, overlayId) {
  const ask = ++asked;
  const element = $("pass-timeline");
  const empty = $("pass-empty");
  element.dataset.state = "loading";
  try {
    const query = new URLSearchParams({ picture, area: overlayId, hours: String(HOURS) });
    const response = await apiFetch(`/api/v1/passes?${query}`);
    if (ask !== asked) return;
    if (!response.ok) {
      element.replaceChildren();
      empty.hidden = false;
      empty.textContent = "Passes unavailable.";
      element.dataset.state = "failed";
      return;
    }
    const answer = await response.json();
    if (ask !== asked) return;
    renderTimeline(element, answer);
    empty.hidden = answer.passes.length > 0;
    empty.textContent = "No satellite passes over it.";
    element.dataset.state = "drawn";
  } catch {
    element.dataset.state = "failed";
  }
}

// The panel tells which overlay it shows (overlay-panel.js); the picture is the map's.
document.addEventListener("overlay-shown", (event) => {
  const picture = window.tessera?.picture;
  if (picture) showPasses(picture, event.detail.id);
});
