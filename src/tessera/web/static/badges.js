// Counts on the map without a glyph server: a cluster of unknown contacts (a yellow disc)
// and a formation's member count (a small dark badge), each drawn once per number.
import { CLUSTER_PREFIX, COUNT_PREFIX } from "/static/track-layer.js";

const FONT = `700 PXpx system-ui, -apple-system, "Segoe UI", Roboto, sans-serif`;

function image(map, id, width, height, paint) {
  const ratio = window.devicePixelRatio || 1;
  const canvas = document.createElement("canvas");
  canvas.width = Math.ceil(width * ratio);
  canvas.height = Math.ceil(height * ratio);
  const context = canvas.getContext("2d");
  context.scale(ratio, ratio);
  paint(context);
  map.addImage(id, context.getImageData(0, 0, canvas.width, canvas.height), { pixelRatio: ratio });
}

function centredText(context, text, x, y, px, colour) {
  context.font = FONT.replace("PX", String(px));
  context.textAlign = "center";
  context.textBaseline = "middle";
  context.fillStyle = colour;
  context.fillText(text, x, y);
}

// Returns whether `id` was one of ours.
export function addBadge(map, id) {
  if (map.hasImage(id)) return true;
  if (id.startsWith(CLUSTER_PREFIX)) {
    const text = id.slice(CLUSTER_PREFIX.length);
    const size = 30 + 4 * Math.max(0, text.length - 2);
    image(map, id, size, size, (context) => {
      context.beginPath();
      context.arc(size / 2, size / 2, size / 2 - 2, 0, 2 * Math.PI);
      // APP-6's unknown yellow, framed like the unknown symbols it stands for.
      context.fillStyle = "#ffff80";
      context.fill();
      context.lineWidth = 2;
      context.strokeStyle = "#000000";
      context.stroke();
      centredText(context, text, size / 2, size / 2 + 1, 12, "#000000");
    });
    return true;
  }
  if (id.startsWith(COUNT_PREFIX)) {
    const text = id.slice(COUNT_PREFIX.length);
    const width = 10 + 7 * text.length;
    image(map, id, width, 16, (context) => {
      context.fillStyle = "#1f2a36";
      context.beginPath();
      context.roundRect(0.5, 0.5, width - 1, 15, 7);
      context.fill();
      centredText(context, text, width / 2, 8.5, 11, "#ffffff");
    });
    return true;
  }
  return false;
}
