// The layer switcher: which basemap lies beneath the picture, and which of the map's own
// overlays (town names, the MGRS grid) are drawn over it. A MapLibre control.
export class LayerSwitcher {
  // basemaps: a Basemaps; overlays: [{ id, title, visible, setVisible(visible) }].
  constructor({ basemaps, overlays }) {
    this.basemaps = basemaps;
    this.overlays = overlays;
  }

  onAdd() {
    const container = document.createElement("div");
    container.className = "maplibregl-ctrl maplibregl-ctrl-group layer-switcher";
    const button = document.createElement("button");
    button.type = "button";
    button.className = "layer-switcher-button";
    button.title = "Basemap and layers";
    button.setAttribute("aria-label", "Basemap and layers");
    button.setAttribute("aria-expanded", "false");
    button.textContent = "▤";
    const panel = document.createElement("div");
    panel.className = "layer-switcher-panel";
    panel.hidden = true;
    button.addEventListener("click", () => {
      panel.hidden = !panel.hidden;
      button.setAttribute("aria-expanded", String(!panel.hidden));
    });
    container.append(button, panel);
    this.container = container;
    this.panel = panel;
    this.render();
    return container;
  }

  onRemove() {
    this.container.remove();
  }

  render() {
    const panel = this.panel;
    panel.replaceChildren();
    const basemaps = document.createElement("fieldset");
    basemaps.innerHTML = "<legend>Basemap</legend>";
    for (const entry of this.basemaps.offered) {
      const label = document.createElement("label");
      const radio = document.createElement("input");
      radio.type = "radio";
      radio.name = "basemap";
      radio.value = entry.name;
      radio.checked = entry.name === this.basemaps.current;
      radio.addEventListener("change", () => this.choose(entry.name));
      label.append(radio, ` ${entry.title ?? entry.name}`);
      basemaps.appendChild(label);
    }
    const status = document.createElement("small");
    status.className = "form-error";
    status.setAttribute("role", "alert");
    status.hidden = true;
    basemaps.appendChild(status);
    this.status = status;
    const overlays = document.createElement("fieldset");
    overlays.innerHTML = "<legend>Layers</legend>";
    for (const overlay of this.overlays) {
      const label = document.createElement("label");
      const box = document.createElement("input");
      box.type = "checkbox";
      box.value = overlay.id;
      box.checked = overlay.visible;
      box.addEventListener("change", () => {
        overlay.visible = box.checked;
        overlay.setVisible(box.checked);
      });
      label.append(box, ` ${overlay.title}`);
      overlays.appendChild(label);
    }
    panel.append(basemaps, overlays);
  }

  async choose(name) {
    this.status.hidden = true;
    try {
      await this.basemaps.select(name);
    } catch (error) {
      this.status.textContent = `That basemap cannot be shown: ${error.message}`;
      this.status.hidden = false;
    }
    for (const radio of this.panel.querySelectorAll("input[name='basemap']")) {
      radio.checked = radio.value === this.basemaps.current;
    }
  }
}
