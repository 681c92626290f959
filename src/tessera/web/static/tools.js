// The map's tools, each in its own module: find, measure and range rings, trails, night
// mode. app.js gives them what they read of the page's state and wires them in.
import { Find } from "/static/find.js";
import { Measure } from "/static/measure.js";
import { NightMode } from "/static/night.js";
import { Trails } from "/static/trails.js";

export class MapTools {
  // `context`: map(), tracks() (the stream's Map of features by id), overlays() (an
  // iterable of overlay features), openTrack(id), shownTrack() and trackLayers.
  constructor(context) {
    this.context = context;
    this.night = new NightMode();
    this.trails = new Trails();
    this.find = new Find({
      map: context.map,
      tracks: () => context.tracks().values(),
      overlays: context.overlays,
      openTrack: context.openTrack,
    });
    this.measure = new Measure({
      trackPosition: (id) => context.tracks().get(id)?.geometry.coordinates ?? null,
      trackAt: (point) => {
        const map = context.map();
        const hit = map?.queryRenderedFeatures(point, { layers: context.trackLayers })[0];
        return hit?.properties.id ?? null;
      },
    });
    const trailButton = document.getElementById("trail-track");
    trailButton.addEventListener("click", () => {
      const id = context.shownTrack();
      if (id) trailButton.setAttribute("aria-pressed", String(this.trails.toggleTrack(id)));
    });
  }

  // Whether a tool takes the map's clicks (a click on a track then opens nothing).
  get busy() {
    return this.measure.busy;
  }

  attach(map, beforeId) {
    this.night.attach(map);
    this.trails.attach(map, beforeId);
    this.measure.attach(map);
  }

  // The picture changed: nothing of the previous one stays.
  reset() {
    this.trails.reset();
  }

  tracksChanged(tracks, changedIds) {
    this.trails.record(tracks, changedIds);
    this.measure.tracksMoved();
  }

  trackShown(trackId) {
    document.getElementById("trail-track").setAttribute("aria-pressed", String(this.trails.shows(trackId)));
  }
}
