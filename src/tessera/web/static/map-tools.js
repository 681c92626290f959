// The map's own layers and tools around the picture: town names and the MGRS grid over
// the basemap, the basemap switcher, and the pointer's position with "go to". Set up once
// the map has loaded, beneath the picture's layers (`beforeId`).
import { Basemaps } from "/static/basemaps.js";
import { CoordinateControl } from "/static/coordinate-control.js";
import { LayerSwitcher } from "/static/layer-switcher.js";
import { MgrsGrid } from "/static/mgrs-grid.js";
import { addTownLayers, loadTowns, setTownsVisible } from "/static/towns.js";

export function setUpMapTools(map, beforeId) {
  addTownLayers(map, beforeId);
  const grid = new MgrsGrid(map);
  grid.addLayers(beforeId);
  const basemaps = new Basemaps(map);
  const coordinates = new CoordinateControl();
  map.addControl(coordinates, "bottom-right");
  const tools = { basemaps, grid, coordinates, switcher: null, towns: loadTowns(map).catch(() => 0) };
  const overlays = [
    { id: "towns", title: "Towns", visible: true, setVisible: (on) => setTownsVisible(map, on) },
    { id: "mgrs-grid", title: "MGRS grid", visible: true, setVisible: (on) => grid.setVisible(on) },
  ];
  // The switcher appears once the server has said which basemaps it offers.
  tools.ready = basemaps.load().then(() => {
    tools.switcher = new LayerSwitcher({ basemaps, overlays });
    map.addControl(tools.switcher, "top-right");
  });
  return tools;
}
