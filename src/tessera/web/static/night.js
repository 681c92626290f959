// Night mode: a dark theme for operations rooms, for the page and the basemap, remembered
// in this browser.
const KEY = "tessera.theme";
const PAINT = {
  day: { sea: "#b8d0e6", land: "#eef0e4", borders: "#7b7f86" },
  night: { sea: "#08121c", land: "#2a3238", borders: "#6b7580" },
};

export class NightMode {
  constructor() {
    this.map = null;
    this.button = document.getElementById("night-toggle");
    this.button.addEventListener("click", () => this.set(this.theme === "night" ? "day" : "night"));
    let stored = null;
    try {
      stored = localStorage.getItem(KEY);
    } catch {
      // Storage refused (a private window): the theme lasts for this page only.
    }
    this.apply(stored === "night" ? "night" : "day");
  }

  attach(map) {
    this.map = map;
    this.paintMap();
  }

  set(theme) {
    try {
      localStorage.setItem(KEY, theme);
    } catch {
      // As above.
    }
    this.apply(theme);
  }

  apply(theme) {
    this.theme = theme;
    document.body.dataset.theme = theme;
    this.button.setAttribute("aria-pressed", String(theme === "night"));
    this.paintMap();
  }

  paintMap() {
    const map = this.map;
    if (!map || !map.getLayer("land")) return;
    const paint = PAINT[this.theme];
    map.setPaintProperty("land", "background-color", paint.land);
    if (map.getLayer("sea")) map.setPaintProperty("sea", "fill-color", paint.sea);
    if (map.getLayer("borders")) map.setPaintProperty("borders", "line-color", paint.borders);
  }
}
