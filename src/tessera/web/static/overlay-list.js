// The list of the picture's overlays in the left panel: name, kind and label, a box to show
// or hide each one; clicking a name selects it.
import { labelText } from "/static/panel.js";

const $ = (id) => document.getElementById(id);

// `features` sorted as shown; `hidden` the ids not drawn.
export function renderOverlayList(features, { hidden, onToggle, onSelect }) {
  const list = $("overlay-list");
  list.replaceChildren();
  for (const feature of features) {
    const p = feature.properties;
    const item = document.createElement("li");
    item.dataset.overlayId = feature.id;
    const box = document.createElement("input");
    box.type = "checkbox";
    box.checked = !hidden.has(feature.id);
    box.setAttribute("aria-label", `Show ${p.name}`);
    box.addEventListener("change", () => onToggle(feature.id, box.checked));
    const name = document.createElement("button");
    name.type = "button";
    name.className = "overlay-name";
    name.textContent = p.name;
    name.title = "Show on the map, with its details";
    name.addEventListener("click", () => onSelect(feature.id));
    const about = document.createElement("small");
    about.className = "overlay-about";
    about.textContent = `${p.kind} · ${labelText(p.classification, p.releasable_to)}`;
    item.append(box, name, about);
    list.appendChild(item);
  }
  $("overlay-count").textContent = String(features.length);
  $("overlay-empty").hidden = features.length > 0;
}
