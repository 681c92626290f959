// Text for the basemap's town names and the grid's square names, drawn without a glyph
// server (the map is offline): each text once, on a canvas, registered as an image whose
// name says how it is drawn ("town:2:Bydgoszcz", "grid:BD 9 9").
export const TOWN_PREFIX = "town:";
export const GRID_PREFIX = "grid:";

// Town ranks, largest first: font size and weight by how many people live there.
const TOWN_STYLES = [
  { px: 15, weight: 700 },
  { px: 13, weight: 700 },
  { px: 12, weight: 600 },
  { px: 11, weight: 500 },
  { px: 10, weight: 400 },
];
const GRID_STYLE = { px: 11, weight: 700, colour: "#1b4f8a", halo: "rgba(255, 255, 255, 0.85)" };
const TOWN_COLOUR = "#262a2e";
const TOWN_HALO = "rgba(255, 255, 255, 0.85)";
const FONT_FAMILY = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';

function drawText(map, id, text, { px, weight, colour, halo }) {
  const ratio = window.devicePixelRatio || 1;
  const font = `${weight} ${px * ratio}px ${FONT_FAMILY}`;
  const pad = 2 * ratio;
  const canvas = document.createElement("canvas");
  let context = canvas.getContext("2d");
  context.font = font;
  canvas.width = Math.max(1, Math.ceil(context.measureText(text).width + 2 * pad));
  canvas.height = Math.ceil((px + 6) * ratio);
  // Resizing the canvas resets its state.
  context = canvas.getContext("2d");
  context.font = font;
  context.textBaseline = "middle";
  context.lineJoin = "round";
  context.lineWidth = 3 * ratio;
  context.strokeStyle = halo;
  context.strokeText(text, pad, canvas.height / 2);
  context.fillStyle = colour;
  context.fillText(text, pad, canvas.height / 2);
  map.addImage(id, context.getImageData(0, 0, canvas.width, canvas.height), { pixelRatio: ratio });
}

// Draws the image `id` names if it is a town's or a grid square's; false when it is not.
export function resolveTextImage(map, id) {
  if (id.startsWith(TOWN_PREFIX)) {
    if (map.hasImage(id)) return true;
    const rest = id.slice(TOWN_PREFIX.length);
    const split = rest.indexOf(":");
    const rank = Number(rest.slice(0, split));
    const style = TOWN_STYLES[rank] ?? TOWN_STYLES[TOWN_STYLES.length - 1];
    drawText(map, id, rest.slice(split + 1), { ...style, colour: TOWN_COLOUR, halo: TOWN_HALO });
    return true;
  }
  if (id.startsWith(GRID_PREFIX)) {
    if (!map.hasImage(id)) drawText(map, id, id.slice(GRID_PREFIX.length), GRID_STYLE);
    return true;
  }
  return false;
}
