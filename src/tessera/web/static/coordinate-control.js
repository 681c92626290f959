// The pointer's position (MGRS, decimal degrees, degrees-minutes-seconds) and "go to": a
// MapLibre control in the map's bottom-right corner.
import { ddText, dmsText, mgrsText, parsePosition } from "/static/coords.js";

const EMPTY = { type: "FeatureCollection", features: [] };

export class CoordinateControl {
  onAdd(map) {
    this.map = map;
    const container = document.createElement("div");
    container.className = "maplibregl-ctrl coordinates";
    container.innerHTML = `
      <div class="readout" aria-live="off">
        <span data-field="mgrs" title="MGRS">—</span>
        <span data-field="dd" title="latitude, longitude"></span>
        <span data-field="dms" title="degrees, minutes, seconds"></span>
      </div>
      <form class="goto" autocomplete="off">
        <input name="position" spellcheck="false" aria-label="Go to" placeholder="Go to: MGRS or lat, lon">
        <button type="submit">Go</button>
        <small class="form-error" role="alert" hidden></small>
      </form>`;
    this.container = container;
    this.field = (name) => container.querySelector(`[data-field="${name}"]`);
    this.onMove = (event) => this.show(event.lngLat.lng, event.lngLat.lat);
    map.on("mousemove", this.onMove);
    container.querySelector("form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.goTo(event.target.elements.position.value);
    });
    return container;
  }

  onRemove() {
    this.map.off("mousemove", this.onMove);
    this.container.remove();
  }

  show(lon, lat) {
    const wrapped = ((((lon + 180) % 360) + 360) % 360) - 180;
    this.field("mgrs").textContent = mgrsText(wrapped, lat) ?? "no MGRS here";
    this.field("dd").textContent = ddText(wrapped, lat);
    this.field("dms").textContent = dmsText(wrapped, lat);
  }

  // Flies to a typed position and marks it; says what is wrong otherwise.
  goTo(text) {
    const message = this.container.querySelector(".form-error");
    let position;
    try {
      position = parsePosition(text);
    } catch (error) {
      message.textContent = error.message;
      message.hidden = false;
      return null;
    }
    message.hidden = true;
    const map = this.map;
    if (!map.getSource("goto")) {
      map.addSource("goto", { type: "geojson", data: EMPTY });
      map.addLayer({
        id: "goto",
        type: "circle",
        source: "goto",
        paint: {
          "circle-radius": 7,
          "circle-color": "rgba(0, 0, 0, 0)",
          "circle-stroke-color": "#d7263d",
          "circle-stroke-width": 3,
        },
      });
    }
    map.getSource("goto").setData({
      type: "Feature",
      geometry: { type: "Point", coordinates: [position.lon, position.lat] },
      properties: {},
    });
    map.jumpTo({ center: [position.lon, position.lat], zoom: position.zoom });
    this.show(position.lon, position.lat);
    return position;
  }
}
