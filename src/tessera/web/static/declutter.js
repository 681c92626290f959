// Decluttering by echelon: below the zoom at which a unit's echelon is worth drawing on its
// own, it is folded into its parent formation, drawn once at the members' centre with the
// formation's symbol and a count. Pure functions over the map's slim features.

// APP-6(D) echelon codes (a unit SIDC's 9th and 10th digits) and the lowest zoom at which a
// unit of that echelon is drawn on its own.
const ECHELON_ZOOM = new Map([
  ["11", 11], // team, crew
  ["12", 11], // squad
  ["13", 11], // section
  ["14", 10.5], // platoon
  ["15", 9.5], // company
  ["16", 8], // battalion
  ["17", 7], // regiment, group
  ["18", 6.5], // brigade
  ["21", 5.5], // division
  ["22", 4.5], // corps
  ["23", 3.5], // army
]);
// A member whose echelon is unknown is taken for a company.
const DEFAULT_ZOOM = 9.5;
// The echelon of a formation known only from its members: one step above theirs.
const NEXT_ECHELON = new Map([
  ["11", "12"],
  ["12", "13"],
  ["13", "14"],
  ["14", "15"],
  ["15", "16"],
  ["16", "18"],
  ["17", "18"],
  ["18", "21"],
  ["21", "22"],
  ["22", "23"],
  ["23", "24"],
]);
export const FORMATION_PREFIX = "formation:";

// The echelon code of a unit SIDC (symbol sets 10, land units, and 11, civilian units), or
// null for anything else.
export function echelonOf(sidc) {
  if (typeof sidc !== "string" || sidc.length < 10) return null;
  const symbolSet = sidc.slice(4, 6);
  if (symbolSet !== "10" && symbolSet !== "11") return null;
  const echelon = sidc.slice(8, 10);
  return ECHELON_ZOOM.has(echelon) ? echelon : null;
}

export function withEchelon(sidc, echelon) {
  return sidc.slice(0, 8) + echelon + sidc.slice(10);
}

function ownZoom(echelon) {
  return ECHELON_ZOOM.get(echelon) ?? DEFAULT_ZOOM;
}

// Splits `features` (slim track features: properties id, sidc, subject, parent) at `zoom`
// into those drawn on their own and the aggregated formations. A formation is keyed by its
// parent's subject; its own track, when in the picture, lends it its symbol and joins its
// members. Formations fold into their own parents in turn, up the order of battle.
export function declutter(features, zoom) {
  const bySubject = new Map();
  for (const feature of features) {
    const subject = feature.properties.subject;
    if (subject) bySubject.set(subject, feature);
  }
  // Where each feature ends up: the subject of the formation drawn for it, or null.
  const folded = new Map();
  const foldInto = (feature, seen) => {
    if (folded.has(feature)) return folded.get(feature);
    const { parent, sidc } = feature.properties;
    let target = null;
    // Only units fold (symbol set 10): a point's parent is no formation of it.
    const unit = typeof sidc === "string" && sidc.slice(4, 6) === "10";
    if (parent && unit && zoom < ownZoom(echelonOf(sidc)) && !seen.has(parent)) {
      seen.add(parent);
      const parentFeature = bySubject.get(parent);
      const above = parentFeature ? foldInto(parentFeature, seen) : null;
      target = above ?? parent;
    }
    folded.set(feature, target);
    return target;
  };
  const own = [];
  const members = new Map();
  for (const feature of features) {
    const target = foldInto(feature, new Set([feature.properties.subject]));
    if (target === null) {
      // A formation whose members are folded into it is drawn as the formation instead.
      own.push(feature);
      continue;
    }
    if (!members.has(target)) members.set(target, []);
    members.get(target).push(feature);
  }
  const formations = [];
  const drawnAsFormation = new Set();
  for (const [subject, list] of members) {
    const head = bySubject.get(subject);
    if (head && folded.get(head) === null) {
      list.push(head);
      drawnAsFormation.add(head);
    }
    formations.push(formationFeature(subject, head, list));
  }
  return {
    own: drawnAsFormation.size ? own.filter((f) => !drawnAsFormation.has(f)) : own,
    formations,
  };
}

function formationFeature(subject, head, list) {
  let lon = 0;
  let lat = 0;
  for (const member of list) {
    lon += member.geometry.coordinates[0];
    lat += member.geometry.coordinates[1];
  }
  const first = list[0].properties;
  let sidc = head?.properties.sidc;
  if (!sidc) {
    const echelon = echelonOf(first.sidc) ?? "15";
    // The formation, not a headquarters of it: no HQ staff.
    const formation = withEchelon(first.sidc, NEXT_ECHELON.get(echelon) ?? echelon);
    sidc = formation.slice(0, 7) + "0" + formation.slice(8);
  }
  return {
    type: "Feature",
    geometry: { type: "Point", coordinates: [lon / list.length, lat / list.length] },
    properties: {
      id: FORMATION_PREFIX + subject,
      formation: subject,
      name: head?.properties.name ?? subject,
      sidc,
      identity: head?.properties.identity ?? first.identity,
      status: "confirmed",
      count: list.length,
      members: list.map((member) => member.properties.id).join(" "),
    },
  };
}
