// Find: a search box over the current picture's callsigns and unit names, track ids and
// overlay names; choosing a result jumps the map to it (and opens a track's panel).
import { bounds } from "/static/geo.js";

const MAX_RESULTS = 12;
const TRACK_ZOOM = 11;

function trackTexts(feature) {
  const p = feature.properties;
  return [p.name, p.subject, feature.id];
}

// The matches for `query` (case-insensitive substrings), best first: a name or id that
// starts with the query before one that merely contains it.
export function search(query, tracks, overlays) {
  const needle = query.trim().toLowerCase();
  if (!needle) return [];
  const results = [];
  const consider = (kind, feature, texts) => {
    let best = Infinity;
    for (const text of texts) {
      if (!text) continue;
      const at = String(text).toLowerCase().indexOf(needle);
      if (at >= 0) best = Math.min(best, at === 0 ? 0 : 1);
    }
    if (best < Infinity) results.push({ kind, feature, rank: best, label: texts.find(Boolean) });
  };
  for (const feature of tracks) {
    if (feature.properties.status !== "dead") consider("track", feature, trackTexts(feature));
  }
  for (const feature of overlays) consider("overlay", feature, [feature.properties.name, feature.id]);
  results.sort((a, b) => a.rank - b.rank || String(a.label).localeCompare(String(b.label)));
  return results.slice(0, MAX_RESULTS);
}

export class Find {
  // `context`: map(), tracks() and overlays() (iterables of features), openTrack(id).
  constructor(context) {
    this.context = context;
    this.input = document.getElementById("find");
    this.list = document.getElementById("find-results");
    this.results = [];
    this.input.addEventListener("input", () => this.refresh());
    this.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && this.results.length) {
        event.preventDefault();
        this.choose(this.results[0]);
      } else if (event.key === "Escape") {
        this.close();
      }
    });
  }

  refresh() {
    this.results = search(this.input.value, this.context.tracks(), this.context.overlays());
    this.list.replaceChildren();
    for (const result of this.results) {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.id = result.feature.id;
      const name = result.feature.properties.name;
      button.textContent = `${name ?? result.feature.id} · ${result.kind}`;
      button.addEventListener("click", () => this.choose(result));
      item.appendChild(button);
      this.list.appendChild(item);
    }
    this.list.hidden = this.results.length === 0;
  }

  close() {
    this.list.hidden = true;
    this.results = [];
  }

  choose({ kind, feature }) {
    const map = this.context.map();
    this.close();
    if (!map) return;
    if (kind === "track") {
      map.jumpTo({ center: feature.geometry.coordinates, zoom: Math.max(map.getZoom(), TRACK_ZOOM) });
      this.context.openTrack(feature.id);
    } else {
      map.fitBounds(bounds(feature.geometry), { padding: 80, maxZoom: 13, duration: 0 });
    }
    this.found = feature.id;
  }
}
