// The current picture's overlays: kept from the stream, drawn on the map, listed, shown or
// hidden (all, or each one), selected (flown to, detailed in the side panel), deleted.
import { bounds } from "/static/geo.js";
import { deleteOverlay } from "/static/overlay-api.js";
import {
  OVERLAY_LAYERS,
  addOverlayLayers,
  renderedOverlayIds,
  showOverlays,
} from "/static/overlay-layer.js";
import { renderOverlayList } from "/static/overlay-list.js";
import {
  hideOverlay,
  setOverlayActions,
  showOverlay,
  shownOverlay,
} from "/static/overlay-panel.js";

const EDITOR_ROLES = ["operator", "admin"];
const FLY_PADDING_PX = 80;
const FLY_MAX_ZOOM = 13;
const POINT_ZOOM = 11;

export class Overlays {
  // `isBusy()`: map clicks belong to the drawing tool; `onShown()`: an overlay's panel opened
  // (the track panel closes); `onEdit(feature)`: open the form for it.
  constructor({ isBusy, onShown, onEdit }) {
    this.isBusy = isBusy;
    this.onShown = onShown;
    this.onEdit = onEdit;
    this.map = null;
    this.picture = null;
    this.principal = null;
    this.features = new Map();
    this.hidden = new Set();
    this.showAll = true;
    // The imagery footprints: one box for all of them (there may be hundreds).
    this.showImagery = true;
    this.selected = null;
    // An overlay just saved here: selected when the stream brings it.
    this.awaited = null;
    this.drawPending = false;
    this.listStale = true;
    // What the list shows of the overlays, to rebuild it only when that changes.
    this.listed = null;
    const all = document.getElementById("overlays-visible");
    all.addEventListener("change", () => {
      this.showAll = all.checked;
      document.getElementById("overlay-section").classList.toggle("all-hidden", !all.checked);
      this.draw();
    });
    const imagery = document.getElementById("imagery-visible");
    imagery.addEventListener("change", () => {
      this.showImagery = imagery.checked;
      this.draw();
    });
    setOverlayActions({
      onEdit: (id) => {
        const feature = this.features.get(id);
        if (feature) this.onEdit(feature);
      },
      onDelete: (id) => this.remove(id),
    });
  }

  // Once the map has loaded: the layers go under `beforeId` (the tracks).
  attach(map, beforeId) {
    this.map = map;
    addOverlayLayers(map, beforeId);
    map.on("click", OVERLAY_LAYERS, (event) => {
      if (this.isBusy()) return;
      // A track symbol on top of the overlay takes the click.
      if (map.queryRenderedFeatures(event.point, { layers: [beforeId] }).length) return;
      const id = event.features?.[0]?.properties.id;
      if (id) this.select(id, { fly: false });
    });
    map.on("mouseenter", OVERLAY_LAYERS, () => {
      if (!this.isBusy()) map.getCanvas().style.cursor = "pointer";
    });
    map.on("mouseleave", OVERLAY_LAYERS, () => {
      if (!this.isBusy()) map.getCanvas().style.cursor = "";
    });
    this.draw();
  }

  // A new picture (or none, signed out): nothing of the last one stays.
  reset(picture, principal) {
    this.listed = null;
    this.picture = picture;
    this.principal = principal;
    this.features = new Map();
    this.hidden = new Set();
    this.selected = null;
    this.awaited = null;
    this.listStale = true;
    hideOverlay();
    this.draw();
  }

  // The stream's overlays changed.
  update(features) {
    this.features = new Map(features);
    // A footprint moving every second changes only its shape: the list stays as it is, so
    // its boxes can still be ticked.
    const listed = listKey(this.features);
    if (listed !== this.listed) {
      this.listed = listed;
      this.listStale = true;
    }
    if (this.selected && !this.features.has(this.selected)) this.deselect();
    if (this.awaited && this.features.has(this.awaited)) {
      const id = this.awaited;
      this.awaited = null;
      this.select(id, { fly: false });
    } else if (this.selected && shownOverlay() === this.selected) {
      const feature = this.features.get(this.selected);
      showOverlay(feature, this.canChange(feature));
    }
    this.draw();
  }

  // Select `id` when it arrives (it was just saved), or now if it is here already.
  await(id) {
    if (this.features.has(id)) this.select(id, { fly: false });
    else this.awaited = id;
  }

  canChange(feature) {
    const principal = this.principal;
    if (!principal || !feature) return false;
    const roles = principal.roles ?? [];
    const editor = roles.some((role) => EDITOR_ROLES.includes(role));
    return editor || feature.properties.author === principal.name;
  }

  select(id, { fly }) {
    const feature = this.features.get(id);
    if (!feature) return;
    this.selected = id;
    this.onShown();
    showOverlay(feature, this.canChange(feature));
    if (fly) this.flyTo(feature);
    this.draw();
  }

  deselect() {
    this.selected = null;
    hideOverlay();
    this.draw();
  }

  flyTo(feature) {
    if (!this.map) return;
    if (feature.geometry.type === "Point") {
      const zoom = Math.max(this.map.getZoom(), POINT_ZOOM);
      this.map.flyTo({ center: feature.geometry.coordinates, zoom });
    } else {
      const padding = FLY_PADDING_PX;
      this.map.fitBounds(bounds(feature.geometry), { padding, maxZoom: FLY_MAX_ZOOM });
    }
  }

  async remove(id) {
    const result = await deleteOverlay(this.picture, id);
    // The stream removes it from every map showing it, this one too.
    if (result.ok && this.selected === id) this.selected = null;
    return result;
  }

  // Sorted by name, then id: the list's order.
  sorted() {
    return [...this.features.values()].sort(
      (a, b) => a.properties.name.localeCompare(b.properties.name) || a.id.localeCompare(b.id),
    );
  }

  visible() {
    if (!this.showAll) return [];
    return this.sorted().filter(
      (feature) =>
        !this.hidden.has(feature.id) && (this.showImagery || !feature.properties.imagery),
    );
  }

  renderedIds() {
    return this.map ? renderedOverlayIds(this.map) : [];
  }

  // At most one redraw per frame. The list is rebuilt only when the overlays changed, so a
  // box just ticked keeps the focus.
  draw() {
    if (this.drawPending) return;
    this.drawPending = true;
    requestAnimationFrame(() => {
      this.drawPending = false;
      if (this.map) showOverlays(this.map, this.visible(), this.selected);
      if (this.listStale) {
        this.listStale = false;
        const footprints = this.sorted().filter((feature) => feature.properties.imagery);
        document.getElementById("imagery-count").textContent = String(footprints.length);
        // Imagery footprints are shown or hidden together, not listed one by one.
        renderOverlayList(this.sorted().filter((feature) => !feature.properties.imagery), {
          hidden: this.hidden,
          onToggle: (id, shown) => {
            if (shown) this.hidden.delete(id);
            else this.hidden.add(id);
            this.draw();
          },
          onSelect: (id) => this.select(id, { fly: true }),
        });
      }
      for (const item of document.querySelectorAll("#overlay-list li")) {
        item.classList.toggle("selected", item.dataset.overlayId === this.selected);
      }
    });
  }
}

// What the overlay list shows of each overlay: its entry changes only with these.
function listKey(features) {
  return JSON.stringify(
    [...features.values()].map((f) => [
      f.id,
      f.properties.name,
      f.properties.kind,
      f.properties.classification,
      f.properties.releasable_to,
    ]),
  );
}
