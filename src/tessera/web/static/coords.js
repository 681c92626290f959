// Where things are, as people write it: MGRS (the mgrs package), decimal degrees and
// degrees-minutes-seconds; and reading such text back for "go to".
import { forward, inverse } from "/static/vendor/mgrs/mgrs.esm.js";

const MGRS = /^(\d{1,2})\s*([C-HJ-NP-X])\s*([A-HJ-NP-Z])\s*([A-HJ-NP-V])\s*(\d*)\s*(\d*)$/i;
// Zoom to show a square of each precision whole (digits of easting or northing).
const ZOOM_FOR_DIGITS = [8, 10, 12, 14, 15, 16];
const POINT_ZOOM = 13;

// "34U BD 99831 90190", or null outside MGRS (the poles) or for no position.
export function mgrsText(lon, lat, digits = 5) {
  try {
    const compact = forward([lon, lat], digits);
    const match = /^(\d{1,2}[A-Z])([A-Z]{2})(\d*)$/.exec(compact);
    if (!match) return compact;
    const [, zone, square, numbers] = match;
    const half = numbers.length / 2;
    return [zone, square, numbers.slice(0, half), numbers.slice(half)].filter(Boolean).join(" ");
  } catch {
    return null;
  }
}

export function ddText(lon, lat) {
  const ns = lat >= 0 ? "N" : "S";
  const ew = lon >= 0 ? "E" : "W";
  return `${Math.abs(lat).toFixed(5)}° ${ns}, ${Math.abs(lon).toFixed(5)}° ${ew}`;
}

function dms(value, positive, negative) {
  const hemisphere = value >= 0 ? positive : negative;
  // Rounded to tenths of a second first, so 59.96" never shows as 60.0".
  const tenths = Math.round(Math.abs(value) * 36000);
  const degrees = Math.floor(tenths / 36000);
  const minutes = Math.floor((tenths % 36000) / 600);
  const seconds = ((tenths % 600) / 10).toFixed(1).padStart(4, "0");
  return `${degrees}°${String(minutes).padStart(2, "0")}′${seconds}″${hemisphere}`;
}

export function dmsText(lon, lat) {
  return `${dms(lat, "N", "S")} ${dms(lon, "E", "W")}`;
}

// One text for a panel: MGRS, then decimal degrees.
export function positionText(lon, lat) {
  const grid = mgrsText(lon, lat);
  return grid ? `${grid} (${ddText(lon, lat)})` : ddText(lon, lat);
}

// One coordinate of a typed position: decimal degrees or degrees, minutes, seconds, with
// an optional hemisphere letter.
function angle(text, letters) {
  const match =
    /^([+-]?\d+(?:\.\d+)?)\s*[°d]?\s*(?:(\d+(?:\.\d+)?)\s*['′m]?\s*(?:(\d+(?:\.\d+)?)\s*(?:["″s]|'')?)?)?\s*([A-Z])?$/i.exec(
      text.trim(),
    );
  if (!match) return null;
  const [, d, m, s, hemisphere] = match;
  if (hemisphere && !letters.includes(hemisphere.toUpperCase())) return null;
  if ((m && Number(m) >= 60) || (s && Number(s) >= 60)) return null;
  let value = Math.abs(Number(d)) + Number(m ?? 0) / 60 + Number(s ?? 0) / 3600;
  if (d.startsWith("-") || (hemisphere && "SW".includes(hemisphere.toUpperCase()))) value = -value;
  return { value, hemisphere: hemisphere?.toUpperCase() ?? null };
}

function latLon(text) {
  // "53.1235, 18.0084", "53.1235 18.0084", "53°07'24.6\"N 18°00'30.2\"E", "N ..." forms.
  const parts = text.includes(",")
    ? text.split(",")
    : (text.match(/^(.*?[NS])\s+(.*[EW])$/i)?.slice(1) ?? text.trim().split(/\s+/));
  if (parts.length !== 2) return null;
  let first = angle(parts[0], "NSEW");
  let second = angle(parts[1], "NSEW");
  if (!first || !second) return null;
  // Longitude first only when its letter says so.
  if ("EW".includes(first.hemisphere ?? "-") && "NS".includes(second.hemisphere ?? "-")) {
    [first, second] = [second, first];
  }
  const [lat, lon] = [first.value, second.value];
  if (Math.abs(lat) > 90 || Math.abs(lon) > 180) return null;
  return { lon, lat, zoom: POINT_ZOOM };
}

// A typed MGRS reference or latitude and longitude as { lon, lat, zoom }; throws an Error
// saying what is wrong.
export function parsePosition(text) {
  const typed = text.trim();
  if (!typed) throw new Error("Type an MGRS reference or a latitude and longitude.");
  const grid = MGRS.exec(typed);
  if (grid) {
    const digits = grid[5] + grid[6];
    if (digits.length % 2 !== 0 || digits.length > 10) {
      throw new Error("An MGRS reference has as many easting digits as northing ones (up to 5 each).");
    }
    const compact = `${grid[1]}${grid[2]}${grid[3]}${grid[4]}${digits}`.toUpperCase();
    let box;
    try {
      box = inverse(compact);
    } catch (error) {
      throw new Error(`Not an MGRS reference: ${error.message}`);
    }
    const [west, south, east, north] = box;
    return { lon: (west + east) / 2, lat: (south + north) / 2, zoom: ZOOM_FOR_DIGITS[digits.length / 2] };
  }
  const position = latLon(typed);
  if (!position) {
    throw new Error("Not a position: try 34U BD 99831 90190, 53.1235, 18.0084 or 53°07′24.6″N 18°00′30.2″E.");
  }
  return position;
}
