// Drawing a new overlay on the map: a toolbar (Point, Line, Area, Circle, Corridor) and the
// sketch that follows the mouse. When the shape is complete `onShape({kind, coordinates,
// radius_m, width_m})` is called and the sketch stays on the map until `clear()`.
import { circleRing, corridorRing, distance } from "/static/geo.js";

const KINDS = [
  ["point", "Point"],
  ["line", "Line"],
  ["area", "Area"],
  ["circle", "Circle"],
  ["corridor", "Corridor"],
];
const HINTS = {
  point: "Click the map where the point goes.",
  line: "Click to add points; double-click, Enter or Finish to end.",
  area: "Click the corners; click the first corner again, double-click, Enter or Finish to close.",
  circle: "Click the centre, then the edge (or drag from the centre to the edge).",
  corridor: "Click the centre line's points; double-click, Enter or Finish to end.",
};
const MINIMUM = { point: 1, line: 2, area: 3, circle: 1, corridor: 2 };
const SAME_POINT_PX = 5;
const CLOSE_RING_PX = 8;
const DEFAULT_WIDTH_M = 1000;
const COLOUR = "#e8590c";
const EMPTY = { type: "FeatureCollection", features: [] };

const round = (value) => Math.round(value * 1e7) / 1e7;
const pixels = (a, b) => Math.hypot(a.x - b.x, a.y - b.y);

export class DrawTool {
  constructor({ onShape }) {
    this.onShape = onShape;
    this.map = null;
    this.kind = null;
    // "idle", "drawing" (taking clicks) or "done" (the shape waits for the form).
    this.phase = "idle";
    this.vertices = [];
    this.cursor = null;
    this.radius = 0;
    this.width = DEFAULT_WIDTH_M;
    this.pressedAt = null;
    this.circlePhase = null;
    this.element = null;
    this.handlers = {
      click: (event) => this.click(event),
      dblclick: (event) => this.doubleClick(event),
      mousemove: (event) => this.move(event),
      mousedown: (event) => this.press(event),
      mouseup: (event) => this.release(event),
    };
    this.keydown = (event) => this.key(event);
  }

  // True while a shape is being drawn or waits for its form: map clicks are the tool's.
  get busy() {
    return this.phase !== "idle";
  }

  // ---- the toolbar, a MapLibre control ---------------------------------------------------

  onAdd(map) {
    this.map = map;
    const element = document.createElement("div");
    element.id = "draw-toolbar";
    element.className = "maplibregl-ctrl draw-toolbar";
    element.hidden = true;
    const buttons = document.createElement("div");
    buttons.className = "draw-buttons";
    buttons.setAttribute("role", "toolbar");
    buttons.setAttribute("aria-label", "Draw an overlay");
    for (const [kind, text] of KINDS) {
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.kind = kind;
      button.textContent = text;
      button.title = `Draw a ${kind}`;
      button.setAttribute("aria-pressed", "false");
      button.addEventListener("click", () => this.start(kind));
      buttons.appendChild(button);
    }
    const finish = document.createElement("button");
    finish.type = "button";
    finish.id = "draw-finish";
    finish.textContent = "Finish";
    finish.addEventListener("click", () => this.finish());
    const cancel = document.createElement("button");
    cancel.type = "button";
    cancel.id = "draw-cancel";
    cancel.textContent = "Cancel";
    cancel.addEventListener("click", () => this.cancel());
    const hint = document.createElement("p");
    hint.id = "draw-hint";
    hint.setAttribute("role", "status");
    element.append(buttons, hint, finish, cancel);
    this.element = element;
    this.refresh();
    return element;
  }

  onRemove() {
    this.cancel();
    this.element?.remove();
    this.map = null;
  }

  // Only reporters and operators draw.
  setAvailable(available) {
    if (!available) this.cancel();
    if (this.element) this.element.hidden = !available;
  }

  // The sketch's layers, on top of everything; once the map has loaded.
  addLayers() {
    const map = this.map;
    map.addSource("sketch", { type: "geojson", data: EMPTY });
    map.addLayer({
      id: "sketch-fill",
      type: "fill",
      source: "sketch",
      filter: ["==", ["geometry-type"], "Polygon"],
      paint: { "fill-color": COLOUR, "fill-opacity": 0.15 },
    });
    map.addLayer({
      id: "sketch-line",
      type: "line",
      source: "sketch",
      filter: ["in", ["geometry-type"], ["literal", ["LineString", "Polygon"]]],
      paint: { "line-color": COLOUR, "line-width": 2, "line-dasharray": [3, 2] },
    });
    map.addLayer({
      id: "sketch-vertex",
      type: "circle",
      source: "sketch",
      filter: ["==", ["geometry-type"], "Point"],
      paint: {
        "circle-radius": 4,
        "circle-color": "#ffffff",
        "circle-stroke-color": COLOUR,
        "circle-stroke-width": 2,
      },
    });
  }

  // ---- drawing -------------------------------------------------------------------------

  start(kind) {
    if (this.phase === "done") return; // The form of the last shape is still open.
    this.cancel();
    this.kind = kind;
    this.phase = "drawing";
    this.width = DEFAULT_WIDTH_M;
    for (const [name, handler] of Object.entries(this.handlers)) this.map.on(name, handler);
    document.addEventListener("keydown", this.keydown);
    this.map.doubleClickZoom.disable();
    this.map.getContainer().classList.add("drawing");
    this.refresh();
  }

  // Ends a line, area or corridor (from the Finish button, a double-click or Enter).
  finish() {
    if (this.phase !== "drawing" || this.vertices.length < MINIMUM[this.kind]) return;
    if (this.kind === "circle") return;
    this.complete();
  }

  // Stops drawing and removes the sketch.
  cancel() {
    this.stopListening();
    this.phase = "idle";
    this.kind = null;
    this.vertices = [];
    this.cursor = null;
    this.radius = 0;
    this.circlePhase = null;
    this.render();
    this.refresh();
  }

  // After the shape was saved (or its form closed).
  clear() {
    this.cancel();
  }

  // The form changes a circle's radius or a corridor's width: the sketch follows.
  setRadius(metres) {
    if (metres > 0) this.radius = metres;
    this.render();
  }

  setWidth(metres) {
    if (metres > 0) this.width = metres;
    this.render();
  }

  complete() {
    this.stopListening();
    this.phase = "done";
    this.cursor = null;
    this.render();
    this.refresh();
    const shape = {
      kind: this.kind,
      coordinates: this.vertices.map(([lon, lat]) => [round(lon), round(lat)]),
    };
    if (this.kind === "circle") shape.radius_m = Math.max(1, Math.round(this.radius));
    if (this.kind === "corridor") shape.width_m = this.width;
    this.onShape(shape);
  }

  stopListening() {
    if (!this.map) return;
    for (const [name, handler] of Object.entries(this.handlers)) this.map.off(name, handler);
    document.removeEventListener("keydown", this.keydown);
    this.map.doubleClickZoom.enable();
    this.map.dragPan.enable();
    this.map.getContainer().classList.remove("drawing");
  }

  click(event) {
    if (this.kind === "circle") return; // Taken by press and release.
    const at = [event.lngLat.lng, event.lngLat.lat];
    if (this.kind === "point") {
      this.vertices = [at];
      this.complete();
      return;
    }
    const last = this.vertices.at(-1);
    // The second click of a double-click lands where the first did.
    if (last && pixels(this.map.project(last), event.point) < SAME_POINT_PX) return;
    const first = this.vertices[0];
    if (
      this.kind === "area" &&
      this.vertices.length >= MINIMUM.area &&
      pixels(this.map.project(first), event.point) < CLOSE_RING_PX
    ) {
      this.complete();
      return;
    }
    this.vertices.push(at);
    this.render();
    this.refresh();
  }

  doubleClick(event) {
    event.preventDefault();
    this.finish();
  }

  move(event) {
    this.cursor = [event.lngLat.lng, event.lngLat.lat];
    if (this.kind === "circle" && this.vertices.length === 1) {
      this.radius = distance(this.vertices[0], this.cursor);
    }
    this.render();
  }

  // A circle: press at the centre and drag to the edge, or click the centre then the edge.
  press(event) {
    if (this.kind !== "circle") return;
    this.pressedAt = event.point;
    if (this.vertices.length === 0) {
      this.vertices = [[event.lngLat.lng, event.lngLat.lat]];
      this.circlePhase = "pressed";
      this.map.dragPan.disable();
      this.render();
    }
  }

  release(event) {
    if (this.kind !== "circle" || this.vertices.length === 0 || !this.pressedAt) return;
    const moved = pixels(this.pressedAt, event.point) >= SAME_POINT_PX;
    const centre = this.map.project(this.vertices[0]);
    if (this.circlePhase === "pressed") {
      this.map.dragPan.enable();
      this.circlePhase = "centred";
      if (!moved) {
        this.refresh();
        return; // A click: the centre is set; the edge comes next.
      }
    } else if (moved) {
      return; // The map was dragged between the two clicks.
    }
    if (pixels(centre, event.point) < SAME_POINT_PX) return;
    this.radius = distance(this.vertices[0], [event.lngLat.lng, event.lngLat.lat]);
    this.complete();
  }

  key(event) {
    const typing = event.target instanceof HTMLElement && event.target.closest("input, textarea");
    if (event.key === "Escape") this.cancel();
    else if (event.key === "Enter" && !typing) this.finish();
    else if (event.key === "Backspace" && !typing && this.kind !== "circle") {
      this.vertices.pop();
      this.render();
      this.refresh();
    }
  }

  // ---- what is shown ---------------------------------------------------------------------

  render() {
    const source = this.map?.getSource("sketch");
    if (!source) return;
    const features = [];
    const add = (type, coordinates) =>
      features.push({ type: "Feature", geometry: { type, coordinates }, properties: {} });
    const following = this.cursor && this.phase === "drawing";
    const points = following ? [...this.vertices, this.cursor] : this.vertices;
    if (this.kind === "line" && points.length >= 2) add("LineString", points);
    if (this.kind === "area") {
      if (points.length >= 3) add("Polygon", [[...points, points[0]]]);
      else if (points.length === 2) add("LineString", points);
    }
    if (this.kind === "corridor" && points.length >= 2) {
      add("Polygon", [corridorRing(points, this.width)]);
      add("LineString", points);
    }
    if (this.kind === "circle" && this.vertices.length === 1 && this.radius > 0) {
      add("Polygon", [circleRing(this.vertices[0], this.radius)]);
    }
    for (const vertex of this.vertices) add("Point", vertex);
    source.setData({ type: "FeatureCollection", features });
  }

  refresh() {
    if (!this.element) return;
    for (const button of this.element.querySelectorAll("[data-kind]")) {
      button.setAttribute("aria-pressed", String(button.dataset.kind === this.kind));
      button.disabled = this.phase === "done";
    }
    const drawing = this.phase === "drawing";
    const finish = this.element.querySelector("#draw-finish");
    finish.hidden = !drawing || this.kind === "point" || this.kind === "circle";
    finish.disabled = this.vertices.length < MINIMUM[this.kind];
    this.element.querySelector("#draw-cancel").hidden = !drawing;
    const hint = this.element.querySelector("#draw-hint");
    hint.textContent = drawing ? `${HINTS[this.kind]} Esc cancels.` : "";
    hint.hidden = !drawing;
  }
}
