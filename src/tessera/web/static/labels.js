// Text on the map without a glyph server (the map is offline): each label is drawn once on
// a canvas with the page's own font and registered as an image named LABEL_PREFIX + text.
export const LABEL_PREFIX = "label:";
const FONT_PX = 12;
const PAD_PX = 3;

export function addLabel(map, id) {
  if (map.hasImage(id)) return;
  const text = id.slice(LABEL_PREFIX.length);
  const ratio = window.devicePixelRatio || 1;
  const font = `600 ${FONT_PX * ratio}px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif`;
  const canvas = document.createElement("canvas");
  let context = canvas.getContext("2d");
  context.font = font;
  const pad = PAD_PX * ratio;
  canvas.width = Math.max(1, Math.ceil(context.measureText(text).width + 2 * pad));
  canvas.height = Math.ceil((FONT_PX + 2 * PAD_PX) * ratio);
  // Resizing the canvas resets its state.
  context = canvas.getContext("2d");
  context.font = font;
  context.textBaseline = "middle";
  context.lineJoin = "round";
  context.lineWidth = 3 * ratio;
  context.strokeStyle = "rgba(255, 255, 255, 0.9)";
  context.strokeText(text, pad, canvas.height / 2);
  context.fillStyle = "#2b1a3d";
  context.fillText(text, pad, canvas.height / 2);
  map.addImage(id, context.getImageData(0, 0, canvas.width, canvas.height), { pixelRatio: ratio });
}
