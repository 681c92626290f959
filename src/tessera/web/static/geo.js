// Geometry on the sphere for drawing: circles and corridors as the server draws them
// (tessera.codecs.geojson_export), distances, and where to put a label or fly to.
const EARTH_RADIUS_M = 6371008.8;
const CIRCLE_POINTS = 64;
const MAX_MITRE = 2;
const rad = (degrees) => (degrees * Math.PI) / 180;
const deg = (radians) => (radians * 180) / Math.PI;

// The point `distance` metres from [lon, lat] along the great circle at `bearingDeg`.
export function destination([lon, lat], bearingDeg, distance) {
  const phi = rad(lat);
  const theta = rad(bearingDeg);
  const delta = distance / EARTH_RADIUS_M;
  const sinPhi2 = Math.sin(phi) * Math.cos(delta) + Math.cos(phi) * Math.sin(delta) * Math.cos(theta);
  const phi2 = Math.asin(Math.max(-1, Math.min(1, sinPhi2)));
  const lambda2 =
    rad(lon) +
    Math.atan2(
      Math.sin(theta) * Math.sin(delta) * Math.cos(phi),
      Math.cos(delta) - Math.sin(phi) * sinPhi2,
    );
  return [((deg(lambda2) + 540) % 360) - 180, deg(phi2)];
}

export function bearing([lon1, lat1], [lon2, lat2]) {
  const phi1 = rad(lat1);
  const phi2 = rad(lat2);
  const dLambda = rad(lon2 - lon1);
  const y = Math.sin(dLambda) * Math.cos(phi2);
  const x = Math.cos(phi1) * Math.sin(phi2) - Math.sin(phi1) * Math.cos(phi2) * Math.cos(dLambda);
  return (deg(Math.atan2(y, x)) + 360) % 360;
}

// Great-circle distance in metres.
export function distance([lon1, lat1], [lon2, lat2]) {
  const dPhi = rad(lat2 - lat1);
  const dLambda = rad(lon2 - lon1);
  const a =
    Math.sin(dPhi / 2) ** 2 + Math.cos(rad(lat1)) * Math.cos(rad(lat2)) * Math.sin(dLambda / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(a)));
}

export function circleRing(centre, radius) {
  const ring = [];
  for (let step = 0; step < CIRCLE_POINTS; step += 1) {
    ring.push(destination(centre, (-360 * step) / CIRCLE_POINTS, radius));
  }
  return [...ring, ring[0]];
}

// A corridor `width` metres wide along `line`, flat-ended, with mitred corners.
export function corridorRing(line, width) {
  const points = line.filter(
    (p, i) => i === 0 || p[0] !== line[i - 1][0] || p[1] !== line[i - 1][1],
  );
  if (points.length < 2) return circleRing(line[0], width / 2);
  const right = [];
  const left = [];
  points.forEach((point, index) => {
    const headingIn = index > 0 ? bearing(points[index - 1], point) : null;
    const headingOut = index + 1 < points.length ? bearing(point, points[index + 1]) : null;
    let heading = headingIn ?? headingOut;
    let mitre = 1;
    if (headingIn !== null && headingOut !== null) {
      const turn = ((headingOut - headingIn + 540) % 360) - 180;
      mitre = Math.min(1 / Math.max(Math.cos(rad(turn / 2)), 1e-9), MAX_MITRE);
      heading = headingIn + turn / 2;
    }
    right.push(destination(point, heading + 90, (width / 2) * mitre));
    left.push(destination(point, heading - 90, (width / 2) * mitre));
  });
  const ring = [...right, ...left.reverse()];
  return [...ring, ring[0]];
}

// Every position of a Point, LineString or Polygon.
function positions(geometry) {
  if (geometry.type === "Point") return [geometry.coordinates];
  if (geometry.type === "LineString") return geometry.coordinates;
  if (geometry.type === "Polygon") return geometry.coordinates[0];
  return [];
}

// [[west, south], [east, north]]
export function bounds(geometry) {
  const all = positions(geometry);
  const lons = all.map((p) => p[0]);
  const lats = all.map((p) => p[1]);
  return [
    [Math.min(...lons), Math.min(...lats)],
    [Math.max(...lons), Math.max(...lats)],
  ];
}

// Where a shape's name goes: the point itself, half way along a line, an area's centroid.
export function labelPoint(geometry) {
  if (geometry.type === "Point") return geometry.coordinates;
  if (geometry.type === "LineString") return alongHalfway(geometry.coordinates);
  if (geometry.type === "Polygon") return centroid(geometry.coordinates[0]);
  return null;
}

function alongHalfway(line) {
  const lengths = line.slice(1).map((point, i) => distance(line[i], point));
  let remaining = lengths.reduce((a, b) => a + b, 0) / 2;
  for (let i = 0; i < lengths.length; i += 1) {
    if (remaining <= lengths[i] && lengths[i] > 0) {
      const t = remaining / lengths[i];
      const [a, b] = [line[i], line[i + 1]];
      return [a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])];
    }
    remaining -= lengths[i];
  }
  return line[0];
}

function centroid(ring) {
  let area = 0;
  let x = 0;
  let y = 0;
  for (let i = 0; i + 1 < ring.length; i += 1) {
    const [x0, y0] = ring[i];
    const [x1, y1] = ring[i + 1];
    const cross = x0 * y1 - x1 * y0;
    area += cross;
    x += (x0 + x1) * cross;
    y += (y0 + y1) * cross;
  }
  if (Math.abs(area) < 1e-12) {
    const points = ring.slice(0, -1);
    return [
      points.reduce((s, p) => s + p[0], 0) / points.length,
      points.reduce((s, p) => s + p[1], 0) / points.length,
    ];
  }
  return [x / (3 * area), y / (3 * area)];
}

// The positions an overlay was drawn from, as PUT /overlays wants them again. The server
// sends circles and corridors as polygons: a circle's centre lies half way between its
// northernmost and southernmost points, a corridor's centre line half way between the
// sides (its ring is one side forwards, then the other back): exact to the server's
// rounding. The API could send the positions themselves.
export function definingCoordinates(feature) {
  const { geometry } = feature;
  const kind = feature.properties.kind;
  if (geometry.type === "Point") return [geometry.coordinates];
  if (geometry.type === "LineString") return geometry.coordinates;
  const ring = geometry.coordinates[0].slice(0, -1);
  if (kind === "circle") {
    const north = ring.reduce((a, b) => (b[1] > a[1] ? b : a));
    const south = ring.reduce((a, b) => (b[1] < a[1] ? b : a));
    return [[(north[0] + south[0]) / 2, (north[1] + south[1]) / 2]];
  }
  if (kind === "corridor") {
    const half = ring.length / 2;
    const line = [];
    for (let i = 0; i < half; i += 1) {
      const [right, left] = [ring[i], ring[ring.length - 1 - i]];
      line.push(destination(right, bearing(right, left), distance(right, left) / 2));
    }
    return line;
  }
  return ring;
}
