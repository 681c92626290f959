// Counts on the map without a glyph server: a cluster of tracks of one identity group (its
// APP-6 frame with the count in it) and a formation's member count (a small dark badge),
// each drawn once per group and number.
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

// A cluster's frame by identity group: APP-6's frame shapes and fill colours (friend a
// rectangle in blue, hostile a diamond in red, neutral a square in green, unknown a
// quatrefoil in yellow, drawn here as a disc), framed in black like the symbols it stands for.
const CLUSTER_FRAMES = {
  friends: { fill: "#80e0ff", path: (c, s) => c.rect(2, s * 0.2, s - 4, s * 0.6) },
  hostiles: {
    fill: "#ff8080",
    path: (c, s) => {
      c.moveTo(s / 2, 1);
      c.lineTo(s - 1, s / 2);
      c.lineTo(s / 2, s - 1);
      c.lineTo(1, s / 2);
      c.closePath();
    },
  },
  neutrals: { fill: "#aaffaa", path: (c, s) => c.rect(3, 3, s - 6, s - 6) },
  contacts: { fill: "#ffff80", path: (c, s) => c.arc(s / 2, s / 2, s / 2 - 2, 0, 2 * Math.PI) },
};

// Returns whether `id` was one of ours.
export function addBadge(map, id) {
  if (map.hasImage(id)) return true;
  if (id.startsWith(CLUSTER_PREFIX)) {
    // "cluster:<group>:<count>"
    const rest = id.slice(CLUSTER_PREFIX.length);
    const split = rest.indexOf(":");
    const frame = CLUSTER_FRAMES[rest.slice(0, split)] ?? CLUSTER_FRAMES.contacts;
    const text = rest.slice(split + 1);
    const size = 30 + 4 * Math.max(0, text.length - 2);
    image(map, id, size, size, (context) => {
      context.beginPath();
      frame.path(context, size);
      context.fillStyle = frame.fill;
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
