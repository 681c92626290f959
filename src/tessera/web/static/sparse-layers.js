// MapLibre clips fill and line layers tile by tile: before a source's layers it writes a
// stencil mask for each of that source's tiles, in both passes of every frame, whether or
// not the source has anything to draw. Over a screenful of tiles each source costs a
// screenful of stencil writes, which a software renderer pays for in full. So the layers
// of a GeoJSON source that holds nothing (no overlays yet, no trails, nothing measured)
// are held out of the frame until it has features again. They are held by zoom range,
// which nothing else here sets, so what the layer switcher shows or hides is left alone.

// A zoom the map never reaches: a layer whose range starts there is never drawn.
const NEVER = 24;

function holdsNothing(data) {
  return (
    typeof data === "object" &&
    data !== null &&
    data.type === "FeatureCollection" &&
    Array.isArray(data.features) &&
    data.features.length === 0
  );
}

export function holdLayersOfEmptySources(map) {
  const layersOf = new Map(); // source id -> its layers' ids
  const empty = new Set();
  const held = new Map(); // layer id -> its own zoom range, to give back

  const hold = (id) => {
    const layer = map.getLayer(id);
    if (!layer || held.has(id)) return;
    held.set(id, [layer.minzoom ?? 0, layer.maxzoom ?? 0]);
    map.setLayerZoomRange(id, NEVER, NEVER);
  };
  const release = (id) => {
    const range = held.get(id);
    held.delete(id);
    // 0 is no bound at all to MapLibre.
    if (range && map.getLayer(id)) map.setLayerZoomRange(id, ...range);
  };
  const mark = (source, nothing) => {
    if (empty.has(source) === nothing) return;
    if (nothing) empty.add(source);
    else empty.delete(source);
    for (const id of layersOf.get(source) || []) (nothing ? hold : release)(id);
  };
  const watch = (id) => {
    const source = map.getSource(id);
    if (!source || typeof source.setData !== "function") return;
    const setData = source.setData.bind(source);
    source.setData = (data, ...rest) => {
      const result = setData(data, ...rest);
      mark(id, holdsNothing(data));
      return result;
    };
  };

  const addSource = map.addSource.bind(map);
  map.addSource = (id, spec) => {
    const result = addSource(id, spec);
    if (spec && spec.type === "geojson") {
      watch(id);
      mark(id, holdsNothing(spec.data));
    }
    return result;
  };
  const addLayer = map.addLayer.bind(map);
  map.addLayer = (layer, before) => {
    const result = addLayer(layer, before);
    if (layer && typeof layer.source === "string") {
      layersOf.set(layer.source, [...(layersOf.get(layer.source) || []), layer.id]);
      if (empty.has(layer.source)) hold(layer.id);
    }
    return result;
  };
  const removeLayer = map.removeLayer.bind(map);
  map.removeLayer = (id) => {
    held.delete(id);
    for (const [source, ids] of layersOf) layersOf.set(source, ids.filter((each) => each !== id));
    return removeLayer(id);
  };
}
